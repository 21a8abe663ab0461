/**
 * The history file: one JSON object per line, each an event of one logical process (a producer,
 * a consumer, the nemesis, the final reader). A process runs one operation at a time: an `invoke`
 * is followed by that operation's completion (`ok`, `fail` or `info`), as in Jepsen histories.
 * `info` means the outcome is unknown (a timeout, a dropped connection): the write may or may not
 * have happened. `fail` means it certainly did not.
 *
 * Which fields an event carries depends on `f`:
 *   produce        invoke/ok/fail/info: value (the unique string written), partition; ok: offset
 *   poll           ok: partition, value: [[offset, value], ...] as a consumer received them
 *   assign         ok: value: partitions the consumer owns from now on (a new generation)
 *   commit         invoke/ok/fail/info: value (group id), partition, offset (next offset to read)
 *   committed      ok: value (group id), partition, offset (-1: none) read back with OffsetFetch
 *   final-read     ok/fail: partition, value: [[offset, value], ...], the whole log after the run
 *   anything else  nemesis events (kill, pause, partition, heal, ...): value describes the fault
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

export interface HistoryEvent {
  /** 1-based line in the history file, for messages that point at the evidence. */
  readonly line: number;
  readonly process: string;
  readonly type: EventType;
  readonly f: string;
  readonly value?: unknown;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  /** Milliseconds from the start of the run. */
  readonly time: number;
  readonly error?: string;
}

export class HistoryError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`history line ${line}: ${message}`);
    this.name = 'HistoryError';
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalInteger(obj: Record<string, unknown>, field: string, line: number, min: number): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new HistoryError(line, `${field} must be an integer of at least ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalString(obj: Record<string, unknown>, field: string, line: number): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HistoryError(line, `${field} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates one parsed line; throws HistoryError naming the field. */
export function toEvent(raw: unknown, line: number): HistoryEvent {
  if (!isRecord(raw)) throw new HistoryError(line, 'an event must be a JSON object');
  const { process, type, f, time } = raw;
  if (typeof process !== 'string' || process.length === 0) throw new HistoryError(line, 'process must be a non-empty string');
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) throw new HistoryError(line, `type must be one of invoke, ok, fail, info; got ${JSON.stringify(type)}`);
  if (typeof f !== 'string' || f.length === 0) throw new HistoryError(line, 'f must be a non-empty string');
  if (typeof time !== 'number' || !Number.isFinite(time)) throw new HistoryError(line, `time must be a finite number, got ${JSON.stringify(time)}`);
  const event: HistoryEvent = {
    line,
    process,
    type: type as EventType,
    f,
    time,
    value: raw.value,
    topic: optionalString(raw, 'topic', line),
    partition: optionalInteger(raw, 'partition', line, 0),
    // -1 is how a committed-offset read says "nothing committed".
    offset: optionalInteger(raw, 'offset', line, -1),
    error: optionalString(raw, 'error', line),
  };
  return event;
}

/** Parses a whole history (JSON lines; blank lines are skipped). */
export function parseHistory(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i]?.trim() ?? '';
    if (src.length === 0) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(src);
    } catch (e) {
      throw new HistoryError(i + 1, `not JSON (${e instanceof Error ? e.message : String(e)}): ${src.slice(0, 80)}`);
    }
    events.push(toEvent(raw, i + 1));
  }
  return events;
}

/** The name a partition goes by in reports: `topic-p`, or `p` when the history names no topic. */
export function partitionKey(topic: string | undefined, partition: number): string {
  return topic === undefined ? String(partition) : `${topic}-${partition}`;
}

/** A record as read back: its offset and the unique value written. */
export interface ReadRecord {
  readonly offset: number;
  readonly value: string;
}

/** Reads a `[[offset, value], ...]` payload (poll, final-read) found at history line `line`. */
export function readRecords(v: unknown, line: number, f: string): ReadRecord[] {
  if (!Array.isArray(v)) throw new HistoryError(line, `${f} value must be an array of [offset, value] pairs`);
  return v.map((pair: unknown, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new HistoryError(line, `${f} value[${i}] must be an [offset, value] pair`);
    const [offset, value] = pair as [unknown, unknown];
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new HistoryError(line, `${f} value[${i}] offset must be a non-negative integer, got ${JSON.stringify(offset)}`);
    }
    if (typeof value !== 'string') throw new HistoryError(line, `${f} value[${i}] value must be a string`);
    return { offset, value };
  });
}
