import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import type { BatchInfo } from '../../../src/log/types.js';
import {
  incrementSequence,
  MAX_CACHED_BATCHES,
  ProducerStateTable,
  type ProducerBatch,
} from '../../../src/coordinator/producer-state.js';

const INT32_MAX = 0x7fffffff;

function batch(producerId: number, producerEpoch: number, baseSequence: number, recordCount = 1): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, recordCount, isTransactional: false };
}

/** Appends like a partition leader would: check, then record at the next offsets. */
function appendAll(t: ProducerStateTable, batches: ProducerBatch[], start = 0): number {
  let next = start;
  for (const b of batches) {
    expect(t.check(b)).toEqual({ kind: 'append' });
    t.record(b, next, next + b.recordCount - 1);
    next += b.recordCount;
  }
  return next;
}

describe('ProducerStateTable', () => {
  it('accepts batches without a producer id untouched', () => {
    const t = new ProducerStateTable();
    expect(t.check(batch(-1, -1, -1))).toEqual({ kind: 'append' });
    t.record(batch(-1, -1, -1), 0, 0);
    expect(t.size).toBe(0);
  });

  it('accepts in-order sequences and reports a retried batch as a duplicate with its original offsets', () => {
    const t = new ProducerStateTable();
    appendAll(t, [batch(7, 0, 0, 3), batch(7, 0, 3, 2), batch(7, 0, 5, 1)], 100);
    expect(t.check(batch(7, 0, 3, 2))).toEqual({ kind: 'duplicate', baseOffset: 103, lastOffset: 104 });
    expect(t.check(batch(7, 0, 0, 3))).toEqual({ kind: 'duplicate', baseOffset: 100, lastOffset: 102 });
    expect(t.check(batch(7, 0, 6, 1))).toEqual({ kind: 'append' });
  });

  it('remembers only the last five batches for duplicate detection', () => {
    const t = new ProducerStateTable();
    const bs = Array.from({ length: MAX_CACHED_BATCHES + 1 }, (_, i) => batch(1, 0, i));
    appendAll(t, bs);
    // The oldest batch fell out of the cache: it is now simply out of order.
    const oldest = t.check(batch(1, 0, 0));
    expect(oldest.kind).toBe('error');
    if (oldest.kind === 'error') expect(oldest.code).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(t.check(batch(1, 0, 1))).toEqual({ kind: 'duplicate', baseOffset: 1, lastOffset: 1 });
  });

  it('rejects a sequence gap and a partial overlap with OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
    const t = new ProducerStateTable();
    appendAll(t, [batch(2, 0, 0, 5)]);
    const gap = t.check(batch(2, 0, 6));
    expect(gap).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    const overlap = t.check(batch(2, 0, 2, 5));
    expect(overlap).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
  });

  it('fences an older epoch with INVALID_PRODUCER_EPOCH', () => {
    const t = new ProducerStateTable();
    appendAll(t, [batch(3, 4, 0)]);
    expect(t.check(batch(3, 3, 1))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
  });

  it('requires a new epoch to start at sequence 0 and then forgets the old epoch', () => {
    const t = new ProducerStateTable();
    appendAll(t, [batch(3, 0, 0), batch(3, 0, 1)]);
    expect(t.check(batch(3, 1, 5))).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(t.check(batch(3, 1, 0))).toEqual({ kind: 'append' });
    t.record(batch(3, 1, 0), 2, 2);
    expect(t.epochOf(3)).toBe(1);
    expect(t.check(batch(3, 0, 2))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
    expect(t.check(batch(3, 1, 1))).toEqual({ kind: 'append' });
  });

  it('accepts any sequence from an unknown producer (state lost to retention, KIP-360)', () => {
    const t = new ProducerStateTable();
    expect(t.check(batch(9, 2, 1234))).toEqual({ kind: 'append' });
    t.record(batch(9, 2, 1234), 0, 0);
    expect(t.check(batch(9, 2, 1235))).toEqual({ kind: 'append' });
  });

  it('wraps the sequence at int32 max', () => {
    expect(incrementSequence(INT32_MAX, 1)).toBe(0);
    expect(incrementSequence(INT32_MAX - 1, 3)).toBe(1);
    const t = new ProducerStateTable();
    // A batch of 3 starting at INT32_MAX-1 covers MAX-1, MAX, 0: the next one starts at 1.
    t.record(batch(5, 0, INT32_MAX - 1, 3), 0, 2);
    expect(t.check(batch(5, 0, 1))).toEqual({ kind: 'append' });
    expect(t.check(batch(5, 0, INT32_MAX - 1, 3))).toEqual({ kind: 'duplicate', baseOffset: 0, lastOffset: 2 });
    const t2 = new ProducerStateTable();
    t2.record(batch(5, 0, INT32_MAX), 0, 0);
    expect(t2.check(batch(5, 0, 0))).toEqual({ kind: 'append' });
  });

  it('forgets the least recently written producer beyond its cap; a forgotten one is accepted again', () => {
    const t = new ProducerStateTable(2);
    t.record(batch(1, 0, 0), 0, 0);
    t.record(batch(2, 0, 0), 1, 1);
    t.record(batch(1, 0, 1), 2, 2); // producer 1 is now the most recent
    t.record(batch(3, 0, 0), 3, 3); // evicts producer 2
    expect(t.size).toBe(2);
    expect(t.epochOf(2)).toBeUndefined();
    expect(t.check(batch(2, 0, 17))).toEqual({ kind: 'append' });
    expect(t.check(batch(1, 0, 1))).toEqual({ kind: 'duplicate', baseOffset: 2, lastOffset: 2 });
    expect(() => new ProducerStateTable(0)).toThrow(RangeError);
  });

  it('rejects malformed sequence fields and a transactional batch without a producer id with clear messages', () => {
    const t = new ProducerStateTable();
    expect(t.check({ ...batch(-1, -1, -1), isTransactional: true })).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_RECORD });
    const badSeq = t.check(batch(1, 0, -1));
    expect(badSeq).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    if (badSeq.kind === 'error') expect(badSeq.message).toContain('baseSequence');
  });

  it('rebuilds the same state from the log batch headers, skipping control batches', async () => {
    const live = new ProducerStateTable();
    const infos: BatchInfo[] = [];
    let next = 0;
    for (const b of [batch(1, 0, 0, 2), batch(2, 0, 0, 1), batch(1, 0, 2, 3), batch(2, 1, 0, 1)]) {
      expect(live.check(b)).toEqual({ kind: 'append' });
      live.record(b, next, next + b.recordCount - 1);
      infos.push({
        baseOffset: next,
        lastOffset: next + b.recordCount - 1,
        partitionLeaderEpoch: 0,
        maxTimestamp: 0,
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        baseSequence: b.baseSequence,
        isTransactional: false,
        isControl: false,
        sizeInBytes: 100,
      });
      next += b.recordCount;
    }
    infos.push({ ...infos[0]!, baseOffset: next, lastOffset: next, isControl: true, producerId: 1, producerEpoch: 9 });
    async function* gen(): AsyncIterable<BatchInfo> {
      yield* infos;
    }
    const restored = new ProducerStateTable();
    await restored.restore(gen());
    expect(restored.snapshot()).toEqual(live.snapshot());
    expect(restored.check(batch(1, 0, 2, 3))).toEqual({ kind: 'duplicate', baseOffset: 3, lastOffset: 5 });
    expect(restored.check(batch(2, 0, 1))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
    const copy = ProducerStateTable.fromSnapshot(JSON.parse(JSON.stringify(restored.snapshot())));
    expect(copy.snapshot()).toEqual(live.snapshot());
  });

  describe('transactions', () => {
    const txn = (producerId: number, producerEpoch: number, baseSequence: number, recordCount = 1): ProducerBatch => ({
      ...batch(producerId, producerEpoch, baseSequence, recordCount),
      isTransactional: true,
    });
    const marker = (producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch = 0) => ({ producerId, producerEpoch, commit, coordinatorEpoch });

    it('opens a transaction at its first batch and closes it with a marker, keeping sequences across transactions', () => {
      const t = new ProducerStateTable();
      expect(t.firstOpenOffset()).toBeNull();
      appendAll(t, [txn(5, 0, 0, 2)], 10);
      t.record(txn(5, 0, 2), 12, 12);
      expect(t.hasOpenTransaction(5)).toBe(true);
      expect(t.firstOpenOffset()).toBe(10);
      expect(t.endTransaction(marker(5, 0, false))).toEqual({ producerId: 5, firstOffset: 10, commit: false });
      expect(t.firstOpenOffset()).toBeNull();
      expect(t.markerCount(5)).toBe(1);
      // The next transaction of the same epoch continues the sequence.
      expect(t.check(txn(5, 0, 3))).toEqual({ kind: 'append' });
      expect(t.check(txn(5, 0, 0))).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
      // A marker with no open transaction (an empty one, or a retry) ends nothing.
      expect(t.endTransaction(marker(5, 0, true)).firstOffset).toBe(-1);
    });

    it('keeps the oldest open transaction first for the last stable offset', () => {
      const t = new ProducerStateTable();
      t.record(txn(1, 0, 0), 0, 0);
      t.record(txn(2, 0, 0), 1, 1);
      t.record(txn(3, 0, 0), 2, 2);
      expect(t.firstOpenOffset()).toBe(0);
      t.endTransaction(marker(1, 0, true));
      expect(t.firstOpenOffset()).toBe(1);
      expect(t.openTransactions()).toEqual([
        { producerId: 2, firstOffset: 1 },
        { producerId: 3, firstOffset: 2 },
      ]);
    });

    it('refuses a plain batch, and a newer epoch, while the producer has a transaction open', () => {
      const t = new ProducerStateTable();
      t.record(txn(4, 2, 0), 0, 0);
      expect(t.check(batch(4, 2, 1))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_TXN_STATE });
      expect(t.check(txn(4, 3, 0))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_TXN_STATE });
      expect(t.check(txn(4, 1, 1))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
    });

    it('fences the old epoch when a marker bumps it, and refuses stale markers', () => {
      const t = new ProducerStateTable();
      t.record(txn(6, 0, 0), 0, 0);
      expect(t.checkMarker(marker(6, 1, false, 3))).toBeNull();
      t.endTransaction(marker(6, 1, false, 3));
      expect(t.epochOf(6)).toBe(1);
      expect(t.check(txn(6, 0, 1))).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
      expect(t.check(txn(6, 2, 0))).toEqual({ kind: 'append' });
      expect(t.checkMarker(marker(6, 0, true, 3))).toMatchObject({ code: ErrorCode.INVALID_PRODUCER_EPOCH });
      expect(t.checkMarker(marker(6, 1, true, 2))).toMatchObject({ code: ErrorCode.TRANSACTION_COORDINATOR_FENCED });
    });

    it('takes batches the brokers write themselves (no sequence) without sequence checks', () => {
      const t = new ProducerStateTable();
      const internal: ProducerBatch = { ...txn(8, 1, -1), internal: true };
      expect(t.check(internal)).toEqual({ kind: 'append' });
      t.record(internal, 0, 0);
      expect(t.hasOpenTransaction(8)).toBe(true);
      expect(t.check({ ...internal, producerEpoch: 0 })).toMatchObject({ kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH });
      // Without the flag a missing sequence is a client error.
      expect(t.check({ ...txn(9, 0, -1) })).toMatchObject({ kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    });

    it('never evicts a producer with an open transaction', () => {
      const t = new ProducerStateTable(2);
      t.record(txn(1, 0, 0), 0, 0);
      t.record(batch(2, 0, 0), 1, 1);
      t.record(batch(3, 0, 0), 2, 2);
      t.record(batch(4, 0, 0), 3, 3);
      expect(t.hasOpenTransaction(1)).toBe(true);
      expect(t.firstOpenOffset()).toBe(0);
      expect(t.epochOf(2)).toBeUndefined();
    });

    it('carries open transactions and coordinator epochs through a snapshot, and reads version 1 snapshots', () => {
      const t = new ProducerStateTable();
      t.record(txn(2, 0, 0), 7, 7);
      t.record(txn(1, 0, 0), 9, 9);
      t.endTransaction(marker(3, 4, true, 5));
      const copy = ProducerStateTable.fromSnapshot(JSON.parse(JSON.stringify(t.snapshot())));
      expect(copy.openTransactions()).toEqual([
        { producerId: 2, firstOffset: 7 },
        { producerId: 1, firstOffset: 9 },
      ]);
      expect(copy.checkMarker(marker(3, 4, true, 4))).toMatchObject({ code: ErrorCode.TRANSACTION_COORDINATOR_FENCED });
      const v1 = ProducerStateTable.fromSnapshot({ version: 1, producers: [{ producerId: 1, epoch: 2, batches: [] }] });
      expect(v1.epochOf(1)).toBe(2);
      expect(v1.firstOpenOffset()).toBeNull();
    });

    it('replaying the log over a snapshot taken later reopens the transaction its marker closes', () => {
      // The snapshot already holds the epoch the marker bumped to; the replayed data is older.
      const t = ProducerStateTable.fromSnapshot({ version: 2, producers: [{ producerId: 1, epoch: 1, batches: [], txnFirstOffset: -1, coordinatorEpoch: 0 }] });
      t.record(txn(1, 0, 0), 20, 20);
      expect(t.hasOpenTransaction(1)).toBe(true);
      expect(t.endTransaction(marker(1, 1, false))).toEqual({ producerId: 1, firstOffset: 20, commit: false });
    });
  });
});
