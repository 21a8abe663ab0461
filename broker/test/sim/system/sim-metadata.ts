/**
 * The metadata group and the controller under the system simulator: every broker runs the real
 * metadata state machine (MetadataMachine in a StateMachineReplica over its own log on the
 * simulated disk) and the real Controller, which admin clients and the brokers' own
 * registrations call. The model here checks, on every replica and across crashes:
 *
 * - one committed metadata log: every replica that applies index i applies the same entry (term
 *   and bytes) there, and holds the same image after it (by its canonical encoding);
 * - the image is internally consistent after every apply (metadata-invariants.ts);
 * - acknowledged metadata is kept: a controller's OK names an index that every replica applies
 *   with the entry that was there when the controller answered;
 * - producer ids are unique: no two acknowledged producer-id blocks overlap (a controller
 *   answering from a stale image would hand out a block twice).
 */
import { encodeMetadataImage } from '../../../src/cluster/metadata-codec.js';
import { imageViolations } from '../../../src/cluster/metadata-invariants.js';
import type { MetadataMachine } from '../../../src/cluster/metadata-machine.js';
import type { ControllerRequest } from '../../../src/cluster/controller-protocol.js';
import type { MetadataState } from '../../../src/cluster/metadata-state.js';
import type { SeededRandom } from '../../../src/raft/random.js';
import type { Entry } from '../../../src/raft/types.js';
import type { GroupMachine, RaftHost } from '../../../src/replication/raft-host.js';
import { InvariantViolation } from '../invariants.js';

export const METADATA_GROUP = 0;
export const METADATA_TOPIC = '__cluster_metadata';
export const SIM_CLUSTER_ID = 'syssim-cluster-0000000';

export interface MetadataStats {
  requests: number;
  acked: number;
  refused: number;
  applied: number;
  registrations: number;
  producerIdBlocks: number;
}

interface Applied {
  readonly term: number;
  readonly hash: number;
  readonly source: string;
}

function hashBytes(b: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 16777619);
  return h >>> 0;
}

export class MetadataModel {
  readonly stats: MetadataStats = { requests: 0, acked: 0, refused: 0, applied: 0, registrations: 0, producerIdBlocks: 0 };
  /** The committed metadata log as the first replica to apply each index saw it. */
  private readonly entries = new Map<number, Applied>();
  /** Image fingerprints after the last entry of an apply round, by index. */
  private readonly images = new Map<number, { hash: number; source: string }>();
  private readonly blocks: { first: number; end: number; index: number }[] = [];
  /** The highest index a controller acknowledged. */
  maxAcked = 0;

  applied(entry: Entry, source: string): void {
    this.stats.applied++;
    const hash = hashBytes(entry.data);
    const seen = this.entries.get(entry.index);
    if (seen === undefined) {
      this.entries.set(entry.index, { term: entry.term, hash, source });
      return;
    }
    if (seen.term !== entry.term || seen.hash !== hash) {
      throw new InvariantViolation(
        'metadata replicas agree',
        `metadata index ${entry.index}: ${source} applies an entry of term ${entry.term} (hash ${hash.toString(16)}) where ${seen.source} applied one of term ${seen.term} (hash ${seen.hash.toString(16)})`,
      );
    }
  }

  image(index: number, image: MetadataState, source: string): void {
    const hash = hashBytes(encodeMetadataImage(image));
    const seen = this.images.get(index);
    if (seen === undefined) {
      const bad = imageViolations(image);
      if (bad.length > 0) throw new InvariantViolation('metadata image consistent', `after metadata index ${index} at ${source}: ${bad.join('; ')}`);
      this.images.set(index, { hash, source });
      return;
    }
    if (seen.hash !== hash) {
      throw new InvariantViolation('metadata replicas agree', `after metadata index ${index}: ${source} holds another image than ${seen.source}`);
    }
  }

