/**
 * Compacted topics against a real broker process: kafkajs (idempotent, gzip) and kcat
 * (idempotent; snappy, lz4, zstd; tombstones) produce keyed updates, the broker's cleaner
 * compacts the closed segments, and a kafkajs group consumer and kcat (librdkafka) read them from
 * the beginning across the offset gaps: offsets only grow, every key ends at its last value (a
 * deleted key at nothing or its tombstone), and below the active segment no key appears twice.
 * A restart serves the same records. kafkajs reads only the topic without lz4 and zstd, codecs
 * it has no decoder for.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import kafkajsPkg, { type Kafka as KafkaClient } from 'kafkajs';
// @ts-expect-error kafkajs-snappy ships no type declarations
import SnappyCodec from 'kafkajs-snappy';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { decodeCheckedJson } from '../../src/log/checked-json.js';

const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajsPkg;
(CompressionCodecs as Record<number, unknown>)[CompressionTypes.Snappy] = SnappyCodec;
const KEYS = 30;

interface Rec {
  readonly offset: number;
  readonly key: string;
  readonly value: string | null;
}

let broker: BrokerProcess;
let kafka: KafkaClient;
/** What was produced to each topic, in order (one partition: offset order). */
const produced = new Map<string, { key: string; value: string | null }[]>();

function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', broker.bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 || /ERROR|Delivery failed/i.test(err)) reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve(out);
    });
    child.stdin.end(input ?? '');
  });
}

async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const partitionDir = (topic: string): string => path.join(broker.dataDir, `${topic}-0`);

function segmentBases(topic: string): number[] {
  return fs
    .readdirSync(partitionDir(topic))
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

function cleanedTo(topic: string): number {
  try {
    return ((decodeCheckedJson(fs.readFileSync(path.join(partitionDir(topic), 'cleaner.checkpoint'))) as { value: { firstDirtyOffset: number } }).value).firstDirtyOffset;
  } catch {
    return -1;
  }
}

async function highWatermark(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [p] = await admin.fetchTopicOffsets(topic);
    return Number(p!.high);
  } finally {
    await admin.disconnect();
  }
}

/** The properties every reader of the compacted topic must see. */
function checkCompacted(topic: string, read: readonly Rec[], hw: number, activeBase: number): void {
  for (let i = 1; i < read.length; i++) expect(read[i]!.offset).toBeGreaterThan(read[i - 1]!.offset);
  expect(read.at(-1)!.offset).toBe(hw - 1);
  // gaps: far fewer records than offsets
  expect(read.length).toBeLessThan(hw / 2);
  const last = new Map<string, string | null>();
  for (const r of read) last.set(r.key, r.value);
  const model = new Map<string, string | null>();
  for (const p of produced.get(topic)!) model.set(p.key, p.value);
  for (const [key, value] of model) {
    if (value === null) expect(last.get(key) ?? null, key).toBeNull();
    else expect(last.get(key), key).toBe(value);
  }
  const cleanedKeys = read.filter((r) => r.offset < activeBase).map((r) => r.key);
  expect(new Set(cleanedKeys).size).toBe(cleanedKeys.length);
}

async function consumeWithKafkajs(topic: string, group: string, hw: number): Promise<Rec[]> {
  const consumer = kafka.consumer({ groupId: group, maxBytesPerPartition: 2048 });
  const got: Rec[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value === null ? null : message.value.toString() });
      },
    });
    await eventually('kafkajs reaches the high watermark', () => got.length > 0 && got.at(-1)!.offset >= hw - 1);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

async function consumeWithKcat(topic: string): Promise<Rec[]> {
  // -Z: NULL values print as "NULL"; -e: stop at the end of the partition
  const out = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-Z', '-X', 'fetch.message.max.bytes=2048', '-f', '%o\t%k\t%s\n']);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [o, k, v] = l.split('\t');
      return { offset: Number(o), key: k!, value: v === 'NULL' ? null : v! };
    });
}

