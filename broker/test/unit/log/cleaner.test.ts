import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchField } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import { ProducerStateTable } from '../../../src/coordinator/producer-state.js';
import { encodeConfEntry } from '../../../src/replication/control-entries.js';
import { EntryType } from '../../../src/raft/types.js';
import { LogCleaner } from '../../../src/log/cleaner.js';
import { cleanerFor, keyedBatch, latestByKey, readLog, type KeyedRecord } from './compaction-helpers.js';
import { config, silent, tmpDir } from './helpers.js';
import type { LogConfig } from '../../../src/log/types.js';

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});
function manager(dataDir = tmpDir('chronik-clean-')): FileLogManager {
  const m = new FileLogManager({ dataDir, logger: silent });
  managers.push(m);
  return m;
}

const compact = (over: Partial<LogConfig> = {}): LogConfig =>
  config({ cleanupPolicy: 'compact', segmentBytes: 1024, minCleanableDirtyRatio: 0, deleteRetentionMs: 0, ...over });

async function openCompacted(over: Partial<LogConfig> = {}, dataDir?: string): Promise<{ m: FileLogManager; log: FilePartitionLog }> {
  const m = manager(dataDir);
  const log = await m.open('c', 0, compact(over));
  log.setCleanableBelow(Infinity);
  return { m, log };
}

async function write(log: FilePartitionLog, records: readonly KeyedRecord[], perBatch = 1): Promise<void> {
  for (let i = 0; i < records.length; i += perBatch) log.append(keyedBatch(records.slice(i, i + perBatch)), 0, Date.now());
  await log.sync();
}

function updates(keys: number, rounds: number): KeyedRecord[] {
  const out: KeyedRecord[] = [];
  for (let r = 0; r < rounds; r++) for (let k = 0; k < keys; k++) out.push({ key: `k${k}`, value: `v${r}-${k}` });
  return out;
}