  /** A controller's OK for the entry at `index`, which `source` had applied when it answered. */
  acked(req: ControllerRequest, index: number, value: unknown, image: MetadataState, source: string): void {
    this.stats.acked++;
    if (index > this.maxAcked) this.maxAcked = index;
    const lost = (what: string): InvariantViolation => new InvariantViolation('acknowledged metadata lost', `${source} acknowledged ${req.op} at index ${index}, but its image after it ${what}`);
    if (req.op === 'register-broker') {
      this.stats.registrations++;
      if (image.brokers.get(req.broker.nodeId)?.incarnationId !== req.broker.incarnationId) throw lost(`does not register ${req.broker.incarnationId}`);
    }
    if (req.op === 'create-topic') {
      const id = (value as { topicId?: unknown } | null)?.topicId;
      const t = image.topics.get(req.topic.name);
      if (t?.topicId !== id) throw lost(`has topic ${req.topic.name} as ${t?.topicId ?? 'missing'}, not the acknowledged ${String(id)}`);
    }
    if (req.op !== 'allocate-producer-ids') return;
    const v = value as { firstProducerId?: unknown; size?: unknown } | null;
    if (v === null || typeof v.firstProducerId !== 'number' || typeof v.size !== 'number') {
      throw new InvariantViolation('producer ids unique', `${source} answered allocate-producer-ids with ${JSON.stringify(value)}`);
    }
    const block = { first: v.firstProducerId, end: v.firstProducerId + v.size, index };
    for (const b of this.blocks) {
      if (block.first < b.end && b.first < block.end) {
        throw new InvariantViolation(
          'producer ids unique',
          `${source} handed out producer ids [${block.first}, ${block.end}) at metadata index ${index}, overlapping [${b.first}, ${b.end}) acknowledged at index ${b.index}`,
        );
      }
    }
    if (image.nextProducerId < block.end) throw lost(`hands out producer ids from ${image.nextProducerId}, inside the acknowledged block [${block.first}, ${block.end})`);
    this.blocks.push(block);
    this.stats.producerIdBlocks++;
  }
}

/**
 * Watches the metadata group a broker adds to its host: each applied entry and the image after
 * each apply round go to the model. `diverge` (the planted bug 'metadata-diverges') makes this
 * replica skip applying one record, as a state machine with a nondeterministic apply would.
 */
export function watchMetadataGroup(host: RaftHost, machine: MetadataMachine, model: MetadataModel, source: () => string, onError: (err: Error) => void, diverge: boolean): void {
  const add = host.addGroup.bind(host);
  let skipped = false;
  host.addGroup = (init) => {
    if (init.id !== METADATA_GROUP) return add(init);
    const m = init.machine;
    const watched: GroupMachine = {
      onSoftState: (st) => m.onSoftState(st),
      onAppended: (entries) => m.onAppended(entries),
      onTruncated: (index) => m.onTruncated(index),
      installSnapshot: (snap) => m.installSnapshot(snap),
      onStable: (index) => m.onStable(index),
      apply: (entries) => {
        if (diverge && !skipped) {
          const at = entries.findIndex((e) => e.data.length > 0 && e.index > 8);
          if (at >= 0) {
            skipped = true;
            m.apply(entries.slice(0, at));
            entries = entries.slice(at + 1);
          }
        }
        m.apply(entries);
        if (entries.length === 0) return;
        try {
          for (const e of entries) model.applied(e, source());
          model.image((entries[entries.length - 1] as Entry).index, machine.state, source());
        } catch (err) {
          onError(err instanceof Error ? err : new Error(String(err)));
        }
      },
      onLeaderCommit: (index) => m.onLeaderCommit?.(index),
      onReadStates: (states) => m.onReadStates?.(states),
      onTick: () => m.onTick?.(),
    };
    return add({ ...init, machine: watched });
  };
}

/** A seeded topic id (the UUID form the controller checks). */
export function seededTopicId(rng: SeededRandom): string {
  const hex = (n: number): string => Array.from({ length: n }, () => rng.nextInt(16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}

/** One admin client's request, drawn against the image the client last saw. */
export function metadataRequest(rng: SeededRandom, image: MetadataState, brokers: number): ControllerRequest {
  const topics = [...image.topics.values()];
  const pick = rng.nextInt(100);
  if (pick < 30 || topics.length === 0) {
    return { op: 'create-topic', topic: { name: `t${rng.nextInt(8)}`, partitions: 1 + rng.nextInt(3), replicationFactor: 1 + rng.nextInt(Math.min(3, brokers)), configs: {} }, validateOnly: false };
  }
  const t = topics[rng.nextInt(topics.length)] as (typeof topics)[number];
  if (pick < 40) return { op: 'create-partitions', name: t.name, totalCount: t.partitions + 1 + rng.nextInt(2), validateOnly: false };
  if (pick < 48) return { op: 'delete-topic', name: t.name };
  if (pick < 75) return { op: 'allocate-producer-ids', nodeId: rng.nextInt(brokers) };
  if (pick < 82) return { op: 'set-maintenance', nodeId: rng.nextInt(brokers), maintenance: rng.chance(0.5) };
  const partition = rng.nextInt(t.partitions);
  const p = t.partitionImages[partition];
  if (p === undefined || p.replicas.length === 0) return { op: 'allocate-producer-ids', nodeId: rng.nextInt(brokers) };
  const leader = p.replicas[rng.nextInt(p.replicas.length)] as number;
  const isr = p.replicas.filter((r) => r === leader || rng.chance(0.7));
  return { op: 'report-partitions', reports: [{ topic: t.name, topicId: t.topicId, partition, leader, leaderEpoch: p.leaderEpoch + rng.nextInt(3), isr }] };
}
