import { describe, expect, it } from 'vitest';
import { checkHistory } from '../checker/check.js';
import { HistoryError, parseHistory } from '../checker/history.js';
import { countByKind, formatReport, type Report, type ViolationKind } from '../checker/report.js';
import { HistoryBuilder } from './history-builder.js';

function kinds(report: Report): Record<string, number> {
  return Object.fromEntries(countByKind(report));
}

function only(report: Report, kind: ViolationKind): void {
  expect(kinds(report)).toEqual({ [kind]: expect.any(Number) as number });
}

/**
 * A run without a fault in the outcome: writes to two partitions across a kill and restart, a
 * consumer reading and committing, a heal, writes after it, and the final reads.
 */
function cleanRun(opts: { finalP0?: [number, string][]; afterHeal?: boolean } = {}): HistoryBuilder {
  const h = new HistoryBuilder();
  h.write('producer-0', 'a0', 0, 0).write('producer-1', 'b0', 1, 0);
  h.nemesis('kill', { brokers: ['broker-1'] });
  h.write('producer-0', 'a1', 0, 1).write('producer-1', 'b1', 1, 1).write('producer-0', 'a2', 0, 2);
  h.nemesis('restart', { brokers: ['broker-1'] });
  h.event('consumer-0', 'ok', 'assign', { value: [0, 1] });
  h.poll('consumer-0', 0, [
    [0, 'a0'],
    [1, 'a1'],
  ]);
  h.poll('consumer-0', 0, [[2, 'a2']]);
  h.poll('consumer-0', 1, [
    [0, 'b0'],
    [1, 'b1'],
  ]);
  h.commit('consumer-0', 'g', 0, 3).commit('consumer-0', 'g', 1, 2);
  h.committed('g', 0, 3);
  h.nemesis('heal-all', {});
  const afterHeal = opts.afterHeal !== false;
  if (afterHeal) h.write('producer-0', 'a3', 0, 3).write('producer-1', 'b2', 1, 2);
  const p0: [number, string][] = opts.finalP0 ?? [
    [0, 'a0'],
    [1, 'a1'],
    [2, 'a2'],
    [3, 'a3'],
  ];
  const p1: [number, string][] = [
    [0, 'b0'],
    [1, 'b1'],
    [2, 'b2'],
  ];
  h.finalRead(0, afterHeal ? p0 : p0.slice(0, 3));
  h.finalRead(1, afterHeal ? p1 : p1.slice(0, 2));
  return h;
}

