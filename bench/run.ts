/**
 * `npm run bench`: single-broker produce and consume figures from real clients, each printed
 * with its ratio to this disk's sequential write+fsync bandwidth measured in the same run, and
 * with the CPU the broker used for it (in cores: broker CPU seconds / wall seconds).
 * The broker runs compiled (broker/dist, built first), not through tsx.
 * Environment: CHRONIK_BENCH_MESSAGES (default 300000 for 100 B; 1 KiB gets half, 16 KiB a
 * twentieth), CHRONIK_BENCH_SIZES (default "100,1024,16384"). Every produce run is preceded by
 * an untimed warm-up of a tenth of its count on the same topic; consume reads the whole topic.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { buildBroker, startBenchBroker, type BenchBroker } from './broker.js';
import { diskWriteFsyncMBps } from './disk.js';

const PY = fileURLToPath(new URL('./librdkafka_bench.py', import.meta.url));
const BASE = Number(process.env.CHRONIK_BENCH_MESSAGES ?? 300_000);
const SIZES = (process.env.CHRONIK_BENCH_SIZES ?? '100,1024,16384').split(',').map(Number);

function countFor(size: number): number {
  if (size <= 100) return BASE;
  if (size <= 1024) return Math.floor(BASE / 2);
  return Math.max(1000, Math.floor(BASE / 20));
}

interface Row {
  client: string;
  test: string;
  size: number;
  acks: string;
  msgsPerSec: number;
  mbPerSec: number;
  p50: number | null;
  p99: number | null;
  /** Broker CPU seconds per wall second during the run. */
  brokerCores: number;
  /** The client's CPU seconds per wall second (librdkafka: the Python process with its threads). */
  clientCores: number | null;
}

/** Runs `fn` and returns its result with the broker's CPU use over the same interval. */
async function measured<T>(broker: BenchBroker, fn: () => Promise<T> | T): Promise<{ value: T; cores: number }> {
  const cpu0 = broker.cpuSeconds();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  return { value, cores: (broker.cpuSeconds() - cpu0) / wall };
}

function librdkafka(args: string[]): Record<string, number> {
  const r = spawnSync('/usr/bin/python3', [PY, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`librdkafka bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function kafkajsProduce(broker: BenchBroker, topic: string, count: number, size: number, acks: number): Promise<Row> {
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: acks === -1, maxInFlightRequests: acks === -1 ? 5 : 8 });
  await producer.connect();
  const value = Buffer.alloc(size, 0x78);
  const batch = 500;
  const lat: number[] = [];
  const run = async (n: number): Promise<void> => {
    const inflight = new Set<Promise<void>>();
    for (let sent = 0; sent < n; sent += batch) {
      const t0 = performance.now();
      const p = producer
        .send({ topic, acks, compression: CompressionTypes.None, messages: Array.from({ length: Math.min(batch, n - sent) }, () => ({ value })) })
        .then(() => void lat.push(performance.now() - t0));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      if (inflight.size >= 4) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  };
  await run(Math.max(batch, Math.floor(count / 10)));
  lat.length = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const { cores } = await measured(broker, () => run(count));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  lat.sort((a, b) => a - b);
  return {
    client: 'kafkajs', test: 'produce', size, acks: String(acks), msgsPerSec: count / seconds, mbPerSec: (count * size) / 1e6 / seconds,
    p50: lat[Math.floor(lat.length * 0.5)] ?? null, p99: lat[Math.floor(lat.length * 0.99)] ?? null, brokerCores: cores,
    clientCores: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

function fmt(n: number | null, digits = 1): string {
  return n === null ? '-' : n.toFixed(digits);
}

async function main(): Promise<void> {
  buildBroker();
  const broker = await startBenchBroker();
  const disk = diskWriteFsyncMBps(broker.dataDir);
  const loadBefore = loadavg()[0]!;
  console.log(`reference: sequential write+fsync (1 MiB writes) on the data disk: ${disk.toFixed(1)} MB/s`);
  const rows: Row[] = [];
  try {
    for (const size of SIZES) {
      const count = countFor(size);
      for (const acks of ['1', 'all']) {
        const topic = `bench-rdk-${size}-${acks}`;
        const warmup = Math.floor(count / 10);
        const { value: r, cores } = await measured(broker, () =>
          librdkafka(['produce', broker.bootstrap, topic, String(count), String(size), acks, String(warmup)]),
        );
        if (r.errors) console.log(`  librdkafka ${size}B acks=${acks}: ${r.errors} delivery errors`);
        rows.push({ client: 'librdkafka', test: 'produce', size, acks, msgsPerSec: r.delivered! / r.seconds!, mbPerSec: (r.delivered! * size) / 1e6 / r.seconds!, p50: r.p50_ms ?? null, p99: r.p99_ms ?? null, brokerCores: cores, clientCores: r.client_cores ?? null });
        if (acks === 'all') {
          const total = count + warmup;
          const { value: c, cores: ccores } = await measured(broker, () => librdkafka(['consume', broker.bootstrap, topic, String(total)]));
          if (c.messages !== total) console.log(`  librdkafka consume ${size}B: read ${c.messages} of ${total} messages`);
          rows.push({ client: 'librdkafka', test: 'consume', size, acks: '-', msgsPerSec: c.messages! / c.seconds!, mbPerSec: c.bytes! / 1e6 / c.seconds!, p50: null, p99: null, brokerCores: ccores, clientCores: c.client_cores ?? null });
        }
        if (size <= 1024) {
          rows.push(await kafkajsProduce(broker, `bench-kjs-${size}-${acks}`, Math.floor(count / 4), size, acks === 'all' ? -1 : 1));
        }
      }
    }
  } finally {
    await broker.stop();
  }
  console.log('');
  console.log(`load average (1 min) before ${loadBefore.toFixed(1)}, after ${loadavg()[0]!.toFixed(1)}, on ${cpus().length} cores`);
  console.log('client      test      size  acks   msgs/s      MB/s   ratio-to-disk  p50 ms   p99 ms  broker-cores  client-cores');
  for (const r of rows) {
    console.log(
      `${r.client.padEnd(11)} ${r.test.padEnd(8)} ${String(r.size).padStart(6)}  ${r.acks.padEnd(4)} ${fmt(r.msgsPerSec, 0).padStart(9)} ${fmt(r.mbPerSec).padStart(9)}   ${(r.mbPerSec / disk).toFixed(2).padStart(12)}  ${fmt(r.p50).padStart(7)}  ${fmt(r.p99).padStart(7)}  ${r.brokerCores.toFixed(2).padStart(12)}  ${fmt(r.clientCores, 2).padStart(12)}`,
    );
  }
  const best = Math.max(...rows.filter((r) => r.client === 'librdkafka' && r.test === 'produce').map((r) => r.mbPerSec));
  console.log(`\nbest librdkafka produce: ${best.toFixed(1)} MB/s = ${((best / disk) * 100).toFixed(0)}% of the disk bound (target >= 50%)`);
}

const clusterFlag = process.argv.indexOf('--cluster');
if (process.argv.includes('--vs-kafka')) {
  const { vsKafka } = await import('./vs-kafka.js');
  await vsKafka(process.argv.slice(2));
  process.exit(0);
} else if (clusterFlag >= 0) {
  const n = Number(process.argv[clusterFlag + 1] ?? 3);
  if (!Number.isInteger(n) || n < 3) {
    console.error('--cluster N: N must be an integer of at least 3');
    process.exit(2);
  }
  const { clusterBench } = await import('./cluster.js');
  await clusterBench(n);
} else {
  await main();
}
