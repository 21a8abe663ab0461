import { describe, expect, it } from 'vitest';
import { checkHistory } from '../checker/check.js';
import { countByKind, formatReport, type Report } from '../checker/report.js';
import { HistoryBuilder } from './history-builder.js';

type Records = [number, string][];

function kinds(report: Report): Record<string, number> {
  return Object.fromEntries(countByKind(report));
}

function row(report: Report, name: string) {
  const r = report.results.find((x) => x.name === name);
  if (!r) throw new Error(`no result row ${name}: ${report.results.map((x) => x.name).join(', ')}`);
  return r;
}

/*
 * One producer's transactions on topic tx, partitions 0 and 1, as the logs hold them (markers
 * take offsets too, so the read_committed read has gaps):
 *   T1 commit a1 a3 -> p0 0,1, a2 -> p1 0          markers p0@2, p1@1
 *   T2 abort  b1 -> p0 3, b2 -> p1 2                markers p0@4, p1@3
 *   T3 fail   c1 -> p0 5 (commit never sent; aborted when the next producer fenced it, p0@6)
 *   T4 info   d1 -> p0 7, d2 -> p1 4 (commit sent, unanswered; it did commit)  markers p0@8, p1@5
 *   T5 commit e1 -> p0 9, e2 -> p1 6                markers p0@10, p1@7
 */
const COMMITTED_P0: Records = [
  [0, 'a1'],
  [1, 'a3'],
  [7, 'd1'],
  [9, 'e1'],
];
const COMMITTED_P1: Records = [
  [0, 'a2'],
  [4, 'd2'],
  [6, 'e2'],
];
const RAW_P0: Records = [
  [0, 'a1'],
  [1, 'a3'],
  [3, 'b1'],
  [5, 'c1'],
  [7, 'd1'],
  [9, 'e1'],
];
const RAW_P1: Records = [
  [0, 'a2'],
  [2, 'b2'],
  [4, 'd2'],
  [6, 'e2'],
];

interface Run {
  committed?: [Records | undefined, Records | undefined];
  raw?: [Records, Records];
  polls?: [number, Records][];
}

function txnRun(run: Run = {}): HistoryBuilder {
  const h = new HistoryBuilder();
  h.txn('txn-producer-0', [
    [0, 'a1'],
    [1, 'a2'],
    [0, 'a3'],
  ], 'commit', [0, 0, 1]);
  h.txn('txn-producer-0', [
    [0, 'b1'],
    [1, 'b2'],
  ], 'abort', [3, 2]);
  h.txn('txn-producer-0', [[0, 'c1']], 'fail');
  h.txn('txn-producer-0', [
    [0, 'd1'],
    [1, 'd2'],
  ], 'info', [7, 4]);
  h.txn('txn-producer-0', [
    [0, 'e1'],
    [1, 'e2'],
  ], 'commit', [9, 6]);
  h.event('txn-consumer-0', 'ok', 'assign', { topic: 'tx', value: [0, 1] });
  for (const [p, records] of run.polls ?? [[0, COMMITTED_P0.slice(0, 2)]]) h.event('txn-consumer-0', 'ok', 'txn-poll', { topic: 'tx', partition: p, value: records });
  const [c0, c1] = run.committed ?? [COMMITTED_P0, COMMITTED_P1];
  if (c0) h.txnRead(0, c0);
  if (c1) h.txnRead(1, c1);
  const [r0, r1] = run.raw ?? [RAW_P0, RAW_P1];
  h.txnRead(0, r0, 'txn-final-read-uncommitted').txnRead(1, r1, 'txn-final-read-uncommitted');
  return h;
}