describe('checker on a clean history', () => {
  it('finds nothing and counts what it checked', () => {
    const report = checkHistory(cleanRun().events);
    expect(kinds(report)).toEqual({});
    expect(report.ok).toBe(true);
    const byName = Object.fromEntries(report.results.map((r) => [r.name, r]));
    expect(byName['acknowledged writes']?.checked).toBe(7);
    expect(byName['consumer reads']?.checked).toBe(5);
    expect(byName['committed offsets']?.checked).toBe(3);
    expect(byName['liveness after heal']?.checked).toBe(2);
    expect(formatReport(report)).toContain('no violations');
  });

  it('accepts an indeterminate write whether it is in the log or not', () => {
    const h = new HistoryBuilder();
    h.write('p', 'x0', 0, 0);
    h.event('p', 'invoke', 'produce', { value: 'x1', partition: 0 }).event('p', 'info', 'produce', { value: 'x1', partition: 0, error: 'timeout' });
    h.event('q', 'invoke', 'produce', { value: 'y1', partition: 0 }).event('q', 'info', 'produce', { value: 'y1', partition: 0, error: 'timeout' });
    h.write('p', 'x2', 0, 2);
    h.finalRead(0, [
      [0, 'x0'],
      [1, 'x1'],
      [2, 'x2'],
    ]);
    const report = checkHistory(h.events);
    expect(kinds(report)).toEqual({});
    expect(report.results[0]?.figures?.['indeterminate writes present']).toBe(1);
  });

  it('lets a consumer go back after a new assignment', () => {
    const h = new HistoryBuilder();
    h.write('p', 'v0', 0, 0).write('p', 'v1', 0, 1);
    h.event('c', 'ok', 'assign', { value: [0] });
    h.poll('c', 0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    h.event('c', 'ok', 'assign', { value: [0] });
    h.poll('c', 0, [[1, 'v1']]);
    h.finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    expect(kinds(checkHistory(h.events))).toEqual({});
  });
});

describe('checker finds each violation', () => {
  it('lost-write: an acknowledged value missing from the final log', () => {
    const report = checkHistory(
      cleanRun({
        finalP0: [
          [0, 'a0'],
          [2, 'a2'],
          [3, 'a3'],
        ],
      }).events,
    );
    expect(kinds(report)).toMatchObject({ 'lost-write': 1 });
    const lost = report.results[0]?.violations.find((v) => v.kind === 'lost-write');
    expect(lost?.message).toContain('"a1"');
    expect(lost?.partition).toBe('0');
    // The consumer read a1 at offset 1, which the log no longer holds.
    expect(kinds(report)['inconsistent-read']).toBe(1);
  });

  it('offset-mismatch: a value stored at another offset than acknowledged', () => {
    const report = checkHistory(
      cleanRun({
        finalP0: [
          [0, 'a0'],
          [1, 'a2'],
          [2, 'a1'],
          [3, 'a3'],
        ],
      }).events,
    );
    expect(kinds(report)['offset-mismatch']).toBe(2);
    expect(kinds(report)['lost-write']).toBeUndefined();
  });

  it('duplicate: one value stored twice', () => {
    const report = checkHistory(
      cleanRun({
        finalP0: [
          [0, 'a0'],
          [1, 'a1'],
          [2, 'a2'],
          [3, 'a2'],
          [4, 'a3'],
        ],
      }).events,
    );
    expect(kinds(report)).toMatchObject({ duplicate: 1 });
  });

  it('unexpected-value: a value nobody wrote', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).finalRead(0, [
      [0, 'v0'],
      [1, 'garbage'],
    ]);
    only(checkHistory(h.events), 'unexpected-value');
  });

  it('failed-write-present: a definitely failed write that is stored', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0);
    h.event('p', 'invoke', 'produce', { value: 'v1', partition: 0 }).event('p', 'fail', 'produce', { value: 'v1', partition: 0, error: 'INVALID_RECORD' });
    h.finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    only(checkHistory(h.events), 'failed-write-present');
  });

  it('final-read-missing: acknowledged writes to a partition that could not be read back', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).write('p', 'w0', 1, 0);
    h.finalRead(0, [[0, 'v0']]);
    h.event('reader', 'invoke', 'final-read', { partition: 1 }).event('reader', 'fail', 'final-read', { partition: 1, error: 'LEADER_NOT_AVAILABLE' });
    const report = checkHistory(h.events);
    only(report, 'final-read-missing');
    expect(report.results[0]?.violations[0]?.message).toContain('LEADER_NOT_AVAILABLE');
  });

  it('final-read-inconsistent: a later final read lost what an earlier one saw', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).write('p', 'v1', 0, 1);
    h.finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    h.finalRead(0, [[0, 'v0']]);
    const k = kinds(checkHistory(h.events));
    expect(k['final-read-inconsistent']).toBe(1);
    expect(k['lost-write']).toBe(1);
  });

  it('reorder: a write invoked after another was acknowledged lands before it', () => {
    const h = new HistoryBuilder();
    // q's write is acknowledged at offset 1 without the broker reporting p's later write's real place.
    h.write('p', 'first', 0, 1);
    h.write('q', 'second', 0, 0);
    h.finalRead(0, [
      [0, 'second'],
      [1, 'first'],
    ]);
    const report = checkHistory(h.events);
    only(report, 'reorder');
    expect(report.results[0]?.violations[0]?.message).toContain('"second"');
  });

  it('does not call concurrent writes reordered', () => {
    const h = new HistoryBuilder();
    h.event('p', 'invoke', 'produce', { value: 'x', partition: 0 });
    h.event('q', 'invoke', 'produce', { value: 'y', partition: 0 });
    h.event('p', 'ok', 'produce', { value: 'x', partition: 0, offset: 1 });
    h.event('q', 'ok', 'produce', { value: 'y', partition: 0, offset: 0 });
    h.finalRead(0, [
      [0, 'y'],
      [1, 'x'],
    ]);
    expect(kinds(checkHistory(h.events))).toEqual({});
  });

  it('nonmonotonic-poll: a consumer goes back without a new assignment', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).write('p', 'v1', 0, 1);
    h.event('c', 'ok', 'assign', { value: [0] });
    h.poll('c', 0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    h.poll('c', 0, [[1, 'v1']]);
    h.finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    only(checkHistory(h.events), 'nonmonotonic-poll');
  });

  it('poll-skip: a consumer jumps over stored records', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).write('p', 'v1', 0, 1).write('p', 'v2', 0, 2);
    h.poll('c', 0, [
      [0, 'v0'],
      [2, 'v2'],
    ]);
    h.finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
      [2, 'v2'],
    ]);
    const report = checkHistory(h.events);
    only(report, 'poll-skip');
    expect(report.results[1]?.violations[0]?.message).toContain('skipping 1 records');
  });

  it('poll-skip is not reported over offsets the log does not hold', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).write('p', 'v2', 0, 2);
    h.poll('c', 0, [
      [0, 'v0'],
      [2, 'v2'],
    ]);
    h.finalRead(0, [
      [0, 'v0'],
      [2, 'v2'],
    ]);
    expect(kinds(checkHistory(h.events))).toEqual({});
  });

  it('inconsistent-read: a consumer saw a value the final log does not hold there', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0);
    h.event('p', 'invoke', 'produce', { value: 'v1', partition: 0 }).event('p', 'info', 'produce', { value: 'v1', partition: 0 });
    h.poll('c', 0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    h.finalRead(0, [[0, 'v0']]);
    const report = checkHistory(h.events);
    only(report, 'inconsistent-read');
    expect(report.results[1]?.violations[0]?.message).toContain('does not have');
  });

  it('nonmonotonic-commit: an acknowledged commit lower than an earlier acknowledged one', () => {
    const h = new HistoryBuilder().commit('c1', 'g', 0, 5).commit('c2', 'g', 0, 3);
    only(checkHistory(h.events), 'nonmonotonic-commit');
  });

  it('commits to different partitions or groups are independent', () => {
    const h = new HistoryBuilder().commit('c1', 'g', 0, 5).commit('c2', 'g', 1, 3).commit('c3', 'h', 0, 1);
    expect(kinds(checkHistory(h.events))).toEqual({});
  });

  it('lost-commit: OffsetFetch returns less than an acknowledged commit', () => {
    const h = new HistoryBuilder().commit('c1', 'g', 0, 5).committed('g', 0, 2).committed('g', 1, -1);
    const report = checkHistory(h.events);
    only(report, 'lost-commit');
    expect(report.results[2]?.violations).toHaveLength(1);
  });

  it('a read concurrent with a commit may see the older value', () => {
    const h = new HistoryBuilder().commit('c1', 'g', 0, 2);
    h.event('reader', 'invoke', 'committed', { value: 'g', partition: 0 });
    h.commit('c1', 'g', 0, 5);
    h.event('reader', 'ok', 'committed', { value: 'g', partition: 0, offset: 2 });
    expect(kinds(checkHistory(h.events))).toEqual({});
  });

  it('liveness: no write acknowledged after the final heal', () => {
    const report = checkHistory(cleanRun({ afterHeal: false }).events);
    expect(kinds(report)).toEqual({ liveness: 2 });
  });

  it('liveness: the first write after heal came later than the bound', () => {
    const h = new HistoryBuilder().write('p', 'v0', 0, 0).nemesis('heal-all', {});
    h.event('p', 'invoke', 'produce', { value: 'v1', partition: 0 });
    h.at(h.events.at(-1)!.time + 40_000).event('p', 'ok', 'produce', { value: 'v1', partition: 0, offset: 1 });
    h.finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    const strict = checkHistory(h.events, { livenessBoundMs: 30_000 });
    only(strict, 'liveness');
    expect(kinds(checkHistory(h.events, { livenessBoundMs: 60_000 }))).toEqual({});
  });
});

