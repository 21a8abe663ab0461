/**
 * A follower whose partition segment loses its tail while it is down (kill -9, then the last
 * batches corrupted on disk: the broker finds them by CRC at start-up and cuts them) gets every
 * lost batch back from the same leader, in the same term, and ends byte-identical with it; a
 * leader that loses its segment's tail and the newest records of its hard-state journal while down
 * comes back as a follower of the new leader and gets everything back. No acknowledged write is
 * lost. Real broker processes on loopback.
 */
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type ITopicMetadata } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';

const TOPIC = 'amnesia';
const quiet = { logLevel: logLevel.NOTHING };

function kafkaOf(c: ProcessCluster): Kafka {
  const live = c.members.filter((m) => !m.process.exited).map((m) => m.process.bootstrap);
  return new Kafka({ clientId: 'lost-tail-test', brokers: live, ...quiet, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 1000 } });
}

/** Waits for `cond` (a bound on how long, never an assertion on time); a throwing check counts as not yet. */
async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function partition0(admin: Admin): Promise<ITopicMetadata['partitions'][number]> {
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const p = md.topics.find((t) => t.name === TOPIC)?.partitions.find((x) => x.partitionId === 0);
  if (!p) throw new Error('no metadata for the partition');
  return p;
}

function segmentFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, `${TOPIC}-0`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => path.join(dir, f));
}

function segmentBytes(dataDir: string): Buffer {
  return Buffer.concat(segmentFiles(dataDir).map((f) => readFileSync(f)));
}

/** (position, base offset, partition leader epoch) of every record batch in a segment's bytes. */
function batches(bytes: Buffer): { at: number; base: number; size: number; epoch: number }[] {
  const out: { at: number; base: number; size: number; epoch: number }[] = [];
  for (let at = 0; at + 61 <= bytes.length; ) {
    const size = 12 + bytes.readInt32BE(at + 8);
    if (at + size > bytes.length) break;
    out.push({ at, base: Number(bytes.readBigInt64BE(at)), size, epoch: bytes.readInt32BE(at + 12) });
    at += size;
  }
  return out;
}

interface Produced {
  readonly offset: number;
  readonly value: string;
}

async function produce(kafka: Kafka, from: number, count: number): Promise<Produced[]> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const out: Produced[] = [];
  try {
    for (let i = from; i < from + count; i++) {
      const value = `w${i}`.padEnd(120, '.');
      const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ value, partition: 0 }] });
      out.push({ offset: Number(meta!.baseOffset), value });
    }
  } finally {
    await producer.disconnect();
  }
  return out;
}

/** Flips a byte in the batch `fromEnd` batches before the end of the newest segment; returns the newest epoch. */
function corruptBatchFromEnd(dataDir: string, fromEnd: number): number {
  const files = segmentFiles(dataDir);
  const newest = files[files.length - 1] as string;
  const bytes = readFileSync(newest);
  const list = batches(bytes);
  expect(list.length).toBeGreaterThan(fromEnd + 10);
  const victim = list[list.length - fromEnd]!;
  const flip = victim.at + victim.size - 3;
  bytes[flip] = (bytes[flip] as number) ^ 0xff;
  writeFileSync(newest, bytes);
  return list[list.length - 1]!.epoch;
}

/** Every acknowledged write sits at its acknowledged offset in the replica's segments. */
function expectAllAcked(dir: string, acked: readonly Produced[]): void {
  const seg = segmentBytes(dir);
  const byOffset = new Map(batches(seg).map((b) => [b.base, seg.subarray(b.at, b.at + b.size)]));
  for (const a of acked) {
    const b = byOffset.get(a.offset);
    expect(b, `offset ${a.offset} on ${dir}`).toBeDefined();
    expect(b!.includes(Buffer.from(a.value)), `value at ${a.offset}`).toBe(true);
  }
}

