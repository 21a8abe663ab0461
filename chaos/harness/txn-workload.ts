/**
 * The transactional workload: kafkajs transactional producers (one transactional.id each), each
 * transaction writing unique values to two partitions and then committing or, one time in four,
 * aborting; and a read_committed consumer recording what it was given. Every transaction is one
 * `txn` operation of its producer's process:
 *   ok    the EndTxn named by `end` (commit or abort) was acknowledged
 *   fail  no commit was ever sent (a send failed and the abort was not acknowledged either), so
 *         the transaction can only end aborted: by the coordinator's timeout, or by the fencing
 *         InitProducerId of the producer that replaces this one
 *   info  the commit was sent and its answer is unknown (a crash or cut mid-EndTxn)
 * A producer whose transaction failed in any way is replaced by a new one with the same
 * transactional.id, which fences the old one and makes the coordinator finish or abort what it
 * left open.
 *
 * Each producer owns its partitions (producer i writes 2i and 2i+1) because kafkajs's
 * read_committed filter walks the broker's aborted-transactions list assuming it is sorted by
 * first offset, while Kafka (and Chronik) sort it by marker offset: with two producers' aborted
 * transactions overlapping in one partition kafkajs hands out aborted records itself, which the
 * checker would blame on the broker. With one producer id per partition the two orders agree.
 */
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { sleep } from '../../e2e/lib/exec.js';
import { describeError, type HistoryRecorder } from './recorder.js';

export interface TxnWorkloadOptions {
  readonly topic: string;
  readonly producers: number;
  /** 0 or 1: a read_committed consumer in its own group. */
  readonly consumers: number;
  readonly group: string;
  readonly rng: () => number;
  /** transactional.id of producer i is `<prefix>-<i>`; default `chaos-txn`. */
  readonly idPrefix?: string;
}

export const TXN_PARTITIONS_PER_PRODUCER = 2;
const OP_TIMEOUT_MS = 25_000;
/** Short, so that a transaction its producer abandoned is aborted by the coordinator within the run. */
const TRANSACTION_TIMEOUT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function txnPartitions(producers: number): number {
  return producers * TXN_PARTITIONS_PER_PRODUCER;
}

type Decision = 'commit' | 'abort';

export class TxnWorkload {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly consumers: import('kafkajs').Consumer[] = [];
  /** Next offset the read_committed consumer has gone past, per partition (control batches included). */
  readonly reached = new Map<number, number>();
  readonly outcomes = { committed: 0, aborted: 0, failed: 0, unknown: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly rec: HistoryRecorder,
    readonly opts: TxnWorkloadOptions,
  ) {}

