/**
 * Replicated compacted partitions: every replica compacts its raft log up to its newest segment of
 * applied entries and cleans below it; a follower that needs what its leader compacted copies the
 * records [its committed offset, snapshot offset) from the leader before it installs the snapshot,
 * and the replicas end with the same records. Three brokers' hosts in one process on real files;
 * a crash at either stage of an install, recovered at open.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { BatchField, LOG_OVERHEAD, readInt64, writeInt64 } from '../../../src/kafka/protocol/records.js';
import { createLogManager, type FileLogManager } from '../../../src/log/index.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { MessageType } from '../../../src/raft/types.js';
import { ProducerStateTable } from '../../../src/coordinator/producer-state.js';
import { HardStateJournal } from '../../../src/replication/hard-state-journal.js';
import { openReplica } from '../../../src/replication/open-replica.js';
import { PartitionRaftStorage, SNAPSHOT_FILE } from '../../../src/replication/partition-raft-storage.js';
import { encodePartitionSnapshot } from '../../../src/replication/partition-snapshot.js';
import type { RaftPartition } from '../../../src/replication/raft-partition.js';
import {
  cutReply,
  decodeRecordsReply,
  decodeRecordsRequest,
  encodeRecordsReply,
  encodeRecordsRequest,
  isStagedRecordsFile,
  MAX_RECORDS_CHUNK_BYTES,
  RECORDS_CHUNK_BYTES,
  stagedRecordsFile,
  type RecordsReply,
  type RecordsRequest,
} from '../../../src/replication/snapshot-records.js';
import { RaftNet, type NetBroker } from '../../helpers/raft-net.js';
import { removeDir, tmpDataDir } from '../../helpers/tmp.js';
import { keyedBatch, latestByKey, readLog, type KeyedRecord, type ReadRecord } from '../log/compaction-helpers.js';
import { decodeCheckedJson } from '../../../src/log/checked-json.js';

const logConfig: LogConfig = {
  segmentBytes: 2048,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 512,
  cleanupPolicy: 'compact',
  timestampType: 'CreateTime',
  minCleanableDirtyRatio: 0,
  deleteRetentionMs: Number.MAX_SAFE_INTEGER,
};

type Broker = NetBroker<RaftPartition>;
let net: RaftNet<RaftPartition>;
const dirs: string[] = [];

afterEach(async () => {
  await net?.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

interface ClusterOptions {
  readonly maxMessageBytes?: number;
  /** Sees every records request and may change its reply (a sender whose log changes, or a bad one). */
  readonly reply?: (req: RecordsRequest, reply: RecordsReply) => RecordsReply;
}

function cluster(o: ClusterOptions = {}): RaftNet<RaftPartition> {
  const n: RaftNet<RaftPartition> = new RaftNet<RaftPartition>({
    cacheBytesPerGroup: 0,
    open: ({ id, host, logs, journal }) =>
      openReplica({
        host,
        logManager: logs,
        journal,
        topic: 'c',
        partition: 0,
        group: 3,
        nodeId: id,
        voters: [0, 1, 2],
        logConfig,
        limits: () => ({ maxMessageBytes: o.maxMessageBytes ?? 1 << 20, timestampType: 'CreateTime', timestampDifferenceMaxMs: Infinity }),
        minInsyncReplicas: () => 1,
        // Short, so a killed follower leaves the ISR soon: the leader compacts for the cleaner only
        // up to what its in-sync followers have.
        replicaLagTimeMaxMs: 300,
        timing: { electionTicks: 10, heartbeatTicks: 1 },
        logger: silentLogger(),
        compacted: () => true,
        // The transport's request path, in process: the named broker's replica answers.
        fetchRecords: async (node, req) => {
          const b = n.brokers.get(node);
          if (!b?.up) throw new Error(`broker ${node} is down`);
          const decoded = decodeRecordsRequest(encodeRecordsRequest(req));
          const reply = decodeRecordsReply(encodeRecordsReply(await b.app.recordsFor(decoded)));
          return o.reply ? o.reply(decoded, reply) : reply;
        },
      }),
    close: (p) => p.close(),
  });
  return n;
}