describe('transactional checks on a clean history', () => {
  it('find nothing and count what they checked, one row per property', () => {
    const report = checkHistory(txnRun().events);
    expect(kinds(report)).toEqual({});
    expect(row(report, 'txn aborted unread').checked).toBe(3);
    expect(row(report, 'txn aborted unread').figures).toMatchObject({
      'transactions aborted (abort acknowledged)': 1,
      'transactions aborted (commit never sent)': 1,
      'aborted values stored (read_uncommitted)': 3,
    });
    expect(row(report, 'txn committed atomic').checked).toBe(2);
    expect(row(report, 'txn committed kept').checked).toBe(5);
    expect(row(report, 'txn unknown all or nothing').figures).toMatchObject({ 'unknown outcome, wholly visible': 1 });
    expect(row(report, 'txn order in partition').checked).toBe(7);
    expect(row(report, 'txn read_committed consumer').checked).toBe(2);
    expect(row(report, 'txn final reads').checked).toBe(7);
    expect(formatReport(report)).toMatch(/txn committed atomic\s+2 acknowledged commits\s+0\s+ok/);
  });

  it('accept a transaction of unknown outcome that is wholly invisible', () => {
    const report = checkHistory(txnRun({ committed: [COMMITTED_P0.filter(([, v]) => v !== 'd1'), COMMITTED_P1.filter(([, v]) => v !== 'd2')] }).events);
    expect(kinds(report)).toEqual({});
    expect(row(report, 'txn unknown all or nothing').figures).toMatchObject({ 'unknown outcome, wholly invisible': 1 });
  });

  it('leave a history without transactions with the rows it always had', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).finalRead(0, [[0, 'v0']]);
    expect(checkHistory(h.events).results.map((r) => r.name)).toEqual(['acknowledged writes', 'consumer reads', 'committed offsets', 'liveness after heal']);
  });
});

