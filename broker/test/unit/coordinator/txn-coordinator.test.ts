/**
 * The transaction coordinator's rules, over an in-memory state store and a recording marker
 * writer: epochs and fencing, the order of the transaction APIs, completion after markers,
 * resuming on load, timeouts on the coordinator's clock and expiration. The real store and
 * markers are exercised by the integration tests.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { TransactionCoordinator, type TxnMarkerWriter, type TxnStateStore } from '../../../src/coordinator/txn-coordinator.js';
import { decodeTxnKey, decodeTxnValue, type TopicPartitionRef, type TxnValue } from '../../../src/coordinator/txn-records.js';
import type { MarkerWrite } from '../../../src/coordinator/txn-peer-protocol.js';
import type { CoordinatorRecord, Scheduler } from '../../../src/coordinator/group-types.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

class MemoryStore implements TxnStateStore {
  records: Array<{ id: string; value: TxnValue | null }> = [];
  owned = true;
  failNext: KafkaError | null = null;
  ownership(): number {
    return this.owned ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
  }
  partitionFor(): number {
    return 0;
  }
  append(_id: string, records: readonly CoordinatorRecord[]): Promise<void> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      return Promise.reject(e);
    }
    for (const r of records) this.records.push({ id: decodeTxnKey(r.key), value: r.value === null ? null : decodeTxnValue(r.value) });
    return Promise.resolve();
  }
}

class RecordingMarkers implements TxnMarkerWriter {
  written: Array<Omit<MarkerWrite, 'partitions'> & { partitions: readonly TopicPartitionRef[] }> = [];
  /** Resolves writes only when released (to observe the Prepare states). */
  hold = false;
  private waiting: Array<() => void> = [];
  write(marker: Omit<MarkerWrite, 'partitions'>, partitions: readonly TopicPartitionRef[], active: () => boolean): Promise<boolean> {
    const done = (): boolean => {
      if (!active()) return false;
      this.written.push({ ...marker, partitions });
      return true;
    };
    if (!this.hold) return Promise.resolve(done());
    return new Promise((resolve) => this.waiting.push(() => resolve(done())));
  }
  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
  close(): void {}
}

/** A clock whose timers fire when it is advanced past them. */
function clock(start = 1_000_000): Scheduler & { advance(ms: number): void; pending(): number } {
  let now = start;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer: (ms, fn) => {
      const t = { at: now + ms, fn };
      timers.add(t);
      return t;
    },
    clearTimer: (t) => void timers.delete(t as { at: number; fn: () => void }),
    advance(ms: number) {
      now += ms;
      for (const t of [...timers]) {
        if (t.at > now) continue;
        timers.delete(t);
        t.fn();
      }
    },
    pending: () => timers.size,
  };
}

function setup(opts: { maxTimeoutMs?: number; idExpirationMs?: number } = {}) {
  const store = new MemoryStore();
  const markers = new RecordingMarkers();
  const time = clock();
  let nextPid = 1000;
  const c = new TransactionCoordinator({
    store,
    producerIds: { allocate: () => Promise.resolve(nextPid++) },
    markers,
    offsetsPartition: (group) => ({ topic: '__consumer_offsets', partition: group.length % 3 }),
    partitionExists: () => true,
    config: { maxTimeoutMs: opts.maxTimeoutMs ?? 60_000, idExpirationMs: opts.idExpirationMs ?? 3_600_000 },
    scheduler: time,
    logger: silent,
  });
  c.finishLoading(0, 7);
  return { c, store, markers, time };
}