describe('history input', () => {
  it('round-trips through the JSON lines format', () => {
    const h = cleanRun();
    const parsed = parseHistory(h.text());
    expect(parsed).toEqual(h.events);
  });

  it('names the line and field of malformed events', () => {
    expect(() => parseHistory('{"process":"p","type":"ok","f":"produce","time":1}\nnot json\n')).toThrow(/line 2: not JSON/);
    expect(() => parseHistory('{"process":"p","type":"done","f":"produce","time":1}')).toThrow(/line 1: type must be one of/);
    expect(() => parseHistory('{"process":"p","type":"ok","f":"produce","time":"soon"}')).toThrow(/time must be a finite number/);
    expect(() => parseHistory('{"process":"p","type":"ok","f":"poll","time":1,"partition":-2}')).toThrow(/partition must be an integer of at least 0/);
    expect(() => parseHistory('[1,2]')).toThrow(HistoryError);
  });

  it('refuses a process with two operations in flight', () => {
    const h = new HistoryBuilder();
    h.event('p', 'invoke', 'produce', { value: 'a', partition: 0 }).event('p', 'invoke', 'produce', { value: 'b', partition: 0 });
    expect(() => checkHistory(h.events)).toThrow(/line 2: process p invokes produce while its produce from line 1/);
  });

  it('refuses payloads of the wrong shape, naming the line', () => {
    const poll = new HistoryBuilder().event('c', 'ok', 'poll', { partition: 0, value: [[0, 7]] });
    expect(() => checkHistory(poll.events)).toThrow(/line 1: poll value\[0\] value must be a string/);
    const produce = new HistoryBuilder().event('p', 'invoke', 'produce', { value: 'x' }).event('p', 'ok', 'produce', { value: 'x', offset: 0 });
    expect(() => checkHistory(produce.events)).toThrow(/line 2: produce ok needs a partition/);
  });
});