  private transactionalId(i: number): string {
    return `${this.opts.idPrefix ?? 'chaos-txn'}-${i}`;
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.producers; i++) this.loops.push(this.producerLoop(i));
    if (this.opts.consumers > 0) await this.startConsumer();
  }

  private newProducer(i: number): Producer {
    return this.kafka.producer({
      transactionalId: this.transactionalId(i),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      allowAutoTopicCreation: false,
      retry: { retries: 6, initialRetryTime: 200, maxRetryTime: 2000 },
    });
  }

  private async producerLoop(i: number): Promise<void> {
    const name = `txn-producer-${i}`;
    const id = this.transactionalId(i);
    const parts = Array.from({ length: TXN_PARTITIONS_PER_PRODUCER }, (_, k) => i * TXN_PARTITIONS_PER_PRODUCER + k);
    let producer: Producer | undefined;
    let n = 0;
    while (!this.stopping) {
      if (!producer) {
        const p = this.newProducer(i);
        try {
          await withTimeout(p.connect(), OP_TIMEOUT_MS, 'producer connect');
          producer = p;
        } catch {
          void p.disconnect().catch(() => undefined);
          await sleep(500);
          continue;
        }
      }
      const decision: Decision = this.opts.rng() < 0.25 ? 'abort' : 'commit';
      const count = 2 + Math.floor(this.opts.rng() * 3);
      const writes: [number, string][] = Array.from({ length: count }, (_, k) => [parts[k % parts.length] ?? 0, `${id}-${n}-${k}`]);
      n++;
      const ok = await this.transaction(producer, name, id, decision, writes);
      if (ok) {
        await sleep(5);
      } else {
        void producer.disconnect().catch(() => undefined);
        producer = undefined;
        await sleep(200);
      }
    }
    if (producer) await producer.disconnect().catch(() => undefined);
  }

  /** One transaction as one `txn` operation; false when the producer must be replaced. */
  private async transaction(producer: Producer, name: string, id: string, decision: Decision, writes: readonly [number, string][]): Promise<boolean> {
    const { topic } = this.opts;
    const base = { id, decision, writes };
    this.rec.record(name, 'invoke', 'txn', { topic, value: base });
    const sent: [number, string, number][] = [];
    let txn: Transaction | undefined;
    let endSent: Decision | undefined;
    try {
      txn = await withTimeout(producer.transaction(), OP_TIMEOUT_MS, 'begin transaction');
      for (const [partition, value] of writes) {
        const t = txn;
        const res = await withTimeout(t.send({ topic, acks: -1, timeout: 10_000, messages: [{ value, partition }] }), OP_TIMEOUT_MS, 'transactional send');
        const md = res.find((r) => r.partition === partition);
        if (!md || md.errorCode !== 0 || md.baseOffset === undefined) throw new Error(`the produce response for partition ${partition} has no offset`);
        sent.push([partition, value, Number(md.baseOffset)]);
      }
      endSent = decision;
      await withTimeout(decision === 'commit' ? txn.commit() : txn.abort(), OP_TIMEOUT_MS, `EndTxn ${decision}`);
      this.rec.record(name, 'ok', 'txn', { topic, value: { ...base, end: decision, sent } });
      if (decision === 'commit') this.outcomes.committed++;
      else this.outcomes.aborted++;
      return true;
    } catch (e) {
      const error = describeError(e);
      if (endSent === 'commit') {
        this.rec.record(name, 'info', 'txn', { topic, value: { ...base, end: 'commit', sent }, error });
        this.outcomes.unknown++;
        return false;
      }
      // No commit went out, so this transaction can only end aborted; an acknowledged abort says so now.
      if (txn && endSent === undefined) {
        try {
          await withTimeout(txn.abort(), OP_TIMEOUT_MS, 'EndTxn abort');
          this.rec.record(name, 'ok', 'txn', { topic, value: { ...base, end: 'abort', sent }, error });
          this.outcomes.aborted++;
          return false;
        } catch (e2) {
          this.rec.record(name, 'fail', 'txn', { topic, value: { ...base, end: 'none', sent }, error: `${error}; then the abort: ${describeError(e2)}` });
          this.outcomes.failed++;
          return false;
        }
      }
      this.rec.record(name, 'fail', 'txn', { topic, value: { ...base, end: endSent === 'abort' ? 'abort-unacknowledged' : 'none', sent }, error });
      this.outcomes.failed++;
      return false;
    }
  }

  private async startConsumer(): Promise<void> {
    const name = 'txn-consumer-0';
    const { topic, group } = this.opts;
    const consumer = this.kafka.consumer({
      groupId: group,
      readUncommitted: false,
      sessionTimeout: 10_000,
      rebalanceTimeout: 15_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.rec.record(name, 'ok', 'assign', { topic, value: e.payload.memberAssignment[topic] ?? [] }));
    consumer.on(consumer.events.CRASH, (e) => this.rec.record(name, 'info', 'consumer-crash', { error: describeError(e.payload.error), value: { restart: e.payload.restart } }));
    // Fired also for fetches that held only markers or aborted records, which eachBatch never sees.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.topic !== topic) return;
      const next = Number(e.payload.lastOffset) + 1;
      this.reached.set(e.payload.partition, Math.max(this.reached.get(e.payload.partition) ?? 0, next));
    });
    this.consumers.push(consumer);
    try {
      await withTimeout(consumer.connect(), 30_000, 'txn consumer connect');
      await withTimeout(consumer.subscribe({ topic, fromBeginning: true }), 30_000, 'subscribe');
      await consumer.run({
        // Its offsets are not checked; committing them only spares it rereading the topic after a rebalance.
        autoCommit: true,
        eachBatch: async ({ batch }) => {
          if (batch.messages.length === 0) return;
          this.rec.record(name, 'ok', 'txn-poll', { topic, partition: batch.partition, value: batch.messages.map((m) => [Number(m.offset), m.value?.toString('utf8') ?? '']) });
        },
      });
    } catch (e) {
      this.rec.record(name, 'info', 'consumer-start', { error: describeError(e) });
    }
  }

  async stopProducers(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /**
   * For each transactional.id, a new producer's InitProducerId: it fences whatever producer was
   * last, and the coordinator aborts (or completes) the transaction it left open, so the last
   * stable offset can reach the high watermark before the final read_committed read.
   */
  async closeTransactions(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.opts.producers }, async (_, i) => {
        const name = `txn-closer-${i}`;
        await this.rec.op(name, 'txn-init', { value: this.transactionalId(i) }, async () => {
          const p = this.newProducer(i);
          try {
            await withTimeout(p.connect(), OP_TIMEOUT_MS, 'producer connect');
            const t = await withTimeout(p.transaction(), OP_TIMEOUT_MS, 'InitProducerId');
            await withTimeout(t.abort(), OP_TIMEOUT_MS, 'abort of an empty transaction');
            return {};
          } finally {
            await p.disconnect().catch(() => undefined);
          }
        });
      }),
    );
  }

  /** Waits (bounded) until the consumer has gone past `ends` (next offsets), then stops it. */
  async drainConsumers(ends: ReadonlyMap<number, number>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const caughtUp = (): boolean => [...ends].every(([p, end]) => end === 0 || (this.reached.get(p) ?? 0) >= end);
    while (this.consumers.length > 0 && !caughtUp() && Date.now() < deadline) await sleep(250);
    const ok = caughtUp();
    await Promise.all(this.consumers.map((c) => withTimeout(c.disconnect(), 20_000, 'consumer disconnect').catch(() => undefined)));
    return ok;
  }
}