/** Keyed updates (about one tombstone in 17) over KEYS keys, from kafkajs and kcat in turns. */
async function produce(topic: string, kcatCodecs: readonly string[]): Promise<void> {
  const sent: { key: string; value: string | null }[] = [];
  produced.set(topic, sent);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let n = 0;
  const next = (): { key: string; value: string | null } => {
    const key = `key-${n % KEYS}`;
    const value = n % 17 === 5 ? null : `v${n}`;
    n++;
    return { key, value };
  };
  try {
    for (let round = 0; round < 6; round++) {
      for (let b = 0; b < 8; b++) {
        const batch = Array.from({ length: 20 }, next);
        await producer.send({ topic, acks: -1, compression: b % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None, messages: batch });
        sent.push(...batch);
      }
      const lines = Array.from({ length: 40 }, next);
      // -Z turns an empty value into a NULL one (a tombstone)
      const codec = kcatCodecs[round % kcatCodecs.length]!;
      await kcat(['-P', '-t', topic, '-K', '\t', '-Z', '-z', codec, '-X', 'enable.idempotence=true'], lines.map((l) => `${l.key}\t${l.value ?? ''}\n`).join(''));
      sent.push(...lines);
    }
  } finally {
    await producer.disconnect();
  }
}

async function compacted(topic: string): Promise<{ hw: number; activeBase: number }> {
  const hw = await highWatermark(topic);
  expect(hw).toBe(produced.get(topic)!.length);
  await eventually(`the cleaner has compacted every closed segment of ${topic}`, () => {
    const bases = segmentBases(topic);
    return bases.length > 1 && cleanedTo(topic) >= bases.at(-1)!;
  });
  return { hw, activeBase: segmentBases(topic).at(-1)! };
}

beforeAll(async () => {
  broker = await startBrokerProcess({ args: ['--config', 'log.cleaner.backoff.ms=200', '--config', 'log.retention.check.interval.ms=300', '--config', 'group.initial.rebalance.delay.ms=0'] });
  kafka = new Kafka({ clientId: 'compaction-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8 } });
  const admin = kafka.admin();
  await admin.connect();
  const configEntries = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'segment.bytes', value: '4096' },
    { name: 'min.cleanable.dirty.ratio', value: '0.01' },
    { name: 'delete.retention.ms', value: '0' },
  ];
  await admin.createTopics({
    topics: [
      { topic: 'compacted', numPartitions: 1, configEntries },
      { topic: 'compacted-rd', numPartitions: 1, configEntries },
    ],
  });
  await admin.disconnect();
}, 120_000);
afterAll(async () => {
  await broker?.stop();
});

describe('a compacted topic', () => {
  test('kafkajs and kcat consumers read it from the beginning across the gaps compaction leaves', async () => {
    await produce('compacted', ['snappy']);
    await produce('compacted-rd', ['lz4', 'zstd', 'snappy']);
    const js = await compacted('compacted');
    const rd = await compacted('compacted-rd');
    expect(broker.logs()).toMatch(/"msg":"log cleaned"/);
    expect(broker.logs()).not.toMatch(/"msg":"log cleaning failed"/);

    const viaKafkajs = await consumeWithKafkajs('compacted', 'compaction-kafkajs', js.hw);
    checkCompacted('compacted', viaKafkajs, js.hw, js.activeBase);
    const viaKcat = await consumeWithKcat('compacted');
    checkCompacted('compacted', viaKcat, js.hw, js.activeBase);
    expect(viaKcat).toEqual(viaKafkajs);
    const rdRead = await consumeWithKcat('compacted-rd');
    checkCompacted('compacted-rd', rdRead, rd.hw, rd.activeBase);

    await broker.restart();
    expect(await consumeWithKcat('compacted')).toEqual(viaKcat);
    expect(await consumeWithKcat('compacted-rd')).toEqual(rdRead);
    for (const t of ['compacted', 'compacted-rd']) expect(fs.readdirSync(partitionDir(t)).filter((f) => /cleaned|swap/.test(f))).toEqual([]);
  }, 240_000);
});
