/**
 * The Kafka-level model the system simulator checks the brokers against. It learns the
 * committed history of every partition from three sources (what producers were acknowledged,
 * what consumers read below the high watermark, and what audits find in each replica's log
 * below that replica's high watermark) and refuses any contradiction:
 *
 * - acknowledged acks=all writes are durable: every replica whose high watermark passed one
 *   (and whose log start has not) holds it, byte for byte as the producer sent it (only the
 *   base offset and leader epoch are the broker's), and so does whatever a consumer reads there;
 * - one committed batch per offset: two replicas, a consumer and a replica, or two
 *   acknowledgements never disagree about which batch sits at an offset;
 * - offsets are dense and increasing: a replica's committed log is one run of batches, each
 *   starting right after the previous one;
 * - an idempotent retry gets its original offsets: every acknowledgement of one producer batch
 *   (original, retries, late answers) names the same offsets, and the batch is stored once;
 * - the high watermark never moves back: per replica and incarnation, and as consumers see it
 *   across leader changes once the new leader has committed in its own term.
 */
import { BatchField, readInt64 } from '../../../src/kafka/protocol/records.js';
import { InvariantViolation } from '../invariants.js';

interface Stored {
  readonly base: number;
  readonly last: number;
  /** The batch as the first replica or consumer reported it (with its leader epoch). */
  readonly bytes: Buffer;
  readonly source: string;
}

export interface Ack {
  readonly partition: number;
  readonly base: number;
  readonly last: number;
  /** The producer's bytes (base offset and leader epoch not yet the broker's). */
  readonly sent: Buffer;
  readonly producerId: number;
  readonly sequence: number;
  readonly acks: -1 | 1;
}

/** Same batch, ignoring the two fields the broker rewrites (base offset, partition leader epoch). */
export function sameClientBytes(stored: Buffer, sent: Buffer): boolean {
  if (stored.length !== sent.length) return false;
  return stored.compare(sent, BatchField.batchLength, BatchField.partitionLeaderEpoch, BatchField.batchLength, BatchField.partitionLeaderEpoch) === 0 &&
    stored.compare(sent, BatchField.magic, sent.length, BatchField.magic, stored.length) === 0;
}

class PartitionHistory {
  /** Committed batches by base offset, and their bases in order. */
  readonly byBase = new Map<number, Stored>();
  private bases: number[] = [];
  /** acks=all acknowledgements by base offset. */
  readonly acked = new Map<number, Ack>();
  /** (producer id, sequence) -> base offset it was acknowledged or stored at. */
  readonly idempotent = new Map<string, number>();
  maxAckedEnd = 0;

  constructor(readonly partition: number) {}

  /** The stored batch whose range holds `offset`, or the first one after it. */
  floorEntry(offset: number): Stored | undefined {
    let lo = 0;
    let hi = this.bases.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.bases[mid] as number) <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? undefined : this.byBase.get(this.bases[found] as number);
  }

  ceilingEntry(offset: number): Stored | undefined {
    let lo = 0;
    let hi = this.bases.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.bases[mid] as number) >= offset) {
        found = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found < 0 ? undefined : this.byBase.get(this.bases[found] as number);
  }

  insert(s: Stored): void {
    this.byBase.set(s.base, s);
    let i = this.bases.length;
    while (i > 0 && (this.bases[i - 1] as number) > s.base) i--;
    this.bases.splice(i, 0, s.base);
  }
}

export interface ModelStats {
  acked: number;
  ackedOnce: number;
  idempotentRetries: number;
  batchesChecked: number;
  consumerBatches: number;
  audits: number;
  hwmRegressionsBeforeTermCommit: number;
}

export class KafkaModel {
  readonly stats: ModelStats = { acked: 0, ackedOnce: 0, idempotentRetries: 0, batchesChecked: 0, consumerBatches: 0, audits: 0, hwmRegressionsBeforeTermCommit: 0 };
  private readonly parts: PartitionHistory[] = [];
  /** (broker, incarnation, partition) -> high watermark last seen. */
  private readonly hwmSeen = new Map<string, number>();
  /** partition -> highest high watermark a leader that had committed in its term exposed. */
  private readonly leaderHwm = new Map<number, { hwm: number; term: number }>();
  /** (partition, leader, term) that exposed a lower high watermark before committing in its term. */
  private readonly lowerBeforeCommit = new Set<string>();

  constructor(partitions: number) {
    for (let p = 0; p < partitions; p++) this.parts.push(new PartitionHistory(p));
  }

  history(p: number): PartitionHistory {
    return this.parts[p] as PartitionHistory;
  }

  maxAckedEnd(p: number): number {
    return this.history(p).maxAckedEnd;
  }

  acks(p: number): IterableIterator<Ack> {
    return this.history(p).acked.values();
  }

