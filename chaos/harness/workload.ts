/**
 * The clients and what they record. Producers are idempotent kafkajs producers with acks=all,
 * one send at a time, each value unique (`producer-<i>-<seq>`); consumers are members of one
 * group that commit, after each batch, the offset after it. Every call is an operation in the
 * history. A producer whose send ended in an error is replaced by a new one (a new producer id):
 * kafkajs keeps the sequence number of a batch whose outcome it does not know, and reusing it for
 * the next value would let the broker rightly answer that value with the earlier batch's offset.
 */
import { connect } from 'node:net';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { sleep } from '../../e2e/lib/exec.js';
import type { Roles } from './nemesis-plan.js';
import { describeError, type HistoryRecorder } from './recorder.js';
import { KAFKA_PORT, type DockerCluster } from './docker-cluster.js';

export interface WorkloadOptions {
  readonly topic: string;
  readonly partitions: number;
  readonly producers: number;
  readonly consumers: number;
  readonly group: string;
  /** Process names are `<prefix>-<i>` (and values `<prefix>-<i>-<seq>`); default `producer`. */
  readonly producerPrefix?: string;
}

/** A kafkajs client on the host; the brokers' advertised names are sent to their current addresses. */
export function hostKafka(cluster: DockerCluster, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: cluster.nodes.map((n) => `${n.host}:${KAFKA_PORT}`),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
    socketFactory: ({ host, port, onConnect }) => {
      const socket = connect({ host: cluster.addresses().get(host) ?? host, port }, onConnect);
      socket.setKeepAlive(true, 5000);
      return socket;
    },
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const SEND_TIMEOUT_MS = 25_000;

export class Workload {
  private stopping = false;
  private readonly producerLoops: Promise<void>[] = [];
  private readonly consumers: Consumer[] = [];
  /** Highest offset any consumer received, per partition. */
  readonly polled = new Map<number, number>();
  acknowledged = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly rec: HistoryRecorder,
    readonly opts: WorkloadOptions,
  ) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.opts.producers; i++) this.producerLoops.push(this.producerLoop(i));
    for (let i = 0; i < this.opts.consumers; i++) await this.startConsumer(i);
  }

  private newProducer(): Producer {
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 6, initialRetryTime: 200, maxRetryTime: 2000 } });
  }

  private async producerLoop(index: number): Promise<void> {
    const name = `${this.opts.producerPrefix ?? 'producer'}-${index}`;
    let producer: Producer | undefined;
    let seq = 0;
    let next = index;
    while (!this.stopping) {
      if (!producer) {
        const p = this.newProducer();
        try {
          await withTimeout(p.connect(), SEND_TIMEOUT_MS, 'producer connect');
          producer = p;
        } catch {
          void p.disconnect().catch(() => undefined);
          await sleep(500);
          continue;
        }
      }
      const partition = next++ % this.opts.partitions;
      const value = `${name}-${seq++}`;
      const sender = producer;
      const done = await this.rec.op(name, 'produce', { value, partition }, async () => {
        const res = await withTimeout(sender.send({ topic: this.opts.topic, acks: -1, timeout: 10_000, messages: [{ value, partition }] }), SEND_TIMEOUT_MS, 'send');
        const md = res.find((r) => r.partition === partition);
        if (!md) throw new Error(`the produce response has no partition ${partition}`);
        if (md.errorCode !== 0) throw new Error(`produce answered error code ${md.errorCode}`);
        if (md.baseOffset === undefined) throw new Error('the produce response has no base offset');
        return { offset: Number(md.baseOffset) };
      });
      if (done) {
        this.acknowledged++;
        await sleep(5);
      } else {
        void sender.disconnect().catch(() => undefined);
        producer = undefined;
        await sleep(200);
      }
    }
    if (producer) await producer.disconnect().catch(() => undefined);
  }

  private async startConsumer(index: number): Promise<void> {
    const name = `consumer-${index}`;
    const { topic, group } = this.opts;
    const consumer = this.kafka.consumer({
      groupId: group,
      sessionTimeout: 10_000,
      rebalanceTimeout: 15_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.rec.record(name, 'ok', 'assign', { value: e.payload.memberAssignment[topic] ?? [] }));
    // Offsets the coordinator acknowledged: kafkajs emits this only after an OffsetCommit
    // answered without error. Its commitOffsets() also resolves, without any answer, when the
    // consumer is not running (stopping, or restarting after a rebalance error), so a resolved
    // call alone is no acknowledgement.
    const confirmed = new Set<string>();
    consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) if (t.topic === topic) for (const p of t.partitions) confirmed.add(`${p.partition}@${p.offset}`);
    });
    consumer.on(consumer.events.CRASH, (e) => this.rec.record(name, 'info', 'consumer-crash', { error: describeError(e.payload.error), value: { restart: e.payload.restart } }));
    this.consumers.push(consumer);
    try {
      await withTimeout(consumer.connect(), 30_000, 'consumer connect');
      await withTimeout(consumer.subscribe({ topic, fromBeginning: true }), 30_000, 'subscribe');
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const last = batch.messages.at(-1);
          if (!last) return;
          const partition = batch.partition;
          this.rec.record(name, 'ok', 'poll', { partition, value: batch.messages.map((m) => [Number(m.offset), m.value?.toString('utf8') ?? '']) });
          const offset = Number(last.offset) + 1;
          this.polled.set(partition, Math.max(this.polled.get(partition) ?? -1, offset - 1));
          // Commits are a process of their own: their invoke/complete pairs may straddle polls and assignments.
          await this.rec.op(`${name}-commit`, 'commit', { value: group, partition, offset }, async () => {
            await withTimeout(consumer.commitOffsets([{ topic, partition, offset: String(offset) }]), 20_000, 'commit');
            const key = `${partition}@${offset}`;
            if (!confirmed.delete(key)) throw new Error('kafkajs resolved the commit without an acknowledgement from the coordinator (consumer not running)');
            return {};
          });
        },
      });
    } catch (e) {
      this.rec.record(name, 'info', 'consumer-start', { error: describeError(e) });
    }
  }

  async stopProducers(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.producerLoops);
  }

  /** Waits (bounded) until consumers have received up to `ends` (next offsets), then leaves the group. */
  async drainConsumers(ends: ReadonlyMap<number, number>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const caughtUp = (): boolean => [...ends].every(([p, end]) => end === 0 || (this.polled.get(p) ?? -1) >= end - 1);
    while (this.consumers.length > 0 && !caughtUp() && Date.now() < deadline) await sleep(250);
    const ok = caughtUp();
    await Promise.all(this.consumers.map((c) => withTimeout(c.disconnect(), 20_000, 'consumer disconnect').catch(() => undefined)));
    return ok;
  }
}