describe('log cleaner', () => {
  it('keeps the last value of every key at its original offset, and only below the active segment', async () => {
    const { log } = await openCompacted();
    const written = updates(10, 30);
    await write(log, written, 2);
    const before = await readLog(log);
    const segments = log.segmentBaseOffsets();
    expect(segments.length).toBeGreaterThan(5);
    const activeBase = segments.at(-1)!;
    const cleaner = cleanerFor([{ topic: 'c', partition: 0, log }]);
    const result = await cleaner.clean({ topic: 'c', partition: 0, log });
    expect(result?.complete).toBe(true);
    expect(result!.recordsRemoved).toBeGreaterThan(0);
    // groups are formed by the sizes before cleaning (as Kafka does): the next pass merges them
    const merged = await cleaner.clean({ topic: 'c', partition: 0, log });
    expect(merged!.segmentsAfter).toBeLessThan(merged!.segmentsBefore);
    const after = await readLog(log);
    // every key's last value below the active segment survives where it was; the active segment is untouched
    const byOffset = new Map(before.records.map((r) => [r.offset, r]));
    for (const r of after.records) expect(byOffset.get(r.offset)).toEqual(r);
    expect(after.records.filter((r) => r.offset >= activeBase)).toEqual(before.records.filter((r) => r.offset >= activeBase));
    const final = new Map<string, string | null>();
    for (const r of after.records) final.set(r.key!, r.value);
    expect(final).toEqual(latestByKey(written));
    const cleanedKeys = after.records.filter((r) => r.offset < activeBase).map((r) => r.key);
    expect(new Set(cleanedKeys).size).toBe(cleanedKeys.length);
    // small cleaned segments were merged, and the log end did not move
    expect(log.segmentBaseOffsets().length).toBeLessThan(segments.length);
    expect(log.segmentBaseOffsets()[0]).toBe(0);
    expect(log.segmentBaseOffsets().at(-1)).toBe(activeBase);
    expect(log.logEndOffset()).toBe(written.length);
  });

  it('never rewrites at or above the cleanable bound, and nothing before one is set', async () => {
    const m = manager();
    const log = await m.open('c', 0, compact());
    await write(log, updates(5, 40), 2);
    const cleaner = cleanerFor([{ topic: 'c', partition: 0, log }]);
    expect(await cleaner.clean({ topic: 'c', partition: 0, log })).toBeNull();
    const segs = log.segmentBaseOffsets();
    const bound = segs[3]!;
    log.setCleanableBelow(bound + 1);
    const before = await readLog(log);
    await cleaner.clean({ topic: 'c', partition: 0, log });
    const after = await readLog(log);
    expect(after.records.filter((r) => r.offset >= segs[3]!)).toEqual(before.records.filter((r) => r.offset >= segs[3]!));
    expect(after.records.filter((r) => r.offset < segs[3]!).length).toBeLessThan(before.records.filter((r) => r.offset < segs[3]!).length);
    expect(log.segmentBaseOffsets().slice(-segs.length + 3)).toEqual(segs.slice(3));
  });

  it('drops tombstones only after delete.retention.ms, and values they deleted at once', async () => {
    let now = 1_000_000;
    const { log } = await openCompacted({ deleteRetentionMs: 10_000 });
    const ref = { topic: 'c', partition: 0, log };
    const written: KeyedRecord[] = [...updates(4, 10), { key: 'k1', value: null }, { key: 'k2', value: null }, ...updates(1, 40)];
    for (const r of written) log.append(keyedBatch([r], undefined, now), 0, now);
    await log.sync();
    const cleaner = cleanerFor([ref], () => now);
    await cleaner.clean(ref);
    let after = await readLog(log);
    expect(after.records.filter((r) => r.key === 'k1').map((r) => r.value)).toEqual([null]);
    expect(after.records.filter((r) => r.key === 'k2').map((r) => r.value)).toEqual([null]);
    now += 20_000;
    // nothing new is dirty, so the ratio gate would skip it; clean() runs regardless
    for (const r of updates(1, 40)) log.append(keyedBatch([r], undefined, now), 0, now);
    await log.sync();
    await cleaner.clean(ref);
    after = await readLog(log);
    expect(after.records.filter((r) => r.key === 'k1' || r.key === 'k2')).toEqual([]);
    expect(after.records.find((r) => r.key === 'k3')?.value).toBe('v9-3');
  });

  it('keeps each idempotent producer\'s last batch, emptied, so its sequence survives a restart', async () => {
    const dataDir = tmpDir('chronik-clean-');
    const { m, log } = await openCompacted({}, dataDir);
    const pid = 42;
    let seq = 0;
    for (let i = 0; i < 30; i++) {
      log.append(keyedBatch([{ key: 'same', value: `p${i}` }, { key: 'same', value: `q${i}` }], { producerId: pid, producerEpoch: 0, baseSequence: seq }), 0, Date.now());
      seq += 2;
    }
    // then plain writes of the same key supersede everything the producer wrote
    await write(log, Array.from({ length: 60 }, (_, i) => ({ key: 'same', value: `plain${i}` })));
    await cleanerFor([{ topic: 'c', partition: 0, log }]).clean({ topic: 'c', partition: 0, log });
    const after = await readLog(log);
    expect(after.records.filter((r) => /^[pq]\d/.test(r.value ?? ''))).toEqual([]);
    const own = after.batches.filter((b) => b.producerId === pid);
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({ recordCount: 0, baseSequence: 58, lastOffsetDelta: 1 });
    await m.close();
    const reopened = await manager(dataDir).open('c', 0, compact());
    const table = new ProducerStateTable();
    await table.restore(reopened.scanBatches(0));
    // the retry of the last batch is recognised, the next sequence is expected
    expect(table.check({ producerId: pid, producerEpoch: 0, baseSequence: 58, recordCount: 2, isTransactional: false }).kind).toBe('duplicate');
    expect(table.check({ producerId: pid, producerEpoch: 0, baseSequence: 61, recordCount: 1, isTransactional: false }).kind).toBe('error');
    expect(table.check({ producerId: pid, producerEpoch: 0, baseSequence: 60, recordCount: 1, isTransactional: false }).kind).toBe('append');
  });

  it('keeps control batches, fills a removed tail with a gap marker, and recovers the cleaned log', async () => {
    const dataDir = tmpDir('chronik-clean-');
    const { m, log } = await openCompacted({ segmentBytes: 100_000 }, dataDir);
    await write(log, updates(3, 5));
    const conf = encodeConfEntry({ term: 3, index: 1, type: EntryType.ConfChange, data: Buffer.from('conf') }, log.logEndOffset());
    log.appendExact(conf, Date.now(), false);
    await write(log, updates(3, 5));
    // roll by hand: a segment whose last batches are all superseded by the next segment
    const roll = (): void => (log as unknown as { roll(o: number): void }).roll(log.logEndOffset());
    roll();
    await write(log, updates(3, 1));
    roll();
    await write(log, [{ key: 'z', value: 'active' }]);
    const end = log.segmentBaseOffsets()[1]!;
    // no merging of the two cleanable segments, so the first one must end in a gap marker
    log.updateConfig(compact({ segmentBytes: fs.statSync(`${dataDir}/c-0/${'0'.padStart(20, '0')}.log`).size + 1 }));
    await cleanerFor([{ topic: 'c', partition: 0, log }]).clean({ topic: 'c', partition: 0, log });
    const { batches } = await readLog(log);
    const control = batches.filter((b) => b.isControl);
    expect(control.map((b) => b.baseOffset)).toContain(15);
    const gap = control.find((b) => b.lastOffset === end - 1);
    expect(gap).toBeDefined();
    expect(gap!.recordCount).toBe(1);
    const before = await readLog(log);
    await m.close();
    const reopened = await manager(dataDir).open('c', 0, compact({ segmentBytes: 100_000 }));
    expect(reopened.segmentBaseOffsets()).toEqual([0, end, end + 3]);
    expect((await readLog(reopened)).records).toEqual(before.records);
    expect(fs.readdirSync(dataDir + '/c-0').filter((n) => /cleaned|swap/.test(n))).toEqual([]);
  });

  it('cleans in several passes when the key map is too small for the dirty part', async () => {
    const { log } = await openCompacted({ segmentBytes: 4096 });
    const written: KeyedRecord[] = [];
    for (let r = 0; r < 3; r++) for (let k = 0; k < 400; k++) written.push({ key: `key-${k}`, value: `r${r}` });
    await write(log, written, 4);
    const ref = { topic: 'c', partition: 0, log };
    const cleaner = cleanerFor([ref], Date.now, 24 * 150); // about 135 keys per pass
    let passes = 0;
    while (log.cleaningView(Date.now()).dirtyBytes > 0) {
      const r = await cleaner.clean(ref);
      expect(r).not.toBeNull();
      passes++;
      expect(passes).toBeLessThan(50);
    }
    expect(passes).toBeGreaterThan(2);
    const after = await readLog(log);
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    const final = new Map<string, string | null>();
    for (const r of after.records) final.set(r.key!, r.value);
    expect(final).toEqual(latestByKey(written));
    const cleaned = after.records.filter((r) => r.offset < activeBase).map((r) => r.key);
    expect(new Set(cleaned).size).toBe(cleaned.length);
  });

  it('reads past runs of empty batches so a fetch never returns only empty batches', async () => {
    const { log } = await openCompacted({ segmentBytes: 100_000 });
    // 50 producers each write the key once; a plain write supersedes them all
    for (let p = 0; p < 50; p++) log.append(keyedBatch([{ key: 'x', value: `p${p}` }], { producerId: 100 + p, producerEpoch: 0, baseSequence: 0 }), 0, Date.now());
    await write(log, [{ key: 'x', value: 'final' }]);
    (log as unknown as { roll(o: number): void }).roll(log.logEndOffset());
    await write(log, [{ key: 'y', value: 'tail' }]);
    await cleanerFor([{ topic: 'c', partition: 0, log }]).clean({ topic: 'c', partition: 0, log });
    const r = await log.read(0, 10, Infinity);
    let pos = 0;
    let records = 0;
    while (pos < r.records.length) {
      records += r.records.readInt32BE(pos + BatchField.recordCount);
      pos += r.records.readInt32BE(pos + BatchField.batchLength) + 12;
    }
    expect(records).toBe(1);
    expect((await readLog(log, 10)).records.map((x) => x.value)).toEqual(['final', 'tail']);
  });

  it('does not delete a compacted log\'s segments by retention.ms, but does for compact,delete', async () => {
    const { log } = await openCompacted({ retentionMs: 1 });
    await write(log, updates(5, 30), 2);
    const n = log.segmentBaseOffsets().length;
    expect(await log.applyRetention(Date.now() + 10_000)).toBe(0);
    expect(log.segmentBaseOffsets().length).toBe(n);
    log.updateConfig(compact({ retentionMs: 1, cleanupPolicy: 'compact,delete' }));
    expect(await log.applyRetention(Date.now() + 10_000)).toBe(n - 1);
  });

  it('a pass whose segments retention deletes meanwhile gives up its rewrite and leaves a valid log', async () => {
    const dataDir = tmpDir('chronik-clean-');
    const { log } = await openCompacted({ cleanupPolicy: 'compact,delete', retentionMs: 60_000 }, dataDir);
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 60; i++) log.append(keyedBatch([{ key: `k${i % 4}`, value: `old${i}` }], undefined, old), 0, Date.now());
    await write(log, updates(4, 30), 2);
    let deleted = 0;
    const ref = { topic: 'c', partition: 0, log };
    const cleaner = new LogCleaner({
      logs: () => [ref],
      logger: silent,
      probe: async (point) => {
        if (point === 'cleaned-written' && deleted === 0) deleted = await log.applyRetention(Date.now());
      },
    });
    cleaner.configure({ ioBytesPerSecond: Infinity });
    const first = await cleaner.clean(ref);
    expect(deleted).toBeGreaterThan(0);
    expect(first?.complete).toBe(false);
    expect(fs.readdirSync(`${dataDir}/c-0`).filter((n) => /cleaned|swap/.test(n))).toEqual([]);
    // retention's deletion stands, and the log reads back whole from its new start
    expect(log.logStartOffset()).toBeGreaterThan(0);
    expect((await readLog(log)).records.length).toBeGreaterThan(0);
    const second = await cleaner.clean(ref);
    expect(second?.complete).toBe(true);
    const final = new Map<string, string | null>();
    for (const r of (await readLog(log)).records) final.set(r.key!, r.value);
    expect(final).toEqual(latestByKey(updates(4, 30)));
  });

  it('honours min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms when choosing what to clean', async () => {
    let now = 10_000_000;
    const m = manager();
    const open = async (topic: string, over: Partial<LogConfig>): Promise<FilePartitionLog> => {
      const log = await m.open(topic, 0, compact(over));
      log.setCleanableBelow(Infinity);
      return log;
    };
    // 'ratio' is half clean, half dirty; 'lag' has only young data; 'max' is barely dirty but old
    const ratio = await open('ratio', { minCleanableDirtyRatio: 0.9 });
    const lag = await open('lag', { minCompactionLagMs: 60_000 });
    const max = await open('max', { minCleanableDirtyRatio: 0.99, maxCompactionLagMs: 30_000 });
    const fill = async (log: FilePartitionLog, n: number, ts: number): Promise<void> => {
      for (let i = 0; i < n; i++) log.append(keyedBatch([{ key: `k${i % 5}`, value: `v${i}` }], undefined, ts), 0, ts);
      await log.sync();
    };
    const refs = [ratio, lag, max].map((log, i) => ({ topic: ['ratio', 'lag', 'max'][i]!, partition: 0, log }));
    const cleaner = cleanerFor(refs, () => now);
    await fill(ratio, 100, now);
    await cleaner.clean(refs[0]!);
    await fill(ratio, 100, now);
    await fill(lag, 100, now - 1000);
    await fill(max, 100, now - 40_000);
    // 'max' is due: its dirty data is older than max.compaction.lag.ms (30 s)
    const first = await cleaner.cleanOnce();
    expect(first && 'topic' in first ? first.topic : null).toBe('max');
    // 'ratio' is dirty but below 0.9; 'lag' is all younger than min.compaction.lag.ms
    expect(await cleaner.cleanOnce()).toBeNull();
    expect(lag.cleaningView(now).segments).toHaveLength(0);
    expect(cleaner.stats.partitions.get(ratio.dir)!.dirtyRatio).toBeGreaterThan(0.3);
    expect(cleaner.stats.partitions.get(ratio.dir)!.dirtyRatio).toBeLessThan(0.9);
    now += 61_000;
    const second = await cleaner.cleanOnce();
    expect(second && 'topic' in second ? second.topic : null).toBe('lag');
    ratio.updateConfig(compact({ minCleanableDirtyRatio: 0.3 }));
    const third = await cleaner.cleanOnce();
    expect(third && 'topic' in third ? third.topic : null).toBe('ratio');
    expect(await cleaner.cleanOnce()).toBeNull();
  });
});
