/**
 * The transaction coordinator (KIP-98), for the transactional ids whose `__transaction_state`
 * partition this broker leads: their state is loaded when the partition is, changed only by
 * writing the new state there first (acks=-1), and dropped when leadership moves.
 *
 * Rules, as Kafka's coordinator keeps them (transaction protocol v1: the epoch changes on
 * InitProducerId and on fencing, not on every transaction):
 * - InitProducerId: a new transactional id gets a producer id with epoch 0; an existing one gets
 *   its epoch bumped (a new producer id once the epoch is exhausted), which fences every older
 *   instance. An ongoing transaction is aborted first, with the epoch bumped to fence its
 *   producer, and the caller gets CONCURRENT_TRANSACTIONS until the abort completes (it retries
 *   and then gets the epoch bumped once more). With a producer id and epoch (v3+, KIP-360) the
 *   caller must be the current producer, or retrying its own last bump.
 * - AddPartitionsToTxn / AddOffsetsToTxn: the producer id and epoch must be current
 *   (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED); the first one starts the transaction (its
 *   start time is when the timeout counts from); during PrepareCommit/PrepareAbort they wait for
 *   the markers (up to PREPARED_WAIT_MS) and only then get CONCURRENT_TRANSACTIONS.
 * - EndTxn: Ongoing goes to PrepareCommit/PrepareAbort, which is written, answered, and then
 *   completed in the background: markers to every partition (txn-markers.ts), then
 *   CompleteCommit/CompleteAbort. A retried EndTxn of the same outcome is answered NONE (after
 *   completion, which it waits for as AddPartitionsToTxn does) or CONCURRENT_TRANSACTIONS (when
 *   that wait ran out); the other outcome is INVALID_TXN_STATE.
 * - A transaction Ongoing longer than its timeout is aborted by the coordinator on its own
 *   clock, fencing the producer's epoch. A coordinator that loads a partition resumes the
 *   PrepareCommit/PrepareAbort transactions it finds.
 * - Transactional ids idle for transactional.id.expiration.ms are removed (a tombstone).
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { CoordinatorLogger, CoordinatorRecord, Scheduler } from './group-types.js';
import { KeyedLock } from './keyed-lock.js';
import type { MarkerWrite } from './txn-peer-protocol.js';
import { encodeTxnKey, encodeTxnValue, TXN_STATES, type TopicPartitionRef, type TxnState, type TxnValue } from './txn-records.js';

/** Producer ids for new transactional ids (the controller's blocks). */
export interface TxnProducerIds {
  allocate(): Promise<number>;
}

export interface TxnCoordinatorConfig {
  /** transaction.max.timeout.ms: the largest timeout a producer may ask for. */
  readonly maxTimeoutMs: number;
  /** transactional.id.expiration.ms. */
  readonly idExpirationMs: number;
}

/** Where the state lives (internal-topic.ts over `__transaction_state`). */
export interface TxnStateStore {
  /** NONE, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS for the key's partition. */
  ownership(transactionalId: string): number;
  partitionFor(transactionalId: string): number;
  /** Durable (acks=-1) or throws KafkaError. */
  append(transactionalId: string, records: readonly CoordinatorRecord[]): Promise<void>;
}

/** Writes a transaction's markers (txn-markers.ts); false when it stopped before all were written. */
export interface TxnMarkerWriter {
  write(marker: Omit<MarkerWrite, 'partitions'>, partitions: readonly TopicPartitionRef[], active: () => boolean): Promise<boolean>;
  close(): void;
}

export interface TxnCoordinatorOptions {
  readonly store: TxnStateStore;
  readonly producerIds: TxnProducerIds;
  readonly markers: TxnMarkerWriter;
  /** The `__consumer_offsets` partition of a group (AddOffsetsToTxn adds it). */
  readonly offsetsPartition: (groupId: string) => TopicPartitionRef;
  readonly partitionExists: (topic: string, partition: number) => boolean;
  readonly config: TxnCoordinatorConfig;
  readonly scheduler: Scheduler;
  readonly logger: CoordinatorLogger;
}

