/**
 * `npm run bench -- --cluster N` (N >= 3): the replicated cluster next to a single broker, in
 * one run, same client, same sizes.
 *  1. Throughput and latency: librdkafka produce of 1 KiB records, acks=all (idempotent),
 *     to one broker (RF 1) and to an N-broker cluster (RF 3); the ratio (target >= 60%).
 *  2. Failover: idempotent acks=all senders (kafkajs), the leader of a partition they write
 *     to killed with SIGKILL; the longest wait any sender had between two acknowledgements
 *     (target < 1 s), and the check that nothing acknowledged was lost.
 *  3. Idle cost: 1,000 partitions x RF 3 with no traffic; each broker's CPU over 20 s, in
 *     percent of a core (target < 5% at 3,000 replicas).
 * Environment: CHRONIK_BENCH_MESSAGES (default 150000 records for the throughput runs),
 * CHRONIK_BENCH_IDLE_PARTITIONS (default 1000).
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { buildBroker, startBenchBroker, startBenchCluster, type BenchBroker } from './broker.js';

const PY = fileURLToPath(new URL('./librdkafka_bench.py', import.meta.url));
const COUNT = Number(process.env.CHRONIK_BENCH_MESSAGES ?? 150_000);
const IDLE_PARTITIONS = Number(process.env.CHRONIK_BENCH_IDLE_PARTITIONS ?? 1000);
const SIZE = 1024;

export interface Produced {
  msgsPerSec: number;
  mbPerSec: number;
  p50: number;
  p99: number;
  brokerCores: number;
}

function librdkafka(args: string[]): Record<string, number> {
  const r = spawnSync('/usr/bin/python3', [PY, ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`librdkafka bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

function cpu(brokers: readonly BenchBroker[]): number {
  return brokers.reduce((n, b) => n + b.cpuSeconds(), 0);
}

export async function createTopic(bootstrap: string, topic: string, partitions: number, rf: number): Promise<void> {
  const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: rf }], waitForLeaders: true, timeout: 60_000 });
  await admin.disconnect();
}

export async function produceRun(brokers: readonly BenchBroker[], topic: string): Promise<Produced> {
  const bootstrap = brokers.map((b) => b.bootstrap).join(',');
  const warmup = Math.floor(COUNT / 10);
  const cpu0 = cpu(brokers);
  const t0 = performance.now();
  const r = librdkafka(['produce', bootstrap, topic, String(COUNT), String(SIZE), 'all', String(warmup)]);
  const wall = (performance.now() - t0) / 1000;
  if (r.errors) console.log(`  ${r.errors} delivery errors`);
  return {
    msgsPerSec: r.delivered! / r.seconds!,
    mbPerSec: (r.delivered! * SIZE) / 1e6 / r.seconds!,
    p50: r.p50_ms ?? NaN,
    p99: r.p99_ms ?? NaN,
    brokerCores: (cpu(brokers) - cpu0) / wall,
  };
}

/** Kills the leader of partition 0 under load; the longest per-sender gap and a loss check. */
async function failover(brokers: BenchBroker[]): Promise<{ gapMs: number; acked: number; lost: number; victim: number }> {
  const topic = 'bench-failover';
  await createTopic(brokers[0]!.bootstrap, topic, 3, 3);
  const kafka = new Kafka({ brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 20, maxRetryTime: 200 } });
  const admin = kafka.admin();
  await admin.connect();
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const victim = md.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
  await admin.disconnect();
  const acked = new Set<string>();
  let running = true;
  let gapMs = 0;
  const senders = Array.from({ length: 3 }, async (_, s) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let last = performance.now();
    for (let i = 0; running; i++) {
      try {
        await producer.send({ topic, acks: -1, messages: [{ value: `s${s}-${i}`, partition: s }] });
        const now = performance.now();
        gapMs = Math.max(gapMs, now - last);
        last = now;
        acked.add(`s${s}-${i}`);
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await producer.disconnect().catch(() => undefined);
  });
  await new Promise((r) => setTimeout(r, 2000));
  const dead = brokers[victim]!;
  await dead.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 5000));
  running = false;
  await Promise.all(senders);
  // Read everything back from the survivors, partition by partition up to the high watermark.
  const survivors = brokers.filter((b) => b !== dead).map((b) => b.bootstrap);
  const dump = spawnSync('/usr/bin/python3', [PY, 'dump', survivors.join(','), topic], { encoding: 'utf8', timeout: 120_000 });
  if (dump.status !== 0) throw new Error(`reading ${topic} back failed: ${dump.stderr}`);
  const read = JSON.parse(dump.stdout.trim().split('\n').pop()!) as { values: string[]; complete: boolean };
  if (!read.complete) console.log('  the read-back did not reach every high watermark in 60 s');
  const seen = new Set(read.values);
  const lost = [...acked].filter((v) => !seen.has(v)).length;
  return { gapMs, acked: acked.size, lost, victim };
}