async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const admin = kafka.admin({ retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 } });
  try {
    await withTimeout(admin.connect(), timeoutMs, 'admin connect');
    return await withTimeout(fn(admin), timeoutMs, 'admin call');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Creates the workload topic, retrying while the cluster forms; resolves once every partition has a leader. */
export async function createTopic(kafka: Kafka, topic: string, partitions: number, replicationFactor: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await withAdmin(kafka, async (admin) => {
        await admin.createTopics({
          topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries: replicationFactor >= 3 ? [{ name: 'min.insync.replicas', value: '2' }] : [] }],
          waitForLeaders: true,
          timeout: 10_000,
        });
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        const ps = md.topics[0]?.partitions ?? [];
        if (ps.length !== partitions || ps.some((p) => p.leader < 0)) throw new Error(`topic ${topic} has ${ps.length} partitions, leaders ${ps.map((p) => p.leader).join(',')}`);
      }, 30_000);
      return;
    } catch (e) {
      last = e;
      await sleep(1000);
    }
  }
  throw new Error(`could not create topic ${topic} within ${timeoutMs} ms: ${describeError(last)}`);
}

/** Who leads each partition and which broker is the controller; empty where the cluster cannot say. */
export async function currentRoles(kafka: Kafka, topic: string): Promise<Roles> {
  try {
    return await withAdmin(
      kafka,
      async (admin) => {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        const leaders = new Map((md.topics[0]?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
        const cluster = await admin.describeCluster();
        return { leaders, controller: cluster.controller ?? undefined };
      },
      8000,
    );
  } catch {
    return { leaders: new Map() };
  }
}

/** High watermark (next offset) of each partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  return withAdmin(kafka, async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)])));
}

/** OffsetFetch of the group, recorded as one `committed` operation per partition. */
export async function readCommitted(kafka: Kafka, rec: HistoryRecorder, group: string, topic: string, partitions: number): Promise<void> {
  const ps = Array.from({ length: partitions }, (_, p) => p);
  for (const p of ps) rec.record(`committed-${p}`, 'invoke', 'committed', { value: group, partition: p });
  try {
    const res = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    const byPartition = new Map((res[0]?.partitions ?? []).map((x) => [x.partition, Number(x.offset)]));
    for (const p of ps) rec.record(`committed-${p}`, 'ok', 'committed', { value: group, partition: p, offset: byPartition.get(p) ?? -1 });
  } catch (e) {
    for (const p of ps) rec.record(`committed-${p}`, 'info', 'committed', { value: group, partition: p, error: describeError(e) });
  }
}

/**
 * Reads every partition from its start to its high watermark with a fresh group, recorded as one
 * `final-read` per partition: ok with every record, or fail when it could not read to the end in time.
 */
export interface FinalReadOptions {
  /** The operation's name; default `final-read`. */
  readonly f?: string;
  /** Read with isolation read_uncommitted (kafkajs's default, and this one's, is read_committed). */
  readonly readUncommitted?: boolean;
  /** Name the topic in the events (the idempotent workload's history leaves it out). */
  readonly recordTopic?: boolean;
}

export async function finalRead(
  kafka: Kafka,
  rec: HistoryRecorder,
  topic: string,
  partitions: number,
  group: string,
  timeoutMs: number,
  options: FinalReadOptions = {},
): Promise<{ records: number; complete: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const f = options.f ?? 'final-read';
  const reader = (p: number): string => `${f === 'final-read' ? 'final-reader' : f}-${p}`;
  const t = options.recordTopic ? { topic } : {};
  const ps = Array.from({ length: partitions }, (_, p) => p);
  for (const p of ps) rec.record(reader(p), 'invoke', f, { ...t, partition: p });
  let ends: Map<number, number> | undefined;
  let lastError: unknown;
  while (!ends && Date.now() < deadline) {
    try {
      ends = await endOffsets(kafka, topic);
    } catch (e) {
      lastError = e;
      await sleep(1000);
    }
  }
  if (!ends) {
    for (const p of ps) rec.record(reader(p), 'fail', f, { ...t, partition: p, error: `no high watermark: ${describeError(lastError)}` });
    return { records: 0, complete: false };
  }
  const got = new Map<number, [number, string][]>(ps.map((p) => [p, []]));
  const reached = new Map<number, number>(ps.map((p) => [p, 0]));
  const done = (p: number): boolean => (reached.get(p) ?? 0) >= (ends?.get(p) ?? 0);
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500, allowAutoTopicCreation: false, readUncommitted: options.readUncommitted ?? false });
  // Fetches that held only markers or aborted records never reach eachBatch; this event still says how far they went.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    if (e.payload.topic === topic) reached.set(e.payload.partition, Math.max(reached.get(e.payload.partition) ?? 0, Number(e.payload.lastOffset) + 1));
  });
  try {
    await withTimeout(consumer.connect(), 30_000, 'final reader connect');
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const list = got.get(batch.partition);
        if (!list) return;
        for (const m of batch.messages) list.push([Number(m.offset), m.value?.toString('utf8') ?? '']);
        // lastOffset() also covers batches that held only control records.
        reached.set(batch.partition, Math.max(reached.get(batch.partition) ?? 0, Number(batch.lastOffset()) + 1));
      },
    });
    while (!ps.every(done) && Date.now() < deadline) await sleep(250);
  } catch (e) {
    lastError = e;
  } finally {
    await withTimeout(consumer.disconnect(), 20_000, 'final reader disconnect').catch(() => undefined);
  }
  let records = 0;
  for (const p of ps) {
    const list = got.get(p) ?? [];
    if (done(p)) {
      records += list.length;
      rec.record(reader(p), 'ok', f, { ...t, partition: p, value: list });
    } else {
      const why = lastError ? `; ${describeError(lastError)}` : '';
      rec.record(reader(p), 'fail', f, { ...t, partition: p, error: `read to offset ${reached.get(p)} of high watermark ${ends.get(p)} within ${timeoutMs} ms${why}` });
    }
  }
  return { records, complete: ps.every(done) };
}
