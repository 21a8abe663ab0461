/**
 * The committed-offsets model of the system simulator: consumers commit increasing offsets for
 * a few (group, topic, partition) keys through the group coordinator (the leader of the
 * replicated `__consumer_offsets` partition), and every answer is held to what was committed:
 *
 * - an acknowledged commit is never lost: an OffsetFetch answered by a coordinator that leads
 *   at epoch E returns at least the highest offset acknowledged under an epoch <= E before the
 *   fetch was sent (a commit acknowledged at epoch E' <= E is on a quorum before E's election,
 *   or is E's own, so E loaded it or applied it);
 * - committed offsets never move back: that fetch also returns at least every value an earlier
 *   fetch answered at an epoch <= E;
 * - nothing is made up: the value is -1 (nothing committed) only while nothing above applies,
 *   and otherwise one some client actually tried to commit for that key.
 *
 * Why epochs: a deposed coordinator that has not heard of its successor still answers from
 * what it had (as in Kafka, OffsetFetch asks no quorum), so an answer is only compared with
 * what its own or an earlier epoch could know. At the end, with the faults over, the
 * coordinator of the newest epoch must answer every key with its last acknowledged commit (or
 * a later attempted one).
 */
import { InvariantViolation } from '../invariants.js';

export interface OffsetsStats {
  commits: number;
  commitsAcked: number;
  commitsRefused: number;
  fetches: number;
  /** Fetched offsets held to the model (one per key in an answer). */
  offsetsChecked: number;
}

interface Mark {
  readonly offset: number;
  readonly epoch: number;
  /** Order of the observation (acknowledgement or answer), for "before the fetch was sent". */
  readonly seq: number;
  readonly source: string;
}

interface KeyHistory {
  readonly attempted: Set<number>;
  readonly acked: Mark[];
  readonly seen: Mark[];
}

export class OffsetsModel {
  readonly stats: OffsetsStats = { commits: 0, commitsAcked: 0, commitsRefused: 0, fetches: 0, offsetsChecked: 0 };
  private readonly keys = new Map<string, KeyHistory>();
  private seq = 0;

  private history(key: string): KeyHistory {
    let h = this.keys.get(key);
    if (h === undefined) {
      h = { attempted: new Set(), acked: [], seen: [] };
      this.keys.set(key, h);
    }
    return h;
  }

  /** A client is about to send a commit of `offset` for `key`. */
  attempted(key: string, offset: number): void {
    this.history(key).attempted.add(offset);
  }

  /** A commit of `offset` for `key` was acknowledged by the coordinator of `epoch` (its epoch when it answered). */
  acked(key: string, offset: number, epoch: number, source: string): void {
    this.history(key).acked.push({ offset, epoch, seq: this.seq++, source });
  }

  /** Taken when a fetch is sent: only what was observed before counts against its answer. */
  mark(): number {
    return this.seq;
  }

  /** The highest offset acknowledged under an epoch <= `epoch` (before `before`), with where. */
  lastAcked(key: string, epoch = Infinity, before = Infinity): Mark | null {
    return highest(this.keys.get(key)?.acked ?? [], epoch, before);
  }

  /**
   * An OffsetFetch sent when `mark()` was `sentAt`, answered `offset` (-1: none) for `key` by the
   * coordinator that led at `epoch` from when it was sent to when it answered.
   */
  fetched(key: string, offset: number, epoch: number, sentAt: number, source: string): void {
    this.stats.offsetsChecked++;
    const h = this.history(key);
    const acked = highest(h.acked, epoch, sentAt);
    if (acked !== null && offset < acked.offset) {
      throw new InvariantViolation(
        'acknowledged offset commit lost',
        `${key}: ${source} (epoch ${epoch}) answers committed offset ${offset}, but ${acked.offset} was acknowledged by ${acked.source} (epoch ${acked.epoch})`,
      );
    }
    const seen = highest(h.seen, epoch, sentAt);
    if (seen !== null && offset < seen.offset) {
      throw new InvariantViolation(
        'committed offsets never move back',
        `${key}: ${source} (epoch ${epoch}) answers committed offset ${offset}, but ${seen.source} answered ${seen.offset} before (epoch ${seen.epoch})`,
      );
    }
    if (offset !== -1 && !h.attempted.has(offset)) {
      throw new InvariantViolation('committed offset was committed', `${key}: ${source} (epoch ${epoch}) answers committed offset ${offset}, which no client tried to commit`);
    }
    if (offset !== -1) h.seen.push({ offset, epoch, seq: this.seq++, source });
  }

  /** At the end: the newest coordinator's answer must be the last acknowledged commit or a later attempted one. */
  final(key: string, offset: number, source: string): void {
    const acked = this.lastAcked(key);
    if (acked === null) return;
    if (offset < acked.offset || !this.history(key).attempted.has(offset)) {
      throw new InvariantViolation(
        'acknowledged offset commit lost',
        `${key}: after the faults ${source} answers committed offset ${offset}; the last acknowledged commit was ${acked.offset} (by ${acked.source}, epoch ${acked.epoch})`,
      );
    }
  }
}

function highest(marks: readonly Mark[], epoch: number, before: number): Mark | null {
  let best: Mark | null = null;
  for (const m of marks) if (m.epoch <= epoch && m.seq < before && (best === null || m.offset > best.offset)) best = m;
  return best;
}
