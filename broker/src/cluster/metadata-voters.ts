/**
 * Which brokers should vote in the metadata group. The recorded intent (MetadataState.metadataVoters)
 * is reconciled by the controller with the Raft configuration: learners are promoted once caught
 * up, departing voters removed. This module only decides the intent.
 */
import { rackKey } from './broker-load.js';
import type { BrokerRegistration, MetadataState } from './metadata-state.js';

/** 1 or 2 brokers: all of them; 3 to 6: three; 7 and more: five. */
export function desiredVoterCount(activeBrokers: number): number {
  if (activeBrokers >= 7) return 5;
  if (activeBrokers >= 3) return 3;
  return activeBrokers;
}

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Picks up to `count` brokers from `candidates`, each time from a rack the chosen ones do not use if one exists. */
export function pickVoters(candidates: readonly BrokerRegistration[], alreadyVoting: readonly BrokerRegistration[], count: number): number[] {
  const racks = new Set(alreadyVoting.map((b) => rackKey(b)));
  const pool = [...candidates].sort((a, b) => a.nodeId - b.nodeId);
  const picked: number[] = [];
  while (picked.length < count && pool.length > 0) {
    const at = Math.max(0, pool.findIndex((b) => !racks.has(rackKey(b))));
    const [b] = pool.splice(at, 1) as [BrokerRegistration];
    racks.add(rackKey(b));
    picked.push(b.nodeId);
  }
  return picked;
}

/**
 * The voter set the metadata group should have: the current voters, minus decommissioning ones
 * for which an active broker can take over, topped up from active learners (spread over racks,
 * lowest id first) to desiredVoterCount. It never shrinks otherwise: losing a voter is an
 * operator's decision (decommission). Returns null when the intent is already right.
 */
export function planMetadataVoters(state: MetadataState): readonly number[] | null {
  const active = [...state.brokers.values()].filter((b) => b.state === 'active');
  const desired = Math.max(desiredVoterCount(active.length), 1);
  const isLeaving = (id: number): boolean => state.brokers.get(id)?.state === 'decommissioning';
  // Voters not registered yet are initial voters still starting: they stay.
  const staying = state.metadataVoters.filter((id) => !isLeaving(id));
  const leaving = state.metadataVoters.filter(isLeaving);
  const learners = active.filter((b) => !state.metadataVoters.includes(b.nodeId));
  const registered = (ids: readonly number[]): BrokerRegistration[] =>
    ids.map((id) => state.brokers.get(id)).filter((b): b is BrokerRegistration => b !== undefined);
  const want = Math.max(desired, state.metadataVoters.length) - staying.length;
  const added = pickVoters(learners, registered(staying), want);
  // A leaving voter stays until someone replaces it, so the group keeps its size.
  const kept = leaving.slice(0, Math.max(0, state.metadataVoters.length - staying.length - added.length));
  const next = [...staying, ...kept, ...added];
  const same = next.length === state.metadataVoters.length && next.every((id) => state.metadataVoters.includes(id));
  return same || next.length === 0 ? null : next;
}
