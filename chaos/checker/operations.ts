/**
 * Pairs each invoke with its completion into one operation with a time interval, which is what
 * the real-time checks (ordering, committed offsets, liveness) reason about.
 */
import { HistoryError, partitionKey, type EventType, type HistoryEvent } from './history.js';

export type Outcome = Exclude<EventType, 'invoke'>;

export interface Operation {
  readonly process: string;
  readonly f: string;
  /** An invoke with no completion in the history counts as `info`: its outcome is unknown. */
  readonly outcome: Outcome;
  readonly invokeTime: number;
  /** Infinity when the operation never completed. */
  readonly completeTime: number;
  /** The completion's fields where it has them, else the invoke's. */
  readonly value: unknown;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly error?: string;
  /** History line of the invoke (or of the completion when there was no invoke). */
  readonly line: number;
  readonly completeLine?: number;
}

function merge(invoke: HistoryEvent | undefined, done: HistoryEvent | undefined): Operation {
  const first = invoke ?? done;
  if (!first) throw new Error('merge needs an event');
  return {
    process: first.process,
    f: first.f,
    outcome: done ? (done.type as Outcome) : 'info',
    invokeTime: first.time,
    completeTime: done ? done.time : Number.POSITIVE_INFINITY,
    value: done?.value !== undefined ? done.value : invoke?.value,
    topic: done?.topic ?? invoke?.topic,
    partition: done?.partition ?? invoke?.partition,
    offset: done?.offset ?? invoke?.offset,
    error: done?.error ?? (done ? undefined : 'never completed'),
    line: first.line,
    completeLine: done?.line,
  };
}

/**
 * Operations in completion order (pending ones last). A completion without an invoke (a poll,
 * an assignment) is an instantaneous operation. A process that invokes twice without a
 * completion in between, or completes a different f than it invoked, is a malformed history.
 */
export function pairOperations(events: readonly HistoryEvent[]): Operation[] {
  const open = new Map<string, HistoryEvent>();
  const ops: Operation[] = [];
  for (const e of events) {
    const pending = open.get(e.process);
    if (e.type === 'invoke') {
      if (pending) throw new HistoryError(e.line, `process ${e.process} invokes ${e.f} while its ${pending.f} from line ${pending.line} has not completed`);
      open.set(e.process, e);
      continue;
    }
    if (pending) {
      if (pending.f !== e.f) throw new HistoryError(e.line, `process ${e.process} completes ${e.f} but invoked ${pending.f} at line ${pending.line}`);
      open.delete(e.process);
      ops.push(merge(pending, e));
    } else {
      ops.push(merge(undefined, e));
    }
  }
  for (const pending of open.values()) ops.push(merge(pending, undefined));
  return ops;
}

/** The operation's partition as reports name it; a malformed history when it has none. */
export function partitionOf(op: Operation): string {
  if (op.partition === undefined) throw new HistoryError(op.completeLine ?? op.line, `${op.f} ${op.outcome} needs a partition`);
  return partitionKey(op.topic, op.partition);
}

/** Where an operation's completion (or its invoke, if it never completed) is in the history. */
export function lineOf(op: Operation): number {
  return op.completeLine ?? op.line;
}