async function idleCost(brokers: readonly BenchBroker[]): Promise<number[]> {
  const perTopic = 100;
  for (let t = 0; t * perTopic < IDLE_PARTITIONS; t++) {
    await createTopic(brokers[t % brokers.length]!.bootstrap, `bench-idle-${t}`, Math.min(perTopic, IDLE_PARTITIONS - t * perTopic), 3);
  }
  // Let elections, reports and the first heartbeats settle, then measure a quiet interval.
  await new Promise((r) => setTimeout(r, 10_000));
  const before = brokers.map((b) => b.cpuSeconds());
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 20_000));
  const wall = (performance.now() - t0) / 1000;
  return brokers.map((b, i) => ((b.cpuSeconds() - before[i]!) / wall) * 100);
}

export async function clusterBench(n: number): Promise<void> {
  if (n < 3) throw new Error('--cluster needs at least 3 brokers (RF 3)');
  buildBroker();
  const loadBefore = loadavg()[0]!;

  const single = await startBenchBroker(['--config', 'default.replication.factor=1']);
  let one: Produced;
  try {
    await createTopic(single.bootstrap, 'bench-rf1', 6, 1);
    one = await produceRun([single], 'bench-rf1');
  } finally {
    await single.stop();
  }

  const cluster = await startBenchCluster(n, ['--config', 'group.initial.rebalance.delay.ms=0']);
  let three: Produced;
  let fo: Awaited<ReturnType<typeof failover>>;
  let idle: number[];
  try {
    await createTopic(cluster[0]!.bootstrap, 'bench-rf3', 6, 3);
    three = await produceRun(cluster, 'bench-rf3');
    idle = await idleCost(cluster);
  } finally {
    await Promise.all(cluster.map((b) => b.stop()));
  }
  // A cluster of its own: the idle phase's 1,000 partitions re-electing after the kill would be
  // measured as the failover's gap.
  const fresh = await startBenchCluster(n, ['--config', 'group.initial.rebalance.delay.ms=0']);
  try {
    fo = await failover(fresh);
  } finally {
    await Promise.all(fresh.map((b) => b.stop()));
  }

  console.log('');
  console.log(`load average (1 min) before ${loadBefore.toFixed(1)}, after ${loadavg()[0]!.toFixed(1)}, on ${cpus().length} cores`);
  console.log(`librdkafka produce, ${SIZE} B records, acks=all, idempotent, ${COUNT} records, 6 partitions`);
  console.log('setup                 msgs/s      MB/s   p50 ms   p99 ms  broker-cores (sum)');
  const row = (name: string, p: Produced): string =>
    `${name.padEnd(18)} ${p.msgsPerSec.toFixed(0).padStart(9)} ${p.mbPerSec.toFixed(1).padStart(9)} ${p.p50.toFixed(1).padStart(8)} ${p.p99.toFixed(1).padStart(8)}  ${p.brokerCores.toFixed(2).padStart(8)}`;
  console.log(row('1 broker, RF 1', one));
  console.log(row(`${n} brokers, RF 3`, three));
  console.log(`RF 3 / single broker throughput: ${((three.msgsPerSec / one.msgsPerSec) * 100).toFixed(0)}% (target >= 60%)`);
  // On one machine the brokers share its cores, so the throughput ratio also measures how many
  // cores were left for them; the CPU per record does not depend on that.
  const perRecord = (p: Produced): number => (p.brokerCores / p.msgsPerSec) * 1e6;
  console.log(
    `broker CPU per record: RF 1 ${perRecord(one).toFixed(1)} us, RF 3 ${perRecord(three).toFixed(1)} us over ${n} brokers (${(perRecord(three) / perRecord(one)).toFixed(1)}x; three full copies would be 3.0x)`,
  );
  console.log(`failover: leader (broker ${fo.victim}) killed with SIGKILL under load; longest gap between acknowledgements ${fo.gapMs.toFixed(0)} ms (target < 1000); ${fo.acked} acknowledged, ${fo.lost} lost`);
  console.log(`idle: ${IDLE_PARTITIONS} partitions x RF 3 (${IDLE_PARTITIONS * 3} replicas), no traffic: broker CPU ${idle.map((c) => `${c.toFixed(1)}%`).join(', ')} of a core (target < 5%)`);
}