const tp = (topic: string, partition: number): TopicPartitionRef => ({ topic, partition });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('TransactionCoordinator', () => {
  it('gives a new transactional id epoch 0, bumps it on every InitProducerId, and validates its arguments', async () => {
    const { c } = setup({ maxTimeoutMs: 10_000 });
    expect(await c.initProducerId('', 1000, null)).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    expect(await c.initProducerId('t', 0, null)).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
    expect(await c.initProducerId('t', 10_001, null)).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
    expect(await c.initProducerId('t', 5000, null)).toEqual({ errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
    expect(await c.initProducerId('t', 5000, null)).toEqual({ errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 });
    expect(c.stateOf('t')).toMatchObject({ state: 'Empty', timeoutMs: 5000, lastProducerEpoch: -1 });
  });

  it('answers NOT_COORDINATOR and COORDINATOR_LOAD_IN_PROGRESS when it is not the one to ask', async () => {
    const { c, store } = setup();
    store.owned = false;
    expect(await c.initProducerId('t', 1000, null)).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR });
    store.owned = true;
    c.unload(0);
    expect(await c.endTxn('t', 1, 0, true)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  });

  it('runs a transaction: add partitions (starting it), add offsets, commit through markers to Complete', async () => {
    const { c, markers, store, time } = setup();
    const { producerId, producerEpoch } = await c.initProducerId('t', 30_000, null);
    expect(await c.addPartitions('t', producerId, producerEpoch, [tp('a', 0), tp('a', 1)])).toBe(ErrorCode.NONE);
    expect(c.stateOf('t')).toMatchObject({ state: 'Ongoing', startTimestamp: 1_000_000 });
    expect(await c.addPartitions('t', producerId, producerEpoch, [tp('a', 1)])).toBe(ErrorCode.NONE);
    expect(await c.addOffsets('t', producerId, producerEpoch, 'grp')).toBe(ErrorCode.NONE);
    expect(c.verifyPartitions('t', producerId, producerEpoch, [tp('a', 0), tp('b', 0)])).toEqual(
      new Map([
        ['a\u00000', ErrorCode.NONE],
        ['b\u00000', ErrorCode.TRANSACTION_ABORTABLE],
      ]),
    );
    markers.hold = true;
    expect(await c.endTxn('t', producerId, producerEpoch, true)).toBe(ErrorCode.NONE);
    expect(c.stateOf('t')?.state).toBe('PrepareCommit');
    // Until the markers are written, requests wait for them; past the wait they are concurrent.
    const early = c.addPartitions('t', producerId, producerEpoch, [tp('a', 0)]);
    const retried = c.endTxn('t', producerId, producerEpoch, true);
    const reinit = c.initProducerId('t', 30_000, null);
    await settle();
    expect(time.pending()).toBe(3);
    time.advance(1000);
    expect(await early).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(await retried).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(await reinit).toMatchObject({ errorCode: ErrorCode.CONCURRENT_TRANSACTIONS });
    expect(await c.endTxn('t', producerId, producerEpoch, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(c.stateOf('t')?.state).toBe('PrepareCommit');
    // A retried commit that arrives while the markers are written is answered once they are.
    const waiting = c.endTxn('t', producerId, producerEpoch, true);
    await settle();
    markers.release();
    expect(await waiting).toBe(ErrorCode.NONE);
    expect(time.pending()).toBe(0);
    expect(c.stateOf('t')).toMatchObject({ state: 'CompleteCommit', partitions: [] });
    expect(markers.written).toEqual([
      { producerId, producerEpoch, coordinatorEpoch: 7, commit: true, partitions: [tp('a', 0), tp('a', 1), tp('__consumer_offsets', 0)] },
    ]);
    expect(await c.endTxn('t', producerId, producerEpoch, true)).toBe(ErrorCode.NONE);
    expect(await c.endTxn('t', producerId, producerEpoch, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(store.records.map((r) => r.value?.state)).toEqual(['Empty', 'Ongoing', 'Ongoing', 'PrepareCommit', 'CompleteCommit']);
  });

  it('refuses out-of-order and stale requests with the Kafka error codes', async () => {
    const { c } = setup();
    expect(await c.addPartitions('t', 1, 0, [tp('a', 0)])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const { producerId } = await c.initProducerId('t', 30_000, null);
    await c.initProducerId('t', 30_000, null);
    expect(await c.endTxn('t', producerId, 1, true)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await c.addPartitions('t', producerId + 1, 1, [tp('a', 0)])).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(await c.addPartitions('t', producerId, 0, [tp('a', 0)])).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await c.endTxn('t', producerId, 0, false)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await c.addOffsets('t', producerId, 1, '')).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(await c.endTxn('', producerId, 1, false)).toBe(ErrorCode.INVALID_REQUEST);
    expect(c.verifyPartitions('t', producerId, 0, [tp('a', 0)]).get('a\u00000')).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('an InitProducerId during a transaction aborts it with the epoch bumped, then bumps again', async () => {
    const { c, markers } = setup();
    const first = await c.initProducerId('t', 30_000, null);
    await c.addPartitions('t', first.producerId, first.producerEpoch, [tp('a', 0)]);
    expect(await c.initProducerId('t', 30_000, null)).toMatchObject({ errorCode: ErrorCode.CONCURRENT_TRANSACTIONS });
    await settle();
    await settle();
    expect(markers.written).toEqual([{ producerId: first.producerId, producerEpoch: 1, coordinatorEpoch: 7, commit: false, partitions: [tp('a', 0)] }]);
    expect(c.stateOf('t')?.state).toBe('CompleteAbort');
    expect(await c.initProducerId('t', 30_000, null)).toEqual({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 2 });
    // The zombie of epoch 0 is fenced everywhere.
    expect(await c.addPartitions('t', first.producerId, 0, [tp('a', 0)])).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('KIP-360: a producer naming its id and epoch is bumped, a retry of that bump gets the same epoch, an old one is fenced', async () => {
    const { c } = setup();
    const a = await c.initProducerId('t', 30_000, null);
    const b = await c.initProducerId('t', 30_000, { producerId: a.producerId, producerEpoch: a.producerEpoch });
    expect(b).toEqual({ errorCode: ErrorCode.NONE, producerId: a.producerId, producerEpoch: 1 });
    expect(await c.initProducerId('t', 30_000, { producerId: a.producerId, producerEpoch: 0 })).toEqual(b);
    await c.initProducerId('t', 30_000, null);
    expect(await c.initProducerId('t', 30_000, { producerId: a.producerId, producerEpoch: 1 })).toMatchObject({ errorCode: ErrorCode.PRODUCER_FENCED });
    expect(await c.initProducerId('t', 30_000, { producerId: 424242, producerEpoch: 0 })).toMatchObject({ errorCode: ErrorCode.PRODUCER_FENCED });
  });

  it('hands out a new producer id once the epoch is exhausted', async () => {
    const { c } = setup();
    const first = await c.initProducerId('t', 30_000, null);
    c.applyRecord(0, 't', { ...(c.stateOf('t') as TxnValue), producerEpoch: 32766 });
    c.finishLoading(0, 8);
    const next = await c.initProducerId('t', 30_000, null);
    expect(next.producerId).not.toBe(first.producerId);
    expect(next.producerEpoch).toBe(0);
    expect(c.stateOf('t')?.lastProducerId).toBe(first.producerId);
  });

  it('resumes a PrepareAbort found when loading, as the new coordinator epoch', async () => {
    const { c, markers } = setup();
    c.unload(0);
    c.applyRecord(0, 'x', {
      producerId: 5,
      producerEpoch: 3,
      lastProducerId: -1,
      lastProducerEpoch: -1,
      timeoutMs: 1000,
      state: 'PrepareAbort',
      partitions: [tp('a', 2)],
      startTimestamp: 10,
      updateTimestamp: 10,
    });
    c.finishLoading(0, 9);
    await settle();
    await settle();
    expect(markers.written).toEqual([{ producerId: 5, producerEpoch: 3, coordinatorEpoch: 9, commit: false, partitions: [tp('a', 2)] }]);
    expect(c.stateOf('x')?.state).toBe('CompleteAbort');
  });

  it('aborts a transaction past its timeout on its own clock, fencing the producer', async () => {
    const { c, time, markers } = setup();
    const p = await c.initProducerId('t', 2000, null);
    await c.addPartitions('t', p.producerId, p.producerEpoch, [tp('a', 0)]);
    time.advance(1999);
    expect(await c.abortTimedOut()).toBe(0);
    time.advance(2);
    expect(await c.abortTimedOut()).toBe(1);
    await settle();
    await settle();
    expect(markers.written[0]).toMatchObject({ producerEpoch: p.producerEpoch + 1, commit: false });
    expect(await c.endTxn('t', p.producerId, p.producerEpoch, true)).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('a failed state write changes nothing and tells the client to find its coordinator', async () => {
    const { c, store } = setup();
    const p = await c.initProducerId('t', 30_000, null);
    store.failNext = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved');
    expect(await c.addPartitions('t', p.producerId, p.producerEpoch, [tp('a', 0)])).toBe(ErrorCode.NOT_COORDINATOR);
    expect(c.stateOf('t')?.state).toBe('Empty');
    store.failNext = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'few');
    expect(await c.addPartitions('t', p.producerId, p.producerEpoch, [tp('a', 0)])).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  it('a request that waited for the previous transaction while leadership moved away answers NOT_COORDINATOR, not an unknown producer id', async () => {
    // A loaded CI run: the preferred replica took __transaction_state back while the next
    // transaction's AddPartitionsToTxn and EndTxn waited behind the previous one's completion;
    // the unload forgot the id and the waiting calls then found no state: kafkajs got
    // INVALID_PRODUCER_ID_MAPPING, which ends a transactional producer.
    const { c, markers, store } = setup();
    const p = await c.initProducerId('t', 30_000, null);
    await c.addPartitions('t', p.producerId, p.producerEpoch, [tp('a', 0)]);
    markers.hold = true;
    expect(await c.endTxn('t', p.producerId, p.producerEpoch, true)).toBe(ErrorCode.NONE);
    expect(c.stateOf('t')?.state).toBe('PrepareCommit');
    const add = c.addPartitions('t', p.producerId, p.producerEpoch, [tp('a', 0)]);
    const retry = c.endTxn('t', p.producerId, p.producerEpoch, true);
    const init = c.initProducerId('t', 30_000, { producerId: p.producerId, producerEpoch: p.producerEpoch });
    await settle();
    store.owned = false;
    c.unload(0);
    markers.release();
    expect(await add).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await retry).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await init).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR });
  });

  it('expires idle transactional ids and lists and describes the rest', async () => {
    const { c, time, store } = setup({ idExpirationMs: 10_000 });
    const a = await c.initProducerId('idle', 30_000, null);
    const b = await c.initProducerId('busy', 30_000, null);
    await c.addPartitions('busy', b.producerId, b.producerEpoch, [tp('a', 0), tp('b', 3)]);
    expect(c.list([], [], -1).transactions.map((t) => t.transactionalId).sort()).toEqual(['busy', 'idle']);
    expect(c.list(['Ongoing', 'Nope'], [], -1)).toEqual({ unknownStates: ['Nope'], transactions: [{ transactionalId: 'busy', producerId: b.producerId, state: 'Ongoing' }] });
    expect(c.list([], [a.producerId], -1).transactions.map((t) => t.transactionalId)).toEqual(['idle']);
    expect(c.describe('busy')).toMatchObject({ errorCode: ErrorCode.NONE, state: 'Ongoing', partitions: [tp('a', 0), tp('b', 3)] });
    time.advance(10_001);
    expect(await c.expireIdle()).toBe(1);
    expect(store.records[store.records.length - 1]).toEqual({ id: 'idle', value: null });
    expect(c.describe('idle').errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    expect(c.list([], [], 5000).transactions.map((t) => t.transactionalId)).toEqual(['busy']);
  });
});