export interface InitResult {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface TxnDescription {
  readonly errorCode: number;
  readonly transactionalId: string;
  readonly state: string;
  readonly timeoutMs: number;
  readonly startTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly partitions: readonly TopicPartitionRef[];
}

export interface TxnListing {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly state: string;
}

interface TxnEntry {
  readonly id: string;
  readonly partition: number;
  /** Leader epoch of the state partition when loaded (the coordinator epoch markers carry). */
  readonly coordinatorEpoch: number;
  meta: TxnValue;
  /** Markers of a PrepareCommit/PrepareAbort are being written. */
  completing: boolean;
  /** Resolves when the current completion attempt ends (written or given up). */
  completion?: Promise<void>;
}

const NO_EPOCH = -1;
/** Kafka's limit: an epoch of Short.MAX_VALUE - 1 gets a new producer id on the next bump. */
const EXHAUSTED_EPOCH = 32766;
const COMPLETION_RETRY_MS = 500;
/**
 * How long a request that finds the previous transaction still writing its markers waits for
 * them before it is answered CONCURRENT_TRANSACTIONS. Producers start the next transaction the
 * moment EndTxn returns, so without the wait nearly every AddPartitionsToTxn after a commit fails
 * once. That costs a client retry, and kafkajs retries a multi-broker send badly: a partition
 * whose produce is still in flight to another broker is sent again with the next sequence
 * number, which stores it twice.
 */
const PREPARED_WAIT_MS = 1000;

const tpKey = (p: TopicPartitionRef): string => `${p.topic}\u0000${p.partition}`;

export function isTxnState(s: string): s is TxnState {
  return (TXN_STATES as readonly string[]).includes(s);
}

/** What a failed state write tells the client. */
function storeError(err: unknown): number {
  if (err instanceof KafkaError) {
    if (err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER || err.code === ErrorCode.NOT_COORDINATOR) return ErrorCode.NOT_COORDINATOR;
    if (err.code === ErrorCode.MESSAGE_TOO_LARGE || err.code === ErrorCode.RECORD_LIST_TOO_LARGE) return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
  return ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnEntry>();
  private readonly lock = new KeyedLock();
  /** Coordinator epoch of every state partition loaded here. */
  private readonly epochs = new Map<number, number>();
  private closed = false;

  constructor(private readonly opts: TxnCoordinatorOptions) {}

  // ------------------------------------------------------------ loading

  /** A record read back while partition `partition` loads (in log order). */
  applyRecord(partition: number, transactionalId: string, value: TxnValue | null): void {
    if (value === null) this.txns.delete(transactionalId);
    else this.txns.set(transactionalId, { id: transactionalId, partition, coordinatorEpoch: NO_EPOCH, meta: value, completing: false });
  }

  /** The partition's state is loaded, as coordinator epoch `epoch`: resume what was half done. */
  finishLoading(partition: number, epoch: number): number {
    this.epochs.set(partition, epoch);
    let n = 0;
    for (const [id, e] of this.txns) {
      if (e.partition !== partition) continue;
      const fresh: TxnEntry = { ...e, coordinatorEpoch: epoch, completing: false, completion: undefined };
      this.txns.set(id, fresh);
      n++;
      if (fresh.meta.state === 'PrepareCommit' || fresh.meta.state === 'PrepareAbort') this.complete(fresh);
    }
    return n;
  }

  /** This broker no longer leads the partition: forget its transactional ids. */
  unload(partition: number): number {
    this.epochs.delete(partition);
    let n = 0;
    for (const [id, e] of this.txns) {
      if (e.partition !== partition) continue;
      this.txns.delete(id);
      n++;
    }
    return n;
  }

  /** Transactional ids of a partition being loaded must not be served yet. */
  forgetLoading(partition: number): void {
    this.unload(partition);
  }

  private owner(transactionalId: string): number {
    const own = this.opts.store.ownership(transactionalId);
    if (own !== ErrorCode.NONE) return own;
    return this.epochs.has(this.opts.store.partitionFor(transactionalId)) ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /**
   * Runs `fn` under the id's lock once this broker still coordinates it there: the wait for the
   * lock (or for a prepared transaction's markers) may outlast this broker's leadership, and an
   * id unloaded meanwhile must be answered NOT_COORDINATOR (the client asks the new coordinator),
   * never INVALID_PRODUCER_ID_MAPPING as if it were unknown.
   */
  private whileOwned<T>(transactionalId: string, refuse: (code: number) => T, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(transactionalId, () => {
      const own = this.owner(transactionalId);
      return own !== ErrorCode.NONE ? Promise.resolve(refuse(own)) : fn();
    });
  }

  /** Writes `next` for `e` (or a new id) and adopts it; the error code when that failed. */
  private async persist(id: string, e: TxnEntry | undefined, next: TxnValue): Promise<{ code: number; entry?: TxnEntry }> {
    const partition = this.opts.store.partitionFor(id);
    const epoch = e?.coordinatorEpoch ?? this.epochs.get(partition);
    if (epoch === undefined) return { code: ErrorCode.NOT_COORDINATOR };
    try {
      await this.opts.store.append(id, [{ key: encodeTxnKey(id), value: encodeTxnValue(next) }]);
    } catch (err) {
      this.opts.logger.warn({ transactionalId: id, err: err instanceof Error ? err.message : String(err) }, 'writing transaction state failed');
      return { code: storeError(err) };
    }
    // Leadership may have moved while the write was in flight (a new coordinator has loaded it).
    if (this.epochs.get(partition) !== epoch || (e !== undefined && this.txns.get(id) !== e)) return { code: ErrorCode.NOT_COORDINATOR };
    const entry: TxnEntry = e ?? { id, partition, coordinatorEpoch: epoch, meta: next, completing: false };
    entry.meta = next;
    this.txns.set(id, entry);
    return { code: ErrorCode.NONE, entry };
  }

  // ------------------------------------------------------------ InitProducerId

  async initProducerId(transactionalId: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > this.opts.config.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const own = this.owner(transactionalId);
    if (own !== ErrorCode.NONE) return fail(own);
    await this.untilCompleted(transactionalId);
    return this.whileOwned(transactionalId, fail, async (): Promise<InitResult> => {
      const e = this.txns.get(transactionalId);
      const now = this.opts.scheduler.now();
      const m: TxnValue = e?.meta ?? {
        producerId: -1,
        producerEpoch: NO_EPOCH,
        lastProducerId: -1,
        lastProducerEpoch: NO_EPOCH,
        timeoutMs,
        state: 'Empty',
        partitions: [],
        startTimestamp: -1,
        updateTimestamp: now,
      };
      if (expected !== null && m.producerEpoch !== NO_EPOCH) {
        const valid =
          expected.producerId === m.producerId || (expected.producerId === m.lastProducerId && expected.producerEpoch >= EXHAUSTED_EPOCH);
        if (!valid) return fail(ErrorCode.PRODUCER_FENCED);
      }
      switch (m.state) {
        case 'PrepareCommit':
        case 'PrepareAbort':
        case 'PrepareEpochFence':
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        case 'Ongoing': {
          const r = await this.fenceAndAbort(transactionalId);
          return fail(r === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : r);
        }
        case 'Dead':
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        case 'Empty':
        case 'CompleteCommit':
        case 'CompleteAbort':
          break;
      }
      let next: TxnValue;
      const base = { timeoutMs, state: 'Empty' as const, partitions: [], startTimestamp: -1, updateTimestamp: now };
      if (m.producerId < 0 || (m.producerEpoch >= EXHAUSTED_EPOCH && (expected === null || expected.producerEpoch === m.producerEpoch))) {
        let producerId: number;
        try {
          producerId = await this.opts.producerIds.allocate();
        } catch (err) {
          this.opts.logger.error({ err }, 'producer id allocation failed');
          return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
        next = {
          ...base,
          producerId,
          producerEpoch: 0,
          lastProducerId: m.producerId,
          lastProducerEpoch: expected !== null && m.producerId >= 0 ? m.producerEpoch : NO_EPOCH,
        };
      } else if (expected === null) {
        next = { ...base, producerId: m.producerId, producerEpoch: m.producerEpoch + 1, lastProducerId: m.lastProducerId, lastProducerEpoch: NO_EPOCH };
      } else if (expected.producerEpoch === m.producerEpoch) {
        next = { ...base, producerId: m.producerId, producerEpoch: m.producerEpoch + 1, lastProducerId: m.lastProducerId, lastProducerEpoch: m.producerEpoch };
      } else if (expected.producerEpoch === m.lastProducerEpoch) {
        // A retry of a bump whose answer was lost: the same epoch again.
        return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
      } else {
        return fail(ErrorCode.PRODUCER_FENCED);
      }
      const w = await this.persist(transactionalId, e, next);
      if (w.code !== ErrorCode.NONE) return fail(w.code);
      this.opts.logger.info({ transactionalId, producerId: next.producerId, producerEpoch: next.producerEpoch }, 'initialized transactional producer');
      return { errorCode: ErrorCode.NONE, producerId: next.producerId, producerEpoch: next.producerEpoch };
    });
  }

  /**
   * Aborts the ongoing transaction of `id` with the producer epoch bumped (which fences the
   * producer at every partition its markers reach). Runs under the id's lock.
   */
  private async fenceAndAbort(id: string): Promise<number> {
    const e = this.txns.get(id);
    if (e === undefined || e.meta.state !== 'Ongoing') return ErrorCode.NONE;
    const m = e.meta;
    const next: TxnValue = { ...m, producerEpoch: m.producerEpoch + 1, lastProducerEpoch: NO_EPOCH, state: 'PrepareAbort', updateTimestamp: this.opts.scheduler.now() };
    const w = await this.persist(id, e, next);
    if (w.code !== ErrorCode.NONE || w.entry === undefined) return w.code;
    this.opts.logger.info({ transactionalId: id, producerId: m.producerId, epoch: next.producerEpoch }, 'aborting the ongoing transaction and fencing its producer');
    this.complete(w.entry);
    return ErrorCode.NONE;
  }

  // ------------------------------------------------------------ AddPartitionsToTxn / AddOffsetsToTxn

  /** Checks the producer against the id's state; null when it may go on, else the error. */
  private check(e: TxnEntry | undefined, producerId: number, producerEpoch: number): number | null {
    if (e === undefined || e.meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (e.meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (e.meta.state === 'PrepareCommit' || e.meta.state === 'PrepareAbort' || e.meta.state === 'PrepareEpochFence') return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (e.meta.state === 'Dead') return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    return null;
  }

  /** Adds partitions to the transaction (starting it); one code for all of them. */
  async addPartitions(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly TopicPartitionRef[]): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const own = this.owner(transactionalId);
    if (own !== ErrorCode.NONE) return own;
    await this.untilCompleted(transactionalId);
    return this.whileOwned(transactionalId, (code) => code, async () => {
      const e = this.txns.get(transactionalId);
      const refused = this.check(e, producerId, producerEpoch);
      if (refused !== null || e === undefined) return refused ?? ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      const m = e.meta;
      const have = new Set(m.partitions.map(tpKey));
      const added = partitions.filter((p) => !have.has(tpKey(p)));
      if (m.state === 'Ongoing' && added.length === 0) return ErrorCode.NONE;
      const unique = new Map(added.map((p) => [tpKey(p), p]));
      const now = this.opts.scheduler.now();
      const starting = m.state !== 'Ongoing';
      const next: TxnValue = {
        ...m,
        state: 'Ongoing',
        partitions: [...m.partitions, ...unique.values()],
        startTimestamp: starting ? now : m.startTimestamp,
        updateTimestamp: now,
      };
      return (await this.persist(transactionalId, e, next)).code;
    });
  }

  /**
   * KIP-890: whether each partition is in the producer's ongoing transaction (NONE), or why not
   * (TRANSACTION_ABORTABLE when it was never added); changes nothing.
   */
  verifyPartitions(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly TopicPartitionRef[]): Map<string, number> {
    const all = (code: number): Map<string, number> => new Map(partitions.map((p) => [tpKey(p), code]));
    if (transactionalId === '') return all(ErrorCode.INVALID_REQUEST);
    const own = this.owner(transactionalId);
    if (own !== ErrorCode.NONE) return all(own);
    const e = this.txns.get(transactionalId);
    if (e === undefined || e.meta.producerId !== producerId) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (e.meta.producerEpoch !== producerEpoch) return all(ErrorCode.PRODUCER_FENCED);
    if (e.meta.state === 'PrepareCommit' || e.meta.state === 'PrepareAbort') return all(ErrorCode.CONCURRENT_TRANSACTIONS);
    const have = new Set(e.meta.state === 'Ongoing' ? e.meta.partitions.map(tpKey) : []);
    return new Map(partitions.map((p) => [tpKey(p), have.has(tpKey(p)) ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE]));
  }

  /** AddOffsetsToTxn: the group's offsets partition joins the transaction. */
  addOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): Promise<number> {
    if (groupId === '') return Promise.resolve(ErrorCode.INVALID_GROUP_ID);
    return this.addPartitions(transactionalId, producerId, producerEpoch, [this.opts.offsetsPartition(groupId)]);
  }

  // ------------------------------------------------------------ EndTxn

  async endTxn(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const own = this.owner(transactionalId);
    if (own !== ErrorCode.NONE) return own;
    // Only a retry of the same outcome is answered differently once the markers are written.
    if (this.txns.get(transactionalId)?.meta.state === (commit ? 'PrepareCommit' : 'PrepareAbort')) await this.untilCompleted(transactionalId);
    return this.whileOwned(transactionalId, (code) => code, async () => {
      const e = this.txns.get(transactionalId);
      if (e === undefined || e.meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (e.meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
      const m = e.meta;
      switch (m.state) {
        case 'Ongoing': {
          const next: TxnValue = { ...m, state: commit ? 'PrepareCommit' : 'PrepareAbort', updateTimestamp: this.opts.scheduler.now() };
          const w = await this.persist(transactionalId, e, next);
          if (w.code === ErrorCode.NONE && w.entry !== undefined) this.complete(w.entry);
          return w.code;
        }
        case 'CompleteCommit':
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        case 'PrepareCommit':
          return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
        case 'PrepareAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
        case 'Empty':
        case 'Dead':
        case 'PrepareEpochFence':
          return ErrorCode.INVALID_TXN_STATE;
      }
    });
  }

  /**
   * Until `id`'s prepared transaction has been completed (or its completion given up), at most
   * PREPARED_WAIT_MS; at once when nothing is being completed. The caller checks the state again.
   */
  private async untilCompleted(id: string): Promise<void> {
    const completion = this.txns.get(id)?.completion;
    if (completion === undefined) return;
    let timer: unknown;
    await Promise.race([completion, new Promise<void>((resolve) => (timer = this.opts.scheduler.setTimer(PREPARED_WAIT_MS, resolve)))]);
    this.opts.scheduler.clearTimer(timer);
  }

  /** Writes the markers of a PrepareCommit/PrepareAbort, then its Complete state (in the background). */
  private complete(e: TxnEntry): void {
    if (e.completing || this.closed) return;
    e.completing = true;
    let ended = (): void => undefined;
    e.completion = new Promise<void>((resolve) => (ended = resolve));
    const finish = (): void => {
      e.completing = false;
      e.completion = undefined;
      ended();
    };
    const prepared = e.meta;
    const commit = prepared.state === 'PrepareCommit';
    const stillOurs = (): boolean => !this.closed && this.txns.get(e.id) === e && this.epochs.get(e.partition) === e.coordinatorEpoch && e.meta === prepared;
    void (async () => {
      const written = await this.opts.markers.write(
        { producerId: prepared.producerId, producerEpoch: prepared.producerEpoch, coordinatorEpoch: e.coordinatorEpoch, commit },
        prepared.partitions,
        stillOurs,
      );
      if (!written) {
        finish();
        return;
      }
      for (;;) {
        const code = await this.lock.run(e.id, async () => {
          if (!stillOurs()) return ErrorCode.NONE;
          const next: TxnValue = { ...prepared, state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: [], updateTimestamp: this.opts.scheduler.now() };
          return (await this.persist(e.id, e, next)).code;
        });
        if (code === ErrorCode.NONE || code === ErrorCode.NOT_COORDINATOR || !stillOurs()) break;
        await new Promise((r) => setTimeout(r, COMPLETION_RETRY_MS).unref());
      }
      finish();
      this.opts.logger.debug({ transactionalId: e.id, commit, partitions: prepared.partitions.length }, 'transaction completed');
    })().catch((err: unknown) => {
      finish();
      this.opts.logger.error({ err, transactionalId: e.id }, 'completing a transaction failed');
    });
  }

  // ------------------------------------------------------------ timers

  /** Aborts transactions Ongoing past their timeout (coordinator clock); returns how many. */
  async abortTimedOut(): Promise<number> {
    const now = this.opts.scheduler.now();
    let n = 0;
    for (const e of [...this.txns.values()]) {
      const m = e.meta;
      if (m.state !== 'Ongoing' || !this.epochs.has(e.partition) || m.startTimestamp + m.timeoutMs > now) continue;
      const code = await this.lock.run(e.id, async () => {
        const cur = this.txns.get(e.id);
        if (cur === undefined || cur.meta.state !== 'Ongoing' || cur.meta.startTimestamp + cur.meta.timeoutMs > this.opts.scheduler.now()) return -1;
        return this.fenceAndAbort(e.id);
      });
      if (code === ErrorCode.NONE) {
        n++;
        this.opts.logger.info({ transactionalId: e.id, producerId: m.producerId, timeoutMs: m.timeoutMs }, 'transaction timed out; aborted');
      }
    }
    return n;
  }

  /** Removes transactional ids idle (no transaction) for longer than their expiration. */
  async expireIdle(): Promise<number> {
    const now = this.opts.scheduler.now();
    let n = 0;
    for (const e of [...this.txns.values()]) {
      const idle = e.meta.state === 'Empty' || e.meta.state === 'CompleteCommit' || e.meta.state === 'CompleteAbort';
      if (!idle || e.meta.updateTimestamp + this.opts.config.idExpirationMs > now || !this.epochs.has(e.partition)) continue;
      await this.lock.run(e.id, async () => {
        if (this.txns.get(e.id) !== e || e.meta.updateTimestamp + this.opts.config.idExpirationMs > this.opts.scheduler.now()) return;
        try {
          await this.opts.store.append(e.id, [{ key: encodeTxnKey(e.id), value: null }]);
          if (this.txns.get(e.id) === e) this.txns.delete(e.id);
          n++;
        } catch (err) {
          this.opts.logger.warn({ transactionalId: e.id, err: err instanceof Error ? err.message : String(err) }, 'expiring a transactional id failed');
        }
      });
    }
    return n;
  }

  // ------------------------------------------------------------ DescribeTransactions / ListTransactions

  describe(transactionalId: string): TxnDescription {
    const none = (errorCode: number): TxnDescription => ({
      errorCode,
      transactionalId,
      state: '',
      timeoutMs: 0,
      startTimestamp: -1,
      producerId: -1,
      producerEpoch: -1,
      partitions: [],
    });
    if (transactionalId === '') return none(ErrorCode.INVALID_REQUEST);
    const own = this.owner(transactionalId);
    if (own !== ErrorCode.NONE) return none(own);
    const e = this.txns.get(transactionalId);
    if (e === undefined || e.meta.state === 'Dead') return none(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const m = e.meta;
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      state: m.state,
      timeoutMs: m.timeoutMs,
      startTimestamp: m.startTimestamp,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      partitions: m.partitions,
    };
  }

  /** The transactional ids coordinated here, filtered as ListTransactions asks. */
  list(states: readonly string[], producerIds: readonly number[], minDurationMs: number): { unknownStates: string[]; transactions: TxnListing[] } {
    const unknownStates = states.filter((s) => !isTxnState(s));
    const wanted = new Set(states.filter(isTxnState));
    const pids = new Set(producerIds);
    const now = this.opts.scheduler.now();
    const transactions: TxnListing[] = [];
    for (const e of this.txns.values()) {
      if (!this.epochs.has(e.partition)) continue;
      const m = e.meta;
      if (states.length > 0 && !wanted.has(m.state)) continue;
      if (pids.size > 0 && !pids.has(m.producerId)) continue;
      if (minDurationMs >= 0 && (m.startTimestamp < 0 || now - m.startTimestamp < minDurationMs)) continue;
      transactions.push({ transactionalId: e.id, producerId: m.producerId, state: m.state });
    }
    return { unknownStates, transactions };
  }

  /** State of a transactional id (tests, admin). */
  stateOf(transactionalId: string): TxnValue | undefined {
    return this.txns.get(transactionalId)?.meta;
  }

  close(): void {
    this.closed = true;
    this.opts.markers.close();
  }
}