  /** A producer was acknowledged. */
  acked(a: Ack): void {
    const h = this.history(a.partition);
    if (a.acks === 1) {
      this.stats.ackedOnce++;
      return;
    }
    this.stats.acked++;
    if (a.producerId >= 0) {
      const key = `${a.producerId}/${a.sequence}`;
      const known = h.idempotent.get(key);
      if (known !== undefined && known !== a.base) {
        throw new InvariantViolation(
          'idempotent retry offset',
          `p${a.partition}: producer ${a.producerId} batch seq ${a.sequence} acknowledged at ${a.base}, earlier at ${known}`,
        );
      }
      if (known !== undefined) this.stats.idempotentRetries++;
      h.idempotent.set(key, a.base);
    }
    const prev = h.acked.get(a.base);
    if (prev !== undefined) {
      if (prev.last !== a.last || !prev.sent.equals(a.sent)) {
        throw new InvariantViolation('one batch per offset', `p${a.partition}: two different acknowledged batches at offset ${a.base}`);
      }
      return;
    }
    // Acknowledged ranges never overlap unless they are the same batch.
    for (const other of h.acked.values()) {
      if (other.base <= a.last && a.base <= other.last) {
        throw new InvariantViolation(
          'one batch per offset',
          `p${a.partition}: acknowledged [${a.base}, ${a.last}] overlaps acknowledged [${other.base}, ${other.last}]`,
        );
      }
    }
    h.acked.set(a.base, a);
    if (a.last + 1 > h.maxAckedEnd) h.maxAckedEnd = a.last + 1;
    const stored = h.byBase.get(a.base);
    if (stored !== undefined) this.matchAck(a, stored);
  }

  private matchAck(a: Ack, s: Stored): void {
    if (s.last !== a.last || !sameClientBytes(s.bytes, a.sent)) {
      throw new InvariantViolation(
        'acknowledged write lost',
        `p${a.partition}: acknowledged batch at ${a.base} (producer ${a.producerId} seq ${a.sequence}) differs from the committed batch there (${s.source})`,
      );
    }
  }

  /**
   * A committed batch as one replica (or a consumer) has it at `base`. `source` names who, for
   * the report. Called for every batch an audit or consumer reads below the high watermark.
   */
  committed(p: number, batch: Buffer, source: string): void {
    const h = this.history(p);
    this.stats.batchesChecked++;
    const base = readInt64(batch, BatchField.baseOffset);
    const last = base + batch.readInt32BE(BatchField.lastOffsetDelta);
    const known = h.byBase.get(base);
    if (known !== undefined) {
      if (known.last !== last || !known.bytes.equals(batch)) {
        throw new InvariantViolation('replicas agree on committed data', `p${p}: ${source} holds another batch at ${base} than ${known.source}`);
      }
    } else {
      const below = h.floorEntry(base);
      const above = h.ceilingEntry(base);
      if ((below !== undefined && below.last >= base) || (above !== undefined && above.base <= last)) {
        const o = below !== undefined && below.last >= base ? below : (above as Stored);
        throw new InvariantViolation(
          'replicas agree on committed data',
          `p${p}: ${source} has a batch [${base}, ${last}], ${o.source} has [${o.base}, ${o.last}] committed`,
        );
      }
      h.insert({ base, last, bytes: Buffer.from(batch), source });
      const a = h.acked.get(base);
      if (a !== undefined) this.matchAck(a, h.byBase.get(base) as Stored);
    }
    const producerId = readInt64(batch, BatchField.producerId);
    const attributes = batch.readInt16BE(BatchField.attributes);
    if (producerId >= 0 && (attributes & 0x20) === 0) {
      const key = `${producerId}/${batch.readInt32BE(BatchField.baseSequence)}`;
      const at = h.idempotent.get(key);
      if (at !== undefined && at !== base) {
        throw new InvariantViolation('idempotent batch stored once', `p${p}: producer ${producerId} batch ${key} stored at ${base} and at ${at} (${source})`);
      }
      h.idempotent.set(key, base);
    }
  }

  /**
   * After an audit read a replica's committed log from `start` to `hwm`: every acknowledged
   * batch in that range must have been among what it read.
   */
  auditComplete(p: number, source: string, start: number, hwm: number, seen: ReadonlySet<number>): void {
    this.stats.audits++;
    for (const a of this.history(p).acked.values()) {
      if (a.base >= start && a.last < hwm && !seen.has(a.base)) {
        throw new InvariantViolation('acknowledged write lost', `p${p}: ${source} committed through ${hwm} but lacks acknowledged batch [${a.base}, ${a.last}]`);
      }
    }
  }

  /** A replica's high watermark now (after every event). */
  highWatermark(broker: number, inc: number, p: number, hwm: number): void {
    const key = `${broker}/${inc}/${p}`;
    const prev = this.hwmSeen.get(key);
    if (prev !== undefined && hwm < prev) {
      throw new InvariantViolation('high watermark monotonic', `broker ${broker} p${p}: high watermark went from ${prev} to ${hwm}`);
    }
    this.hwmSeen.set(key, hwm);
  }

  /**
   * What a leader exposes; `settled` = it has committed an entry of its own term, so it knows
   * everything committed before it. Compared with the highest high watermark a leader of the
   * same or an older term exposed: a deposed leader that has not heard of its successor is
   * stale, not wrong (clients fence it by leader epoch). Before it has committed in its term a
   * new leader may still show the lower high watermark it had as a follower (Kafka's
   * KAFKA-2334); that is counted, not refused.
   */
  leaderHighWatermark(broker: number, term: number, p: number, hwm: number, settled: boolean): void {
    const best = this.leaderHwm.get(p) ?? { hwm: 0, term: 0 };
    if (hwm >= best.hwm) {
      this.leaderHwm.set(p, { hwm, term: Math.max(term, best.term) });
      return;
    }
    if (term < best.term) return;
    if (settled) {
      throw new InvariantViolation('high watermark monotonic', `p${p}: leader ${broker} of term ${term} exposes high watermark ${hwm} after a leader of term ${best.term} exposed ${best.hwm}`);
    }
    const key = `${p}/${broker}/${term}`;
    if (!this.lowerBeforeCommit.has(key)) {
      this.lowerBeforeCommit.add(key);
      this.stats.hwmRegressionsBeforeTermCommit++;
    }
  }
}