describe('transactional checks find each violation', () => {
  it('aborted-read: the final read_committed read holds values of an acknowledged abort and of a never-committed transaction', () => {
    const report = checkHistory(
      txnRun({
        committed: [
          [
            [0, 'a1'],
            [1, 'a3'],
            [3, 'b1'],
            [5, 'c1'],
            [7, 'd1'],
            [9, 'e1'],
          ],
          COMMITTED_P1,
        ],
      }).events,
    );
    expect(kinds(report)).toEqual({ 'aborted-read': 2 });
    const messages = row(report, 'txn aborted unread').violations.map((v) => v.message);
    expect(messages[0]).toContain('"b1" at offset 3');
    expect(messages[0]).toContain('its abort was acknowledged');
    expect(messages[1]).toContain('its commit was never sent');
  });

  it('aborted-read: the read_committed consumer was given an aborted value', () => {
    const report = checkHistory(
      txnRun({
        polls: [
          [
            1,
            [
              [0, 'a2'],
              [2, 'b2'],
            ],
          ],
        ],
      }).events,
    );
    // The final read does not hold b2 at offset 2 either, so the consumer's read is inconsistent too.
    expect(kinds(report)).toEqual({ 'aborted-read': 1, 'inconsistent-read': 1 });
    expect(row(report, 'txn aborted unread').violations[0]?.message).toContain('txn-consumer-0 was given "b2"');
  });

  it('txn-partial and txn-lost-write: an acknowledged commit missing one of its values', () => {
    const report = checkHistory(txnRun({ committed: [COMMITTED_P0, COMMITTED_P1.filter(([, v]) => v !== 'a2')] }).events);
    expect(kinds(report)).toEqual({ 'txn-partial': 1, 'txn-lost-write': 1 });
    expect(row(report, 'txn committed atomic').violations[0]?.message).toContain('2 of 3 values read, missing "a2"');
  });

  it('txn-lost-write: an acknowledged commit wholly missing', () => {
    const report = checkHistory(txnRun({ committed: [COMMITTED_P0.filter(([, v]) => v !== 'e1'), COMMITTED_P1.filter(([, v]) => v !== 'e2')] }).events);
    expect(kinds(report)).toEqual({ 'txn-lost-write': 2 });
    expect(row(report, 'txn committed kept').violations[0]?.message).toContain('nor is any value of that transaction');
  });

  it('offset-mismatch: a committed value read at another offset than its send was acknowledged at', () => {
    const report = checkHistory(
      txnRun({
        committed: [
          [
            [0, 'a1'],
            [1, 'a3'],
            [7, 'd1'],
            [11, 'e1'],
          ],
          COMMITTED_P1,
        ],
        raw: [[...RAW_P0.slice(0, 5), [11, 'e1']], RAW_P1],
      }).events,
    );
    expect(kinds(report)).toEqual({ 'offset-mismatch': 1 });
  });

  it('txn-unknown-partial: a transaction of unknown outcome partly visible', () => {
    const report = checkHistory(txnRun({ committed: [COMMITTED_P0, COMMITTED_P1.filter(([, v]) => v !== 'd2')] }).events);
    expect(kinds(report)).toEqual({ 'txn-unknown-partial': 1 });
    expect(row(report, 'txn unknown all or nothing').violations[0]?.message).toContain('1 of 2 values read, missing "d2"');
  });

  it('txn-reorder: values of one transaction out of their send order', () => {
    const h = new HistoryBuilder().txn('tp', [
      [0, 'x1'],
      [0, 'x2'],
    ], 'commit');
    h.txnRead(0, [
      [0, 'x2'],
      [1, 'x1'],
    ]);
    const report = checkHistory(h.events);
    expect(kinds(report)).toEqual({ 'txn-reorder': 1 });
    expect(row(report, 'txn order in partition').violations[0]?.message).toContain('in the same transaction');
  });

  it('txn-reorder: a transaction begun after another commit was acknowledged placed before it', () => {
    const h = new HistoryBuilder();
    h.txn('tp', [[0, 'first']], 'commit');
    h.txn('tq', [[0, 'second']], 'commit');
    h.txnRead(0, [
      [0, 'second'],
      [2, 'first'],
    ]);
    const report = checkHistory(h.events);
    expect(kinds(report)).toEqual({ 'txn-reorder': 1 });
    expect(row(report, 'txn order in partition').violations[0]?.message).toContain("tq's transaction (from offset 0) was invoked after tp's commit");
  });

  it('does not order concurrent transactions', () => {
    const h = new HistoryBuilder();
    h.event('tp', 'invoke', 'txn', { topic: 'tx', value: { decision: 'commit', writes: [[0, 'x']] } });
    h.event('tq', 'invoke', 'txn', { topic: 'tx', value: { decision: 'commit', writes: [[0, 'y']] } });
    h.event('tp', 'ok', 'txn', { topic: 'tx', value: { decision: 'commit', writes: [[0, 'x']], end: 'commit' } });
    h.event('tq', 'ok', 'txn', { topic: 'tx', value: { decision: 'commit', writes: [[0, 'y']], end: 'commit' } });
    h.txnRead(0, [
      [0, 'y'],
      [2, 'x'],
    ]);
    expect(kinds(checkHistory(h.events))).toEqual({});
  });

  it('nonmonotonic-poll and poll-skip: the read_committed consumer goes back, or jumps over committed records', () => {
    const back = checkHistory(
      txnRun({
        polls: [
          [0, COMMITTED_P0.slice(0, 2)],
          [0, COMMITTED_P0.slice(1, 2)],
        ],
      }).events,
    );
    expect(kinds(back)).toEqual({ 'nonmonotonic-poll': 1 });
    const skip = checkHistory(txnRun({ polls: [[0, [COMMITTED_P0[0] as [number, string], COMMITTED_P0[2] as [number, string]]]] }).events);
    expect(kinds(skip)).toEqual({ 'poll-skip': 1 });
  });

  it('isolation-mismatch: read_committed and read_uncommitted disagree on an offset', () => {
    const report = checkHistory(txnRun({ raw: [RAW_P0.map(([o, v]): [number, string] => [o, o === 9 ? 'c1' : v]).filter(([o]) => o !== 5), RAW_P1] }).events);
    expect(kinds(report)).toEqual({ 'isolation-mismatch': 1 });
  });

  it('duplicate and unexpected-value: a value read twice, and one nobody wrote', () => {
    const report = checkHistory(
      txnRun({
        committed: [
          [...COMMITTED_P0, [11, 'e1']],
          [...COMMITTED_P1, [8, 'zz']],
        ],
        raw: [
          [...RAW_P0, [11, 'e1']],
          [...RAW_P1, [8, 'zz']],
        ],
      }).events,
    );
    expect(kinds(report)).toMatchObject({ duplicate: 2, 'unexpected-value': 2 });
  });

  it('final-read-missing: acknowledged commits in a partition the read_committed read could not finish', () => {
    const h = txnRun({ committed: [COMMITTED_P0, undefined] });
    h.event('txn-final-read', 'invoke', 'txn-final-read', { topic: 'tx', partition: 1 }).event('txn-final-read', 'fail', 'txn-final-read', { topic: 'tx', partition: 1, error: 'read to offset 1 of high watermark 8' });
    const report = checkHistory(h.events);
    expect(kinds(report)).toEqual({ 'final-read-missing': 1 });
    expect(row(report, 'txn committed kept').violations[0]?.message).toContain('high watermark 8');
  });

  it('refuses a txn event without its writes, naming the line', () => {
    const h = new HistoryBuilder().event('tp', 'invoke', 'txn', { topic: 'tx', value: { decision: 'commit' } });
    expect(() => checkHistory(h.events)).toThrow(/line 1: txn value must be an object with writes/);
  });
});
