/**
 * Coordinator load time of one `__consumer_offsets` partition before and after log compaction.
 *
 *   node scripts/node.mjs --import tsx bench/compaction.ts [--dir DIR] [--commits 1000000]
 *        [--groups 500] [--partitions 20] [--segment-bytes 104857600]
 *
 * Writes `commits` offset commits through the real coordinator (a one-broker raft cluster on real
 * files, one offsets partition): `groups` groups each committing `partitions` partitions per request,
 * round after round, so each of the groups x partitions keys is committed commits / keys times.
 * Then it measures the coordinator's load of the partition (from the broker's start until the
 * partition's groups are served) on a fresh open, compacts the partition's raft log (so the
 * cleaner may rewrite what lies below it), runs the log cleaner, and measures the load again.
 * The active segment is never cleaned, so what stays uncompacted is at most one segment
 * (offsets.topic.segment.bytes, Kafka's 100 MiB by default). Page cache is warm in both cases.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brokerConfigOf, type BrokerConfig } from '../broker/src/config/index.js';
import { OFFSETS_TOPIC, type Coordinator } from '../broker/src/coordinator/index.js';
import { readBatchHeader } from '../broker/src/kafka/protocol/records.js';
import type { FileLogManager } from '../broker/src/log/index.js';
import { silentLogger } from '../broker/src/observability/logger.js';
import type { RaftCluster } from '../broker/src/cluster/raft-cluster.js';
import { freePort } from '../broker/test/helpers/ports.js';
import { openBenchNode, type BenchNode } from './support/node.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const baseDir = arg('dir', os.tmpdir());
const commits = Number(arg('commits', '1000000'));
const groups = Number(arg('groups', '500'));
const partitions = Number(arg('partitions', '20'));
const segmentBytes = Number(arg('segment-bytes', '104857600'));
const CONCURRENCY = 64;

const dataDir = fs.mkdtempSync(path.join(baseDir, 'chronik-bench-compaction-'));
const logger = silentLogger();
const config: BrokerConfig = brokerConfigOf({
  'log.dirs': dataDir,
  'chronik.kafka.listen': '127.0.0.1:0',
  'chronik.kafka.advertised': '127.0.0.1:9092',
  'offsets.topic.num.partitions': '1',
  'offsets.topic.segment.bytes': String(segmentBytes),
  'log.cleaner.enable': 'false',
  'chronik.raft.listen': `127.0.0.1:${await freePort()}`,
});

interface Opened {
  readonly manager: FileLogManager;
  readonly cluster: RaftCluster;
  readonly coordinator: Coordinator;
  readonly node: BenchNode;
}

async function openStorage(): Promise<Opened> {
  const node = await openBenchNode(config, logger);
  return { manager: node.manager, cluster: node.cluster, coordinator: node.coordinator, node };
}

async function closeAll(o: Opened): Promise<void> {
  await o.node.close();
}

/** From opening the broker's storage until the offsets partition's groups are served, in ms. */
async function loadOnce(): Promise<{ ms: number; coordinator: Coordinator; storage: Opened }> {
  const t0 = performance.now();
  const storage = await openStorage();
  await storage.coordinator.coordinatorFor('group-7', 0);
  // coordinatorFor gives up waiting for the load after a few seconds (a client then retries on
  // COORDINATOR_LOAD_IN_PROGRESS); the load is over when the group's offsets are served.
  while ((await storage.coordinator.groups.fetchOffsets('group-7', null)).errorCode !== 0) await new Promise((r) => setTimeout(r, 5));
  return { ms: performance.now() - t0, coordinator: storage.coordinator, storage };
}

async function measureLoad(label: string): Promise<{ median: number; sample: string }> {
  const times: number[] = [];
  let sample = '';
  for (let i = 0; i < 3; i++) {
    const { ms, coordinator, storage } = await loadOnce();
    times.push(ms);
    if (i === 0) {
      const f = await coordinator.groups.fetchOffsets('group-7', null);
      sample = f.offsets.map((o) => `${o.partition}=${o.offset}`).sort().join(',');
      if (f.offsets.length !== partitions) throw new Error(`the coordinator loaded ${f.offsets.length} offsets of group-7, not ${partitions}`);
    }
    await closeAll(storage);
  }
  times.sort((a, b) => a - b);
  console.log(`load ${label}: ${times.map((t) => t.toFixed(0)).join(' / ')} ms (median ${times[1]!.toFixed(0)} ms)`);
  return { median: times[1]!, sample };
}

