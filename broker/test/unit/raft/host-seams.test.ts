/** The parts of the core a disk-backed host relies on: soft state, lazy entries, unreachable peers. */
import { describe, expect, it } from 'vitest';
import { ENTRIES_UNAVAILABLE, MemoryStorage, type EntriesUnavailable, type StoredConfChange, type WritableRaftStorage } from '../../../src/raft/storage.js';
import { ProgressState } from '../../../src/raft/progress.js';
import { ConfChangeOp, MessageType, Role, type ConfState, type Entry, type HardState, type Snapshot } from '../../../src/raft/types.js';
import { TestCluster, text } from './cluster.js';

/** A MemoryStorage that pretends entries below `memoryFrom` are on disk and not yet loaded. */
class ColdStorage implements WritableRaftStorage {
  memoryFrom = 0;
  stored: StoredConfChange[] | null = null;
  readonly mem: MemoryStorage;
  constructor(conf: ConfState) {
    this.mem = new MemoryStorage(conf);
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] | null | EntriesUnavailable {
    if (lo < this.memoryFrom) return ENTRIES_UNAVAILABLE;
    return this.mem.entries(lo, hi, maxBytes);
  }
  hardState = () => this.mem.hardState();
  snapshot = () => this.mem.snapshot();
  firstIndex = () => this.mem.firstIndex();
  lastIndex = () => this.mem.lastIndex();
  term = (i: number) => this.mem.term(i);
  append = (e: readonly Entry[]) => this.mem.append(e);
  setHardState = (hs: HardState) => this.mem.setHardState(hs);
  applySnapshot = (s: Snapshot) => this.mem.applySnapshot(s);
  createSnapshot = (i: number, c: ConfState, d: Uint8Array) => this.mem.createSnapshot(i, c, d);
  confChanges?: () => readonly StoredConfChange[];
}

describe('soft state', () => {
  it('a Ready reports leader, role and term when they change, and only then', () => {
    const c = new TestCluster([1, 2, 3]);
    const seen: { id: number; leader: number; role: number; term: number }[] = [];
    // Drive the election by hand so every Ready is inspected.
    const r1 = c.raft(1);
    for (let i = 0; i < 100 && r1.role !== Role.PreCandidate; i++) r1.tick();
    for (let round = 0; round < 50; round++) {
      for (const id of [1, 2, 3]) {
        const r = c.get(id);
        if (!r.raft.hasReady()) continue;
        const rd = r.raft.ready();
        if (rd.softState) seen.push({ id, ...rd.softState });
        r.storage.append(rd.entries);
        if (rd.hardState) r.storage.setHardState(rd.hardState);
        for (const m of rd.messages) c.get(m.to).raft.step(m);
        r.raft.advance();
      }
    }
    expect(seen.find((s) => s.id === 1 && s.role === Role.Leader)).toMatchObject({ leader: 1, term: 1 });
    expect(seen.filter((s) => s.id === 2 && s.leader === 1)).toHaveLength(1);
    // Settled: no further soft-state reports.
    expect(c.raft(2).hasReady()).toBe(false);
  });
});

describe('entries not in memory', () => {
  it('the leader waits for the storage instead of sending a snapshot, then resumes on entriesAvailable()', () => {
    const storage = new ColdStorage({ voters: [1, 2, 3], learners: [] });
    const c = new TestCluster([2, 3]);
    c.add(1, storage);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    storage.memoryFrom = storage.lastIndex() + 1;
    c.heal();
    c.tickAll(3);
    expect(c.delivered.some((m) => m.type === MessageType.InstallSnapshot)).toBe(false);
    expect(c.appliedText(3)).toEqual([]);
    storage.memoryFrom = 0;
    c.raft(1).entriesAvailable();
    c.settle();
    expect(c.appliedText(3)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('a restart reads the configuration from confChanges() without scanning entries', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.raft(1).proposeMembershipChange({ op: ConfChangeOp.AddLearner, node: 4 });
    c.settle();
    const stored = c.get(2).storage;
    const all = stored.entries(1, stored.lastIndex() + 1, Infinity);
    if (!Array.isArray(all)) throw new Error('expected entries in memory');
    const confs = all.filter((e) => e.type === 1);
    const cold = new ColdStorage({ voters: [1, 2, 3], learners: [] });
    cold.append(all);
    cold.setHardState(stored.hardState());
    cold.memoryFrom = Infinity;
    cold.confChanges = () => confs.map((e) => ({ index: e.index, data: e.data }));
    const r = c.add(2, cold);
    expect(r.raft.conf.learners).toEqual([4]);
  });
});

describe('unreachable peers', () => {
  it('reportUnreachable drops a replicating follower back to probing', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, text('x').toString());
    expect(c.raft(1).progressOf(2)?.state).toBe(ProgressState.Replicate);
    c.raft(1).reportUnreachable(2);
    expect(c.raft(1).progressOf(2)?.state).toBe(ProgressState.Probe);
    c.propose(1, 'y');
    c.tickAll(1);
    expect(c.raft(1).progressOf(2)?.state).toBe(ProgressState.Replicate);
  });
});

describe('a leader the host knows is gone', () => {
  it('is replaced within a tick: the chosen follower campaigns and the other grants despite the lease', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, 'before');
    c.settle();
    c.isolate(1);
    c.raft(2).leaderLost(true);
    c.raft(3).leaderLost(false);
    expect(c.raft(2).leader).toBe(0);
    c.tick(2, 1);
    c.settle();
    expect(c.raft(2).role).toBe(Role.Leader);
    expect(c.raft(3).leader).toBe(2);
    c.propose(2, 'after');
    c.settle();
    expect(c.appliedText(3)).toEqual(['before', 'after']);
  });

  it('without the hint the lease holds a pre-vote back: the same single tick elects nobody', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.settle();
    c.isolate(1);
    c.raft(2).campaign();
    c.settle();
    expect(c.raft(2).role).not.toBe(Role.Leader);
    expect(c.raft(3).leader).toBe(1);
  });

  it('is only a hint: a leader that is alive is followed again at its next message', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.settle();
    const term = c.raft(1).term;
    c.raft(3).leaderLost(false);
    expect(c.raft(3).leader).toBe(0);
    c.tick(1, 2);
    c.settle();
    expect(c.raft(3).leader).toBe(1);
    expect(c.raft(1).term).toBe(term);
    // The chosen follower's campaign is refused by a voter that still hears the leader.
    c.raft(2).leaderLost(true);
    c.tick(2, 1);
    c.settle();
    expect(c.raft(1).role).toBe(Role.Leader);
    expect(c.raft(1).term).toBe(term);
  });
});
