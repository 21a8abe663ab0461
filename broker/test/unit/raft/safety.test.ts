/** Safety (§5.4): only current-term entries are committed by counting replicas (Figure 8). */
import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../../src/raft/types.js';
import { TestCluster } from './cluster.js';

const paper = { preVote: false, checkQuorum: false, maxAppendBytes: 1 };

/**
 * Figure 8 (a)-(c): S1 leads term 1 and gets entry 2 onto S2 only; S5 wins term 2 and appends its
 * own entry 2 locally; S1 wins term 3 and copies its term-1 entry 2 onto a majority without any
 * entry of term 3 there yet.
 */
function figure8(letTerm3EntryThrough: boolean): TestCluster {
  const c = new TestCluster([1, 2, 3, 4, 5], paper);
  c.elect(1);
  c.cutLink(1, 3);
  c.cutLink(1, 4);
  c.cutLink(1, 5);
  c.propose(1, 'old'); // index 2, term 1, on S1 and S2
  expect(c.raft(2).termAt(2)).toBe(1);

  c.heal();
  c.isolate(1);
  c.restart(1); // S1 crashes
  c.filter = (m) => !(m.type === MessageType.Append && m.from === 5);
  c.elect(5); // term 2, votes of S3 and S4; its entry 2 stays on S5
  expect(c.raft(5).termAt(2)).toBe(2);

  c.heal();
  c.isolate(5);
  c.restart(5); // S5 crashes
  c.filter = (m) =>
    letTerm3EntryThrough ||
    // Entry 3 (term 3) may not land where the old entry 2 already is (a probe elsewhere may pass).
    !(m.type === MessageType.Append && m.from === 1 && m.entries.some((e) => e.index === 3) && c.raft(m.to).termAt(2) === 1);
  c.elect(1); // term 3
  c.tick(1, 3);
  expect(c.raft(1).term).toBe(3);
  expect(c.raft(3).termAt(2)).toBe(1); // the term-1 entry is now on S1, S2, S3 (and S4): a majority
  return c;
}

describe('commitment rule (§5.4.2, Figure 8)', () => {
  it('a leader does not commit an entry of an earlier term just because a majority stores it', () => {
    const c = figure8(false);
    expect(c.raft(1).commitIndex).toBeLessThan(2);

    // (d) S1 fails; S5 can still win (its last term 2 beats term 1) and replaces entry 2 everywhere.
    c.heal();
    c.isolate(1);
    c.restart(1);
    c.filter = null;
    c.elect(5);
    c.tickAll(3);
    for (const id of [2, 3, 4, 5]) {
      expect(c.raft(id).termAt(2)).toBe(2);
      expect(c.appliedText(id)).not.toContain('old');
    }
    expect(c.appliedText(1)).not.toContain('old');
  });

  it('once an entry of the current term is on a majority, everything before it is committed and survives', () => {
    const c = figure8(true);
    expect(c.raft(1).commitIndex).toBeGreaterThanOrEqual(3);
    expect(c.appliedText(1)).toContain('old');

    // (e) S5 can no longer win: a majority holds a log more up to date than its own.
    c.heal();
    c.isolate(1);
    c.restart(1);
    const r5 = c.raft(5);
    for (let i = 0; i < 200; i++) c.tick(5);
    expect(r5.role).not.toBe(Role.Leader);
    c.elect(2);
    c.tickAll(2);
    for (const id of [2, 3, 4, 5]) expect(c.appliedText(id)).toContain('old');
  });
});

describe('state machine safety', () => {
  it('a committed entry is applied at the same index on every replica, across leader changes', () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    c.elect(1);
    c.propose(1, 'a');
    c.isolate(1);
    c.elect(2);
    c.propose(2, 'b');
    c.heal();
    c.tickAll(3);
    const logs = [1, 2, 3].map((id) => c.get(id).applied.map((e) => `${e.index}/${e.term}`).join(','));
    expect(new Set(logs).size).toBe(1);
    expect(c.appliedText(3)).toEqual(['a', 'b']);
  });
});