async function leaderOf(n: RaftNet<RaftPartition>): Promise<Broker> {
  for (let i = 0; i < 1000; i++) {
    const ls = n.running().filter((b) => b.app.isLeader());
    if (ls.length === 1) return ls[0] as Broker;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no single leader');
}

/**
 * Appends one record through whoever leads (acks=all). A loaded machine may move leadership
 * mid-test; a retried record may then be stored twice, which changes no key's last value.
 */
async function append(n: RaftNet<RaftPartition>, r: KeyedRecord): Promise<void> {
  for (;;) {
    const l = await leaderOf(n);
    try {
      await l.app.append(keyedBatch([r]), -1);
      return;
    } catch (err) {
      if (!(err instanceof KafkaError && err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER)) throw err;
    }
  }
}

function logOf(b: Broker): FilePartitionLog {
  const log = b.logs.openLogs()[0];
  if (log === undefined) throw new Error(`broker ${b.id} has no open log`);
  return log;
}

/** Retention (raft log compaction) and cleaning until nothing more is cleaned, on every running broker. */
async function compactAll(n: RaftNet<RaftPartition>): Promise<void> {
  for (const b of n.running()) {
    await b.app.applyRetention(Date.now());
    for (let i = 0; i < 50 && (await b.logs.cleaner.cleanOnce()) !== null; i++);
  }
}

async function recordsOf(b: Broker): Promise<ReadRecord[]> {
  return (await readLog(logOf(b), 4096, 0)).records;
}

describe('replicated compacted partitions', () => {
  it('a follower restarted after its leader compacted copies the records with the snapshot; all replicas converge', async () => {
    net = cluster();
    for (const id of [0, 1, 2]) await net.start(id);
    const first = await leaderOf(net);
    const follower = net.running().find((b) => b !== first) as Broker;
    await net.kill(follower.id);

    const written: KeyedRecord[] = [];
    for (let i = 0; i < 400; i++) {
      const r: KeyedRecord = { key: `k${i % 17}`, value: i % 97 === 5 ? null : `v${i}`.padEnd(40, '.') };
      written.push(r);
      await append(net, r);
    }
    const leader = await leaderOf(net);
    const others = net.running();
    await net.until(() => others.every((b) => b.app.applied === leader.app.applied), 'the running replicas applied everything');
    await net.until(() => !leader.app.isr().includes(follower.id), 'the killed follower left the ISR');
    await compactAll(net);
    const snapshotOffset = leader.app.storage.snapshotOffset();
    expect(snapshotOffset).toBeGreaterThan(200);
    const compacted = await recordsOf(leader);
    expect(compacted.length).toBeLessThan(200);

    let snapshots = 0;
    net.drop = (_from, to, m) => {
      if (to === follower.id && m.type === MessageType.InstallSnapshot) snapshots++;
      return false;
    };
    const back = await net.restart(follower.id);
    await net.until(() => back.app.applied === leader.app.applied, 'the follower caught up through a snapshot', 20_000);
    expect(snapshots).toBeGreaterThan(0);
    expect(back.app.storage.snapshotOffset()).toBeGreaterThanOrEqual(snapshotOffset);
    // The follower's log below the snapshot is the leader's, byte for byte.
    expect(await recordsOf(back)).toEqual(compacted);
    expect(fs.readdirSync(path.join(back.dir, 'c-0')).filter(isStagedRecordsFile)).toEqual([]);

    // More writes, then every replica compacts on its own: the same records everywhere.
    for (let i = 400; i < 480; i++) {
      const r: KeyedRecord = { key: `k${i % 23}`, value: `v${i}`.padEnd(40, '.') };
      written.push(r);
      await append(net, r);
    }
    const now = await leaderOf(net);
    await net.until(() => net.running().every((b) => b.app.applied === now.app.applied), 'every replica applied everything');
    await compactAll(net);
    const expected = await recordsOf(now);
    for (const b of net.running()) expect(await recordsOf(b), `broker ${b.id}`).toEqual(expected);
    const latest = new Map<string, string | null>();
    for (const r of expected) if (r.key !== null) latest.set(r.key, r.value);
    expect(latest).toEqual(latestByKey(written));
  });

  it('batches larger than a request are copied in pieces, each checked whole; a batch that changed under the copy is taken again, a corrupt one fails the copy', async () => {
    const MiB = 1 << 20;
    const requests: RecordsRequest[] = [];
    let changed = false;
    let corrupted = false;
    net = cluster({
      maxMessageBytes: 8 * MiB,
      reply: (req, reply) => {
        requests.push(req);
        const p = reply.piece;
        if (p === undefined || p.at === 0) return reply;
        // The sender's cleaner rewriting the batch between two pieces: it answers with another CRC.
        if (!changed) {
          changed = true;
          return { ...reply, piece: { ...p, crc: (p.crc + 1) >>> 0 } };
        }
        // One flipped bit on the way: only the whole batch's CRC can tell.
        if (!corrupted && p.at + reply.batches.length === p.size) {
          corrupted = true;
          const bad = Buffer.from(reply.batches);
          bad[bad.length - 10]! ^= 0x04;
          return { ...reply, batches: bad };
        }
        return reply;
      },
    });
    for (const id of [0, 1, 2]) await net.start(id);
    const first = await leaderOf(net);
    const follower = net.running().find((b) => b !== first) as Broker;
    await net.kill(follower.id);

    const written: KeyedRecord[] = [];
    const big = (n: number): string => randomBytes(n / 2).toString('hex');
    for (let i = 0; i < 60; i++) {
      // Batches of 5 and 2.5 MiB (more than a 4 MiB transport frame, more than a 1 MiB request) among small ones.
      const value = i % 20 === 7 ? big(5 * MiB) : i % 20 === 13 ? big(2.5 * MiB) : `v${i}`.padEnd(40, '.');
      const r: KeyedRecord = { key: `k${i % 9}`, value };
      written.push(r);
      await append(net, r);
    }
    const leader = await leaderOf(net);
    await net.until(() => net.running().every((b) => b.app.applied === leader.app.applied), 'the running replicas applied everything');
    await net.until(() => !leader.app.isr().includes(follower.id), 'the killed follower left the ISR');
    await compactAll(net);
    expect(leader.app.storage.snapshotOffset()).toBeGreaterThan(50);
    const compacted = await recordsOf(leader);
    expect(compacted.some((r) => (r.value?.length ?? 0) > 4 * MiB)).toBe(true);

    const back = await net.restart(follower.id);
    await net.until(() => back.app.applied === leader.app.applied, 'the follower caught up through a snapshot', 30_000);
    expect(await recordsOf(back)).toEqual(compacted);
    expect(changed && corrupted).toBe(true);
    const pieces = requests.filter((r) => r.skip !== undefined && r.skip > 0);
    expect(pieces.length).toBeGreaterThan(5);
    expect(requests.every((r) => r.maxBytes === RECORDS_CHUNK_BYTES)).toBe(true);
    expect(fs.readdirSync(path.join(back.dir, 'c-0')).filter(isStagedRecordsFile)).toEqual([]);
  });

  /**
   * Three replicas, one killed while the leader takes small records and batches of 5 and 2.5 MiB
   * (copied in pieces of 1 MiB) and compacts; returns the follower (down) and what the leader
   * then stores.
   */
  async function compactedWithoutFollower(): Promise<{ follower: Broker; leader: Broker; compacted: ReadRecord[] }> {
    for (const id of [0, 1, 2]) await net.start(id);
    const first = await leaderOf(net);
    const follower = net.running().find((b) => b !== first) as Broker;
    await net.kill(follower.id);
    const big = (n: number): string => randomBytes(n / 2).toString('hex');
    for (let i = 0; i < 40; i++) {
      const value = i % 20 === 7 ? big(5 << 20) : i % 20 === 13 ? big(2.5 * (1 << 20)) : `v${i}`.padEnd(40, '.');
      await append(net, { key: `k${i % 9}`, value });
    }
    const leader = await leaderOf(net);
    await net.until(() => net.running().every((b) => b.app.applied === leader.app.applied), 'the running replicas applied everything');
    await net.until(() => !leader.app.isr().includes(follower.id), 'the killed follower left the ISR');
    await compactAll(net);
    return { follower, leader, compacted: await recordsOf(leader) };
  }

  it('a copy that failed part way continues from what the staging file holds when the snapshot comes again; a torn batch at its end is taken again', async () => {
    const requests: RecordsRequest[] = [];
    let failedAt = -1;
    let stagingDir = '';
    net = cluster({
      maxMessageBytes: 8 << 20,
      reply: (req, reply) => {
        requests.push(req);
        if (failedAt < 0 && req.skip !== undefined && req.skip >= 2 << 20) {
          failedAt = requests.length - 1;
          // What a power loss may leave of unsynced writes: the end of the last piece is gone.
          const file = fs.readdirSync(stagingDir).find(isStagedRecordsFile)!;
          const fd = fs.openSync(path.join(stagingDir, file), 'r+');
          fs.writeSync(fd, Buffer.alloc(100), 0, 100, fs.fstatSync(fd).size - 100);
          fs.closeSync(fd);
          throw new Error('the sender went away');
        }
        return reply;
      },
    });
    const { follower, leader, compacted } = await compactedWithoutFollower();
    stagingDir = path.join(follower.dir, 'c-0');
    const back = await net.restart(follower.id);
    await net.until(() => back.app.applied === leader.app.applied, 'the follower caught up through a snapshot', 30_000);
    expect(await recordsOf(back)).toEqual(compacted);
    expect(failedAt).toBeGreaterThan(0);
    const failed = requests[failedAt]!;
    const start = requests[0]!;
    const after = requests.slice(failedAt + 1);
    // Continued where the file ended, not from the start of the copy...
    expect(after[0]).toEqual(failed);
    expect(after.some((r) => r.from === start.from && r.skip === 0)).toBe(false);
    // ...and the batch whose end was torn was taken again from its start once its CRC failed.
    const retaken = after.findIndex((r) => r.skip === 0);
    expect(after[retaken]!.from).toBeLessThanOrEqual(failed.from);
    expect(after.slice(1, retaken).every((r) => r.from === failed.from && r.skip! > failed.skip!)).toBe(true);
    expect(fs.readdirSync(stagingDir).filter(isStagedRecordsFile)).toEqual([]);
  });

  it('a copy interrupted by a restart continues after it from what the staging file holds', async () => {
    const requests: RecordsRequest[] = [];
    let killedAt = -1;
    let victim = -1;
    let killed: Promise<void> = Promise.resolve();
    net = cluster({
      maxMessageBytes: 8 << 20,
      reply: (req, reply) => {
        requests.push(req);
        if (killedAt < 0 && req.skip !== undefined && req.skip >= 3 << 20) {
          killedAt = requests.length - 1;
          killed = net.kill(victim);
          throw new Error('the requester is gone');
        }
        return reply;
      },
    });
    const { follower, leader, compacted } = await compactedWithoutFollower();
    victim = follower.id;
    await net.restart(follower.id);
    await net.until(() => killedAt >= 0, 'the follower killed during its copy', 30_000);
    await killed;
    const staged = fs.readdirSync(path.join(follower.dir, 'c-0')).filter(isStagedRecordsFile);
    expect(staged).toHaveLength(1);
    const back = await net.start(follower.id, follower.dir);
    await net.until(() => back.app.applied === leader.app.applied, 'the follower caught up through a snapshot', 30_000);
    expect(await recordsOf(back)).toEqual(compacted);
    const after = requests.slice(killedAt + 1);
    expect(after[0]).toEqual(requests[killedAt]);
    expect(after.some((r) => r.from === requests[0]!.from && r.skip === 0)).toBe(false);
  });

  it('the records request refuses what is not committed and bad input, with a message naming it', async () => {
    net = cluster();
    for (const id of [0, 1, 2]) await net.start(id);
    const leader = await leaderOf(net);
    await leader.app.append(keyedBatch([{ key: 'a', value: '1' }]), -1);
    const hwm = leader.app.highWatermark();
    await expect(leader.app.recordsFor({ topic: 'c', partition: 0, from: 0, to: hwm + 5, maxBytes: 1024 })).rejects.toThrow(/committed up to/);
    expect(() => decodeRecordsRequest(Buffer.from('{"topic":"c"'))).toThrow(/not JSON/);
    expect(() => decodeRecordsRequest(encodeRecordsRequest({ topic: 'c', partition: 0, from: 9, to: 3, maxBytes: 1 }))).toThrow(/bad range/);
    expect(() => decodeRecordsReply(Buffer.from([0, 0, 0, 9, 1]))).toThrow(/truncated/);
    const r = await leader.app.recordsFor({ topic: 'c', partition: 0, from: 0, to: hwm, maxBytes: 1024 });
    expect(r.next).toBe(hwm);
    expect(r.batches.length).toBeGreaterThan(0);
    expect(() => decodeRecordsRequest(encodeRecordsRequest({ topic: 'c', partition: 0, from: 0, to: 3, maxBytes: 1, skip: -1 }))).toThrow(/bad skip/);
    const badPiece = Buffer.from(JSON.stringify({ next: 0, piece: { baseOffset: 0, lastOffset: 0, size: 100, crc: 1, at: 90 } }));
    const reply = Buffer.concat([Buffer.from([0, 0, 0, badPiece.length]), badPiece, Buffer.alloc(20)]);
    expect(() => decodeRecordsReply(reply)).toThrow(/bad piece/);
  });

  it('a records reply is no larger than the server allows, whatever the request asks; a piece past the batch is refused', async () => {
    net = cluster({ maxMessageBytes: 8 << 20 });
    for (const id of [0, 1, 2]) await net.start(id);
    const leader = await leaderOf(net);
    for (let i = 0; i < 12; i++) await leader.app.append(keyedBatch([{ key: `k${i}`, value: 'x'.repeat(400 * 1024) }]), -1);
    await leader.app.append(keyedBatch([{ key: 'big', value: 'y'.repeat(3 << 20) }]), -1);
    const hwm = leader.app.highWatermark();
    const whole = await leader.app.recordsFor({ topic: 'c', partition: 0, from: 0, to: hwm, maxBytes: 1 << 30 });
    expect(whole.batches.length).toBeLessThanOrEqual(MAX_RECORDS_CHUNK_BYTES);
    expect(whole.next).toBeLessThan(hwm);
    const bigAt = hwm - 1;
    const piece = await leader.app.recordsFor({ topic: 'c', partition: 0, from: bigAt, to: hwm, maxBytes: 1 << 30, skip: 0 });
    expect(piece.piece).toMatchObject({ baseOffset: bigAt, lastOffset: bigAt, at: 0 });
    expect(piece.batches.length).toBe(MAX_RECORDS_CHUNK_BYTES);
    expect(piece.next).toBe(bigAt);
    const size = piece.piece!.size;
    const rest = await leader.app.recordsFor({ topic: 'c', partition: 0, from: bigAt, to: hwm, maxBytes: 1 << 30, skip: MAX_RECORDS_CHUNK_BYTES });
    expect(rest.batches.length).toBe(size - MAX_RECORDS_CHUNK_BYTES);
    expect(rest.next).toBe(hwm);
    await expect(leader.app.recordsFor({ topic: 'c', partition: 0, from: bigAt, to: hwm, maxBytes: 1024, skip: size })).rejects.toThrow(/skip \d+ of batch \d+, which has \d+ bytes/);
  });
});

/** A batch of `count` keyed records stamped at `base` (as a leader stamps it), epoch `epoch`. */
function stamped(base: number, count: number, epoch: number): Buffer {
  const b = keyedBatch(Array.from({ length: count }, (_, i) => ({ key: `k${base + i}`, value: `v${base + i}` })), undefined, 1_700_000_000_000);
  writeInt64(b, base, BatchField.baseOffset);
  b.writeInt32BE(epoch, BatchField.partitionLeaderEpoch);
  return b;
}

interface Opened {
  readonly logs: FileLogManager;
  readonly journal: HardStateJournal;
  readonly log: FilePartitionLog;
}

async function openDir(dataDir: string): Promise<Opened> {
  const logger = silentLogger();
  const logs = createLogManager({ dataDir, logger });
  const journal = await HardStateJournal.open(path.join(dataDir, 'raft'), logs.committer, logger);
  const log = await logs.open('c', 0, logConfig);
  return { logs, journal, log };
}

async function closeDir(o: Opened): Promise<void> {
  await o.logs.close();
  o.journal.close();
}

function snapshotRecord(dir: string, extra: Record<string, unknown>): void {
  const data = encodePartitionSnapshot({ offset: 40, logStartOffset: 0, producers: new ProducerStateTable() });
  fs.writeFileSync(
    path.join(dir, SNAPSHOT_FILE),
    JSON.stringify({ version: 1, index: 12, term: 3, conf: { voters: [1, 2, 3], learners: [] }, offset: 40, data: Buffer.from(data).toString('base64'), ...extra }),
  );
}

const STAGED = stagedRecordsFile(12, 5);

describe('a snapshot install interrupted by a crash', () => {
  // The old log: [0, 10) as entries of term 1. Staged for a snapshot at offset 40: [5, 8), then
  // [20, 24) after a gap the leader's cleaner left.
  async function setUp(): Promise<{ dataDir: string; dir: string; staged: Buffer }> {
    const dataDir = tmpDataDir('chronik-install-');
    dirs.push(dataDir);
    const o = await openDir(dataDir);
    o.log.appendExact(Buffer.concat([stamped(0, 5, 1), stamped(5, 5, 1)]), Date.now(), false);
    await o.log.sync();
    const staged = Buffer.concat([stamped(5, 3, 2), stamped(20, 4, 2)]);
    fs.writeFileSync(path.join(o.log.dir, STAGED), staged);
    const dir = o.log.dir;
    await closeDir(o);
    return { dataDir, dir, staged };
  }

  async function openStorage(dataDir: string): Promise<Opened & { storage: PartitionRaftStorage }> {
    const o = await openDir(dataDir);
    const storage = await PartitionRaftStorage.open({ group: 3, log: o.log, journal: o.journal, initialConf: { voters: [1, 2, 3], learners: [] }, logger: silentLogger() });
    return { ...o, storage };
  }

  it('after the snapshot record says it is installing from the staged records: open redoes the copy', async () => {
    const { dataDir, dir, staged } = await setUp();
    snapshotRecord(dir, { installing: true, records: { from: 5, file: STAGED } });
    // The crash came half way through the copy: the log was cut and got only the first batch.
    {
      const o = await openDir(dataDir);
      await o.log.truncateTo(5);
      o.log.appendCopied(stamped(5, 3, 2), Date.now());
      await o.log.sync();
      await closeDir(o);
    }
    const o = await openStorage(dataDir);
    try {
      expect(o.storage.snapshotOffset()).toBe(40);
      expect(o.log.logEndOffset()).toBe(40);
      // The entries after the snapshot begin a segment of their own, as on the leader.
      expect(o.log.segmentBaseOffsets().at(-1)).toBe(40);
      expect(fs.existsSync(path.join(dir, STAGED))).toBe(false);
      expect(((decodeCheckedJson(fs.readFileSync(path.join(dir, SNAPSHOT_FILE))) as { value: { installing?: boolean } }).value).installing).toBeUndefined();
      const stored = (await o.log.readStored(0, 1 << 20)).records;
      // Old [0, 5), then the staged batches byte for byte, then a gap marker up to 40.
      const head = stamped(0, 5, 1);
      expect(stored.subarray(0, head.length)).toEqual(head);
      expect(stored.subarray(head.length, head.length + staged.length)).toEqual(staged);
      const tail = stored.subarray(head.length + staged.length);
      expect(readInt64(tail, BatchField.baseOffset)).toBe(24);
      expect(tail.readInt32BE(BatchField.batchLength) + LOG_OVERHEAD).toBe(tail.length);
      expect(readInt64(tail, BatchField.baseOffset) + tail.readInt32BE(BatchField.lastOffsetDelta)).toBe(39);
      const offsets = (await readLog(o.log, 4096, 0)).records.map((r) => r.offset);
      expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23]);
    } finally {
      await closeDir(o);
    }
  });

  it('before it: the old log stays as it was, the staged records stay for the next copy to continue (a file of the older name, which does not say where they begin, goes)', async () => {
    const { dataDir, dir, staged } = await setUp();
    const older = 'snapshot-records.12.staged';
    fs.writeFileSync(path.join(dir, older), staged);
    const o = await openStorage(dataDir);
    try {
      expect(fs.readFileSync(path.join(dir, STAGED))).toEqual(staged);
      expect(fs.existsSync(path.join(dir, older))).toBe(false);
      expect(o.log.logEndOffset()).toBe(10);
      expect((await readLog(o.log, 4096, 0)).records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await closeDir(o);
    }
  });

  it('a compacted replica whose log lost records below its snapshot starts over to copy them; other logs reset to the snapshot offset', async () => {
    const { dataDir, dir } = await setUp();
    fs.rmSync(path.join(dir, STAGED));
    snapshotRecord(dir, {});
    const logger = silentLogger();
    {
      const o = await openDir(dataDir);
      const storage = await PartitionRaftStorage.open({ group: 3, log: o.log, journal: o.journal, initialConf: { voters: [1, 2, 3], learners: [] }, logger, recordsBelowSnapshot: true });
      expect(storage.snapshot().index).toBe(0);
      expect(storage.snapshotOffset()).toBe(10);
      expect(storage.snapshot().conf.voters).toEqual([1, 2, 3]);
      // The records it still has stay readable.
      expect((await readLog(o.log, 4096, 0)).records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await closeDir(o);
    }
    snapshotRecord(dir, {});
    const o = await openStorage(dataDir);
    try {
      expect(o.storage.snapshotOffset()).toBe(40);
      expect(o.log.logEndOffset()).toBe(40);
    } finally {
      await closeDir(o);
    }
  });

  it('a reply is cut at the snapshot offset and at maxBytes, never inside a batch', () => {
    const batches = Buffer.concat([stamped(0, 2, 1), stamped(2, 2, 1), stamped(10, 1, 1)]);
    const one = stamped(0, 2, 1).length;
    expect(cutReply(batches, 0, 10, one)).toMatchObject({ next: 2 });
    expect(cutReply(batches, 0, 10, one).batches.length).toBe(one);
    // Everything below 10 fits: the rest up to 10 is a gap, the requester is done.
    expect(cutReply(batches, 0, 10, 1 << 20)).toMatchObject({ next: 10 });
    expect(cutReply(Buffer.alloc(0), 4, 10, 1024)).toMatchObject({ next: 10 });
  });
});
