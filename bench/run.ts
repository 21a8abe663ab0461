/**
 * `npm run bench`: single-broker produce and consume figures from real clients, each printed
 * with its ratio to this disk's sequential write+fsync bandwidth measured in the same run.
 * Environment: CHRONIK_BENCH_MESSAGES (default 200000 for 100 B, a fifth of that for 1 KiB).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { startBrokerProcess } from '../broker/test/helpers/broker-process.js';
import { diskWriteFsyncMBps } from './disk.js';

const PY = fileURLToPath(new URL('./librdkafka_bench.py', import.meta.url));
const BASE = Number(process.env.CHRONIK_BENCH_MESSAGES ?? 200_000);

interface Row {
  client: string;
  test: string;
  size: number;
  acks: string;
  msgsPerSec: number;
  mbPerSec: number;
  p50: number | null;
  p99: number | null;
}

function librdkafka(args: string[]): Record<string, number> {
  const r = spawnSync('/usr/bin/python3', [PY, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`librdkafka bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function kafkajsProduce(bootstrap: string, topic: string, count: number, size: number, acks: number): Promise<Row> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: acks === -1, maxInFlightRequests: acks === -1 ? 5 : 8 });
  await producer.connect();
  const value = Buffer.alloc(size, 0x78);
  const batch = 500;
  const lat: number[] = [];
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let sent = 0; sent < count; sent += batch) {
    const t0 = performance.now();
    const p = producer
      .send({ topic, acks, compression: CompressionTypes.None, messages: Array.from({ length: Math.min(batch, count - sent) }, () => ({ value })) })
      .then(() => void lat.push(performance.now() - t0));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - start) / 1000;
  await producer.disconnect();
  lat.sort((a, b) => a - b);
  return {
    client: 'kafkajs', test: 'produce', size, acks: String(acks), msgsPerSec: count / seconds, mbPerSec: (count * size) / 1e6 / seconds,
    p50: lat[Math.floor(lat.length * 0.5)] ?? null, p99: lat[Math.floor(lat.length * 0.99)] ?? null,
  };
}

function fmt(n: number | null, digits = 1): string {
  return n === null ? '-' : n.toFixed(digits);
}

async function main(): Promise<void> {
  const broker = await startBrokerProcess({ args: ['--log-level', 'warn'] });
  const disk = diskWriteFsyncMBps(broker.dataDir);
  console.log(`reference: sequential write+fsync (1 MiB writes) on the data disk: ${disk.toFixed(1)} MB/s`);
  const rows: Row[] = [];
  try {
    for (const size of [100, 1024]) {
      const count = size === 100 ? BASE : Math.floor(BASE / 5);
      for (const acks of ['1', 'all']) {
        const topic = `bench-rdk-${size}-${acks}`;
        const r = librdkafka(['produce', broker.bootstrap, topic, String(count), String(size), acks]);
        if (r.errors) console.log(`  librdkafka ${size}B acks=${acks}: ${r.errors} delivery errors`);
        rows.push({ client: 'librdkafka', test: 'produce', size, acks, msgsPerSec: r.delivered! / r.seconds!, mbPerSec: (r.delivered! * size) / 1e6 / r.seconds!, p50: r.p50_ms ?? null, p99: r.p99_ms ?? null });
        if (acks === 'all') {
          const c = librdkafka(['consume', broker.bootstrap, topic, String(count)]);
          rows.push({ client: 'librdkafka', test: 'consume', size, acks: '-', msgsPerSec: c.messages! / c.seconds!, mbPerSec: c.bytes! / 1e6 / c.seconds!, p50: null, p99: null });
        }
        const kcount = Math.floor(count / 4);
        rows.push(await kafkajsProduce(broker.bootstrap, `bench-kjs-${size}-${acks}`, kcount, size, acks === 'all' ? -1 : 1));
      }
    }
  } finally {
    await broker.stop();
  }
  console.log('');
  console.log('client      test     size  acks   msgs/s      MB/s   ratio-to-disk  p50 ms   p99 ms');
  for (const r of rows) {
    console.log(
      `${r.client.padEnd(11)} ${r.test.padEnd(8)} ${String(r.size).padStart(5)}  ${r.acks.padEnd(4)} ${fmt(r.msgsPerSec, 0).padStart(9)} ${fmt(r.mbPerSec).padStart(9)}   ${(r.mbPerSec / disk).toFixed(2).padStart(12)}  ${fmt(r.p50).padStart(7)}  ${fmt(r.p99).padStart(7)}`,
    );
  }
  const best = Math.max(...rows.filter((r) => r.client === 'librdkafka' && r.test === 'produce').map((r) => r.mbPerSec));
  console.log(`\nbest librdkafka produce: ${best.toFixed(1)} MB/s = ${((best / disk) * 100).toFixed(0)}% of the disk bound (target >= 50%)`);
}

await main();
