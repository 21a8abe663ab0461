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

  nemesis(f: string, value: unknown): this {
    return this.event('nemesis', 'invoke', f, { value }).event('nemesis', 'ok', f, { value });
  }

  /** JSON lines, as the harness writes them (without the line numbers). */
  text(): string {
    return this.events.map(({ line: _line, ...e }) => JSON.stringify(e)).join('\n') + '\n';
  }
}
