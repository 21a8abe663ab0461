/** Builds synthetic histories for the checker's unit tests, one event per call, time advancing by 1 ms. */
import type { EventType, HistoryEvent } from '../checker/history.js';

type Fields = Omit<HistoryEvent, 'line' | 'time' | 'process' | 'type' | 'f'> & { time?: number };

export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private now = 0;

  event(process: string, type: EventType, f: string, fields: Fields = {}): this {
    const { time, ...rest } = fields;
    this.now = time ?? this.now + 1;
    this.events.push({ line: this.events.length + 1, process, type, f, time: this.now, ...rest });
    return this;
  }

  at(time: number): this {
    this.now = time;
    return this;
  }

  /** A complete acknowledged produce. */
  write(process: string, value: string, partition: number, offset: number): this {
    return this.event(process, 'invoke', 'produce', { value, partition }).event(process, 'ok', 'produce', { value, partition, offset });
  }

  poll(process: string, partition: number, records: readonly (readonly [number, string])[]): this {
    return this.event(process, 'ok', 'poll', { partition, value: records });
  }

  commit(process: string, group: string, partition: number, offset: number): this {
    return this.event(process, 'invoke', 'commit', { value: group, partition, offset }).event(process, 'ok', 'commit', { value: group, partition, offset });
  }

  committed(group: string, partition: number, offset: number): this {
    return this.event('reader', 'invoke', 'committed', { value: group, partition }).event('reader', 'ok', 'committed', { value: group, partition, offset });
  }

  finalRead(partition: number, records: readonly (readonly [number, string])[]): this {
    return this.event('reader', 'invoke', 'final-read', { partition }).event('reader', 'ok', 'final-read', { partition, value: records });
  }

  /**
   * A whole transaction of `process` on topic `topic`: ok with end commit or abort, fail (no
   * commit sent) or info (commit sent, unanswered). Sends are acknowledged at `offsets` when given.
   */
  txn(process: string, writes: readonly (readonly [number, string])[], outcome: 'commit' | 'abort' | 'fail' | 'info', offsets: readonly number[] = [], topic = 'tx'): this {
    const decision = outcome === 'abort' ? 'abort' : 'commit';
    const base = { id: process, decision, writes };
    const sent = offsets.map((o, i) => [writes[i]?.[0], writes[i]?.[1], o]);
    this.event(process, 'invoke', 'txn', { topic, value: base });
    if (outcome === 'commit' || outcome === 'abort') return this.event(process, 'ok', 'txn', { topic, value: { ...base, end: outcome, sent } });
    if (outcome === 'fail') return this.event(process, 'fail', 'txn', { topic, value: { ...base, end: 'none', sent }, error: 'send timed out; then the abort: timed out' });
    return this.event(process, 'info', 'txn', { topic, value: { ...base, end: 'commit', sent }, error: 'EndTxn commit did not complete' });
  }

  /** A final read of the transactional topic: `txn-final-read` (read_committed) or `txn-final-read-uncommitted`. */
  txnRead(partition: number, records: readonly (readonly [number, string])[], f = 'txn-final-read', topic = 'tx'): this {
    return this.event(f, 'invoke', f, { topic, partition }).event(f, 'ok', f, { topic, partition, value: records });
  }

  nemesis(f: string, value: unknown): this {
    return this.event('nemesis', 'invoke', f, { value }).event('nemesis', 'ok', f, { value });
  }

  /** JSON lines, as the harness writes them (without the line numbers). */
  text(): string {
    return this.events.map(({ line: _line, ...e }) => JSON.stringify(e)).join('\n') + '\n';
  }
}
