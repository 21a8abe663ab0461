/** The storage contract, persistence across restarts and the Ready/advance protocol. */
import { describe, expect, it } from 'vitest';
import { decodeConfChange, encodeConfChange } from '../../../src/raft/membership.js';
import { RaftNode } from '../../../src/raft/raft.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { ConfChangeOp, EntryType, MessageType, type Entry } from '../../../src/raft/types.js';
import { TestCluster, msg, text } from './cluster.js';

const entry = (index: number, term: number, s = ''): Entry => ({ index, term, type: EntryType.Normal, data: text(s) });

describe('MemoryStorage', () => {
  it('appending at an index replaces that entry and everything after it', () => {
    const s = new MemoryStorage({ voters: [1], learners: [] });
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    s.append([entry(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(2);
    expect(s.term(3)).toBe(-1);
    expect(() => s.append([entry(5, 2)])).toThrow(/gap/);
  });

  it('entries() honours the byte budget but always returns at least one entry', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 'aaaa'), entry(2, 1, 'bbbb'), entry(3, 1, 'cccc')]);
    expect(s.entries(1, 4, 0)?.map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 4, 5)?.map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 4, Infinity)?.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('a snapshot compacts the log: older entries become unavailable, the snapshot term remains', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
    s.createSnapshot(2, { voters: [1], learners: [] }, text('img'));
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(1);
    expect(s.term(1)).toBe(-1);
    expect(s.entries(1, 4, Infinity)).toBeNull();
    expect(s.entries(3, 4, Infinity)?.map((e) => e.index)).toEqual([3]);
  });
});

describe('persistence and the Ready contract', () => {
  it('a restarted replica keeps its term and vote, so it cannot vote twice in a term', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    const r3 = c.raft(3);
    r3.step(msg({ type: MessageType.Vote, from: 1, to: 3, term: 5, index: 0, logTerm: 0 }));
    c.settle();
    const again = c.restart(3);
    expect(again.term).toBe(5);
    expect(again.vote).toBe(1);
    again.step(msg({ type: MessageType.Vote, from: 2, to: 3, term: 5 }));
    const rd = again.ready();
    expect(rd.messages).toHaveLength(1);
    expect(rd.messages[0]?.reject).toBe(true);
  });

  it('ready() may not be taken twice without advance(), and hasReady() is false meanwhile', () => {
    const s = new MemoryStorage({ voters: [1], learners: [] });
    const r = new RaftNode({ id: 1, group: 7, storage: s, random: new SeededRandom(1) });
    const persist = (rd: ReturnType<RaftNode['ready']>): void => {
      s.append(rd.entries);
      if (rd.hardState) s.setHardState(rd.hardState);
      r.advance();
    };
    while (r.role === 0) r.tick();
    expect(r.hasReady()).toBe(true);
    const vote = r.ready();
    expect(vote.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(vote.mustSync).toBe(true);
    expect(r.hasReady()).toBe(false);
    expect(() => r.ready()).toThrow(/advance/);
    // A single voter wins on its own vote, but leads only once that vote is durable.
    expect(r.role).toBe(2);
    persist(vote);
    expect(r.role).toBe(3);
    const noop = r.ready();
    expect(noop.entries.map((e) => e.index)).toEqual([1]);
    persist(noop);
    // The entry commits once it is persisted.
    const next = r.ready();
    expect(next.committedEntries.map((e) => e.index)).toEqual([1]);
    expect(next.hardState?.commit).toBe(1);
  });

  it('every message carries the group id, and messages for another group are refused', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.delivered.every((m) => m.group === 1)).toBe(true);
    expect(c.raft(2).step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 9, group: 2 }))).toBe(false);
    expect(c.raft(2).term).toBe(c.raft(1).term);
  });

  it('membership records round-trip and truncated records are rejected with a clear error', () => {
    const rec = { change: { op: ConfChangeOp.AddVoter, node: 4 }, conf: { voters: [1, 2, 3, 4], learners: [5] } };
    const bytes = encodeConfChange(rec);
    expect(decodeConfChange(bytes)).toEqual(rec);
    expect(() => decodeConfChange(bytes.subarray(0, 12))).toThrow(/truncated/);
  });
});

describe('bad input', () => {
  it('malformed messages are refused without changing anything', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, 'a');
    const r2 = c.raft(2);
    const before = { term: r2.term, last: r2.lastIndex, commit: r2.commitIndex };
    const bad = [
      msg({ type: MessageType.Append, from: 1, to: 2, term: -1 }),
      msg({ type: MessageType.Append, from: 0, to: 2, term: r2.term }),
      msg({ type: MessageType.Append, from: 1, to: 2, term: r2.term, index: 1.5 }),
      // entries not contiguous after index
      msg({ type: MessageType.Append, from: 1, to: 2, term: r2.term, index: r2.lastIndex, logTerm: r2.term, entries: [entry(r2.lastIndex + 2, r2.term)] }),
      // entry from a future term
      msg({ type: MessageType.Append, from: 1, to: 2, term: r2.term, index: r2.lastIndex, logTerm: r2.term, entries: [entry(r2.lastIndex + 1, r2.term + 1)] }),
    ];
    for (const m of bad) expect(r2.step(m)).toBe(false);
    expect({ term: r2.term, last: r2.lastIndex, commit: r2.commitIndex }).toEqual(before);
    expect(r2.hasReady()).toBe(false);
  });
});