async function partitionStats(o: Opened): Promise<{ records: number; bytes: number; segments: number }> {
  const log = o.manager.openLogs().find((l) => l.dir.endsWith(`${OFFSETS_TOPIC}-0`))!;
  const p = o.cluster.partition(OFFSETS_TOPIC, 0)!;
  let records = 0;
  for (let off = p.logStartOffset(); off < p.highWatermark(); ) {
    const r = await p.read(off, 8 << 20, 0);
    for (let pos = 0; pos < r.records.length; ) {
      const h = readBatchHeader(r.records, pos);
      if (!h.isControl) records += h.recordCount;
      pos += h.sizeInBytes;
    }
    off = r.nextOffset;
  }
  return { records, bytes: log.sizeInBytes(), segments: log.segmentBaseOffsets().length };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const keys = groups * partitions;
  const rounds = Math.max(1, Math.round(commits / keys));
  console.log(`${rounds * keys} commits: ${groups} groups x ${partitions} partitions x ${rounds} rounds; offsets.topic.segment.bytes ${segmentBytes}; dir ${dataDir}`);

  // Write the history through the coordinator, as OffsetCommit does.
  {
    const o = await openStorage();
    await o.cluster.createTopic({ name: 'data', partitions, replicationFactor: 1, configs: {} });
    const coordinator = o.coordinator;
    await coordinator.coordinatorFor('group-0', 0);
    const t0 = performance.now();
    let next = 0;
    const total = rounds * groups;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < total; i = next++) {
        const round = Math.floor(i / groups);
        const groupId = `group-${i % groups}`;
        const errors = await coordinator.groups.commitOffsets({
          groupId,
          generationId: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          partitions: Array.from({ length: partitions }, (_, p) => ({ topic: 'data', partition: p, offset: round * 1000 + p, leaderEpoch: -1, metadata: '' })),
        });
        if (errors.some((e) => e.errorCode !== 0)) throw new Error(`commit failed: ${JSON.stringify(errors[0])}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const secs = (performance.now() - t0) / 1000;
    console.log(`wrote ${rounds * keys} commits in ${secs.toFixed(1)} s (${Math.round((rounds * keys) / secs)} commits/s)`);
    await closeAll(o);
  }

  const o1 = await openStorage();
  const before = await partitionStats(o1);
  await closeAll(o1);
  console.log(`before cleaning: ${before.records} records, ${mb(before.bytes)}, ${before.segments} segments`);
  const loadBefore = await measureLoad('before cleaning');

  const o2 = await openStorage();
  const log = o2.manager.openLogs().find((l) => l.dir.endsWith(`${OFFSETS_TOPIC}-0`))!;
  o2.manager.cleaner.configure({ ioBytesPerSecond: Infinity });
  // The cleaner rewrites only what the raft log no longer holds: compact it first.
  await o2.cluster.applyRetention();
  const t0 = performance.now();
  const pass1 = await o2.manager.cleaner.clean({ topic: OFFSETS_TOPIC, partition: 0, log });
  const pass2 = await o2.manager.cleaner.clean({ topic: OFFSETS_TOPIC, partition: 0, log });
  const cleanSecs = (performance.now() - t0) / 1000;
  const stats = o2.manager.cleanerStats();
  console.log(
    `cleaning: ${cleanSecs.toFixed(1)} s, read ${mb(stats.bytesRead)}, wrote ${mb(stats.bytesWritten)}, ` +
      `removed ${(pass1?.recordsRemoved ?? 0) + (pass2?.recordsRemoved ?? 0)} records`,
  );
  const after = await partitionStats(o2);
  await closeAll(o2);
  console.log(`after cleaning: ${after.records} records, ${mb(after.bytes)}, ${after.segments} segments`);
  const loadAfter = await measureLoad('after cleaning');
  if (loadAfter.sample !== loadBefore.sample) throw new Error('the coordinator loaded different offsets after cleaning');
  console.log(
    `RESULT load time of one __consumer_offsets partition with ${rounds * keys} historical commits: ` +
      `${loadBefore.median.toFixed(0)} ms before cleaning, ${loadAfter.median.toFixed(0)} ms after ` +
      `(${(loadBefore.median / loadAfter.median).toFixed(1)}x; ${before.records} -> ${after.records} records replayed)`,
  );
}

try {
  await main();
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