describe('a follower whose segment lost its tail', () => {
  let cluster: ProcessCluster;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3 });
    admin = kafkaOf(cluster).admin();
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });

  it('gets the lost batches back from the unchanged leader and ends byte-identical, losing nothing acknowledged', async () => {
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
      // The preferred replica leads (so no hand-back of leadership interferes later).
      await eventually('the preferred replica leading with a full ISR', async () => {
        const p = await partition0(admin);
        return p.leader === p.replicas[0] && p.isr.length === 3;
      });
      const before = await partition0(admin);
      const leader = before.leader;
      const follower = before.replicas[2] as number;
      const acked = await produce(kafkaOf(cluster), 0, 80);

      // The follower holds (and so has acknowledged) every batch before it goes down.
      const leaderDir = cluster.member(leader).process.dataDir;
      const followerDir = cluster.member(follower).process.dataDir;
      await eventually('the follower holding the whole log', () => segmentBytes(followerDir).equals(segmentBytes(leaderDir)));
      await cluster.kill(follower);

      // Corrupt a batch 30 from the end of its newest segment: start-up cuts it and all after it.
      const files = segmentFiles(followerDir);
      const newest = files[files.length - 1] as string;
      const bytes = readFileSync(newest);
      const list = batches(bytes);
      expect(list.length).toBeGreaterThan(40);
      const victim = list[list.length - 30]!;
      const flip = victim.at + victim.size - 3;
      bytes[flip] = (bytes[flip] as number) ^ 0xff;
      writeFileSync(newest, bytes);
      const epochBefore = list[list.length - 1]!.epoch;

      await cluster.start(follower);
      const logs = (): string => cluster.member(follower).process.logs();
      expect(logs()).toContain('truncating torn or corrupt segment tail');
      expect(logs()).toContain('replica log lost entries it may have acknowledged');

      // Writes go on meanwhile; the leader must give the lost batches back and stream the new ones.
      acked.push(...(await produce(kafkaOf(cluster), 80, 40)));
      await eventually('the follower back in the ISR', async () => (await partition0(admin)).isr.includes(follower));
      await eventually('byte-identical segment files', () => {
        try {
          return segmentBytes(followerDir).equals(segmentBytes(leaderDir));
        } catch {
          return false;
        }
      });
      await eventually('the recovery logged', () => logs().includes('replica recovered its lost log tail'));

      // Same leader, same term: every batch, old and new, carries the one leader epoch.
      const after = await partition0(admin);
      expect(after.leader).toBe(leader);
      const all = batches(segmentBytes(leaderDir));
      expect(new Set(all.map((b) => b.epoch))).toEqual(new Set([epochBefore]));
      expect(all.length).toBe(acked.length);

      // Nothing acknowledged is lost: every write sits at its acknowledged offset, on both replicas.
      for (const dir of [leaderDir, followerDir]) {
        const seg = segmentBytes(dir);
        const byOffset = new Map(batches(seg).map((b) => [b.base, seg.subarray(b.at, b.at + b.size)]));
        for (const a of acked) {
          const b = byOffset.get(a.offset);
          expect(b, `offset ${a.offset} on ${dir}`).toBeDefined();
          expect(b!.includes(Buffer.from(a.value)), `value at ${a.offset}`).toBe(true);
        }
      }
      const metrics = await (await fetch(`http://127.0.0.1:${cluster.member(follower).process.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/^chronik_raft_recovering_replicas 0$/m);
    } catch (err) {
      console.log(cluster.logs().slice(-30_000));
      throw err;
    }
  }, 240_000);
});

describe('a leader whose segment and hard-state journal lost their tails', () => {
  let cluster: ProcessCluster;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3 });
    admin = kafkaOf(cluster).admin();
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });

  it('comes back following the new leader, gets everything back, and nothing acknowledged is lost', async () => {
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
      await eventually('a leader with a full ISR', async () => {
        const p = await partition0(admin);
        return p.leader >= 0 && p.isr.length === 3;
      });
      const oldLeader = (await partition0(admin)).leader;
      const acked = await produce(kafkaOf(cluster), 0, 80);
      const oldDir = cluster.member(oldLeader).process.dataDir;
      await cluster.kill(oldLeader);

      corruptBatchFromEnd(oldDir, 30);
      // The journal loses its newest records too (terms, votes, commit, where each log ended).
      const journal = path.join(oldDir, 'raft', 'hardstate.journal');
      truncateSync(journal, statSync(journal).size - 3 * 41 - 7);

      // The others elect a leader and take writes while it is down.
      await eventually('a new leader', async () => {
        const p = await partition0(admin);
        return p.leader >= 0 && p.leader !== oldLeader;
      });
      acked.push(...(await produce(kafkaOf(cluster), 80, 40)));
      const newLeader = (await partition0(admin)).leader;
      const newDir = cluster.member(newLeader).process.dataDir;

      await cluster.start(oldLeader);
      const logs = (): string => cluster.member(oldLeader).process.logs();
      expect(logs()).toContain('truncating torn or corrupt segment tail');
      expect(logs()).toContain('hard-state file had a torn or corrupt tail');
      expect(logs()).toContain('replica starts a new incarnation');
      acked.push(...(await produce(kafkaOf(cluster), 120, 20)));

      await eventually('the old leader back in the ISR', async () => (await partition0(admin)).isr.includes(oldLeader));
      await eventually('byte-identical segment files on all three', () => {
        try {
          const lead = segmentBytes(newDir);
          return cluster.members.every((m) => segmentBytes(m.process.dataDir).equals(lead));
        } catch {
          return false;
        }
      });
      for (const m of cluster.members) expectAllAcked(m.process.dataDir, acked);
      expect(batches(segmentBytes(newDir)).length).toBe(acked.length);
      const metrics = await (await fetch(`http://127.0.0.1:${cluster.member(oldLeader).process.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/^chronik_raft_recovering_replicas 0$/m);
    } catch (err) {
      console.log(cluster.logs().slice(-30_000));
      throw err;
    }
  }, 240_000);
});
