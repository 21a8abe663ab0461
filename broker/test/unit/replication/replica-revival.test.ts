/**
 * A leader whose log is damaged on disk (a batch that fails its CRC on every read, as a
 * misdirected write leaves it) stops serving from it, is opened again from disk, cuts its log at
 * the damage and gets the lost entries back from the replica that took over: three real logs,
 * real files, an in-memory network.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchField, LOG_OVERHEAD, buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { openReplica, type OpenReplicaOptions } from '../../../src/replication/open-replica.js';
import type { RaftPartition } from '../../../src/replication/raft-partition.js';
import { LogScrubber } from '../../../src/replication/log-scrubber.js';
import { ReplicaRevival, reopenReplica } from '../../../src/replication/replica-revival.js';
import { RaftNet, type OpenContext } from '../../helpers/raft-net.js';
import { config } from '../log/helpers.js';
import { committedValues } from '../../helpers/partition-values.js';

const GROUP = 7;

interface Replica {
  current: RaftPartition;
  revival: ReplicaRevival;
}

function options(ctx: OpenContext): OpenReplicaOptions {
  return {
    host: ctx.host,
    logManager: ctx.logs,
    journal: ctx.journal,
    topic: 't',
    partition: 0,
    group: GROUP,
    nodeId: ctx.id,
    voters: [0, 1, 2],
    logConfig: config({ indexIntervalBytes: 4096 }),
    limits: () => ({ maxMessageBytes: 1 << 20, timestampType: 'CreateTime', timestampDifferenceMaxMs: Infinity }),
    minInsyncReplicas: () => 1,
    replicaLagTimeMaxMs: 10_000,
    timing: { electionTicks: 10, heartbeatTicks: 1 },
    logger: silentLogger(),
  };
}

let net: RaftNet<Replica> | null = null;
afterEach(async () => {
  await net?.close();
  net = null;
});

function batch(value: string): Buffer {
  return buildRecordBatch({ records: [{ value, timestamp: 1_700_000_000_000 }] });
}

function segmentFile(dir: string): string {
  const pdir = path.join(dir, 't-0');
  return path.join(pdir, readdirSync(pdir).filter((f) => f.endsWith('.log')).sort()[0] as string);
}

/** Overwrites the record bytes of the `n`th batch of the first segment (its CRC no longer matches). */
function damageBatch(dir: string, n: number): void {
  const file = segmentFile(dir);
  const bytes = readFileSync(file);
  let pos = 0;
  for (let i = 0; i < n; i++) pos += LOG_OVERHEAD + bytes.readInt32BE(pos + BatchField.batchLength);
  const end = pos + LOG_OVERHEAD + bytes.readInt32BE(pos + BatchField.batchLength);
  bytes.fill(0x5a, end - 8, end);
  writeFileSync(file, bytes);
}

function revivingNet(): RaftNet<Replica> {
  return new RaftNet<Replica>({
    // A tiny entry cache: a follower catching up is served from the segments.
    cacheBytesPerGroup: 1,
    open: async (ctx) => {
      const holder: Replica = { current: await openReplica(options(ctx)), revival: new ReplicaRevival({ logger: silentLogger(), firstDelayMs: 50 }) };
      ctx.host.onGroupFailed = (group, err) => {
        if (group !== GROUP) return;
        holder.revival.schedule(group, err, async () => {
          holder.current = await reopenReplica(holder.current, err, ctx.host, silentLogger(), () => openReplica({ ...options(ctx), reopened: true }));
        });
      };
      return holder;
    },
    close: (r) => {
      r.revival.close();
      r.current.close();
    },
  });
}

describe('replica revival', () => {
  it('a leader that finds a batch of its log damaged for good steps out, is opened again, cuts there and recovers the entries from its peers', async () => {
    net = revivingNet();
    for (const id of [0, 1, 2]) await net.start(id);
    await net.until(() => net!.running().filter((b) => b.app.current.isLeader()).length === 1, 'a leader');
    const leader = net.running().find((b) => b.app.current.isLeader())!;
    const lagging = net.running().find((b) => b !== leader)!;
    const other = net.running().find((b) => b !== leader && b !== lagging)!;
    await net.kill(lagging.id);
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const v of values) await leader.app.current.append(batch(v), -1);
    await net.until(() => other.app.current.highWatermark() === 20, 'the other follower has everything');
    // The leader's copy of the fourth batch goes bad on disk; the follower that comes back needs it.
    await leader.app.current.storage.sync();
    damageBatch(leader.dir, 3);
    const back = await net.restart(lagging.id);
    await net.until(() => leader.app.revival.revived === 1, 'the leader opened again', 20_000);
    await net.until(
      () => net!.running().every((b) => b.app.current.highWatermark() === 20 && b.app.current.storage.lastIndex() === other.app.current.storage.lastIndex()),
      'every replica whole again',
      20_000,
    );
    const nowLeading = net.running().find((b) => b.app.current.isLeader())!;
    expect(nowLeading.id).not.toBe(leader.id);
    expect(await committedValues(nowLeading.app.current)).toEqual(values);
    // The revived replica holds the same bytes as the others again, the damaged batch included.
    for (const b of [leader, back]) await b.app.current.storage.sync();
    await other.app.current.storage.sync();
    const reference = readFileSync(segmentFile(other.dir));
    expect(readFileSync(segmentFile(leader.dir)).equals(reference)).toBe(true);
    expect(readFileSync(segmentFile(back.dir)).equals(reference)).toBe(true);
  }, 60_000);

  it('a follower whose log went bad where nothing reads it is found by the scrub, opened again and made whole from the leader', async () => {
    net = revivingNet();
    for (const id of [0, 1, 2]) await net.start(id);
    await net.until(() => net!.running().filter((b) => b.app.current.isLeader()).length === 1, 'a leader');
    const leader = net.running().find((b) => b.app.current.isLeader())!;
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const v of values) await leader.app.current.append(batch(v), -1);
    await net.until(() => net!.running().every((b) => b.app.current.highWatermark() === 20), 'every replica has everything');
    const follower = net.running().find((b) => b !== leader)!;
    await follower.app.current.storage.sync();
    damageBatch(follower.dir, 5);
    // The leader serves from memory and nobody reads the follower's copy: only a scrub looks.
    const scrubber = new LogScrubber({ bytesPerSecond: 1 << 20, replicas: () => [follower.app.current], logger: silentLogger() });
    await scrubber.round();
    await net.until(() => follower.app.revival.revived === 1, 'the follower opened again', 20_000);
    await net.until(() => follower.app.current.highWatermark() === 20 && follower.app.current.storage.lastIndex() === leader.app.current.storage.lastIndex(), 'the follower whole again', 20_000);
    await follower.app.current.storage.sync();
    await leader.app.current.storage.sync();
    expect(readFileSync(segmentFile(follower.dir)).equals(readFileSync(segmentFile(leader.dir)))).toBe(true);
    // A whole log scrubs clean, pass after pass.
    const again = new LogScrubber({ bytesPerSecond: 1 << 20, replicas: () => [follower.app.current], logger: silentLogger() });
    let read = 0;
    for (let i = 0; i < 3; i++) read += await again.round();
    expect(read).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(follower.app.revival.revived).toBe(1);
  }, 60_000);
});
