import fs from 'node:fs';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerCleanerMetrics } from '../../../src/log/cleaner-metrics.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import { LogCleaner } from '../../../src/log/cleaner.js';
import { keyedBatch, readLog } from './compaction-helpers.js';
import { captureLogger, config, silent, tmpDir } from './helpers.js';

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});

const cfg = config({ cleanupPolicy: 'compact', segmentBytes: 1024, minCleanableDirtyRatio: 0.1 });

async function filled(m: FileLogManager, topic: string): Promise<FilePartitionLog> {
  const log = await m.open(topic, 0, cfg);
  log.setCleanableBelow(Infinity);
  for (let i = 0; i < 200; i++) log.append(keyedBatch([{ key: `k${i % 7}`, value: `v${i}` }]), 0, Date.now());
  await log.sync();
  return log;
}

/** Flips a byte inside the first record of the log's oldest segment, on disk. */
function corruptFirstSegment(m: FileLogManager, topic: string): void {
  const file = `${m.dataDir}/${topic}-0/${'0'.padStart(20, '0')}.log`;
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 70);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 70);
  fs.closeSync(fd);
}

describe('cleaner errors', () => {
  it('a failing partition backs off and is retried later; the others are cleaned meanwhile', async () => {
    const m = new FileLogManager({ dataDir: tmpDir('chronik-cleanerr-'), logger: silent });
    managers.push(m);
    const bad = await filled(m, 'bad');
    const good = await filled(m, 'good');
    corruptFirstSegment(m, 'bad');
    let now = 1_000_000;
    const { logger, lines } = captureLogger();
    const refs = [
      { topic: 'bad', partition: 0, log: bad },
      { topic: 'good', partition: 0, log: good },
    ];
    const withLogs = new LogCleaner({ logs: () => refs, logger, now: () => now });
    withLogs.configure({ ioBytesPerSecond: Infinity, errorBackoffMs: 1000, maxErrorBackoffMs: 4000 });

    // both are equally dirty; the bad one goes first (listed first) and fails
    const first = await withLogs.cleanOnce();
    expect(first && 'error' in first ? first.error.message : '').toMatch(/bad batch/);
    expect(lines.some((l) => l['msg'] === 'log cleaning failed' && l['topic'] === 'bad')).toBe(true);
    const second = await withLogs.cleanOnce();
    expect(second && 'topic' in second ? second.topic : null).toBe('good');
    // nothing else is due: the bad one waits for its backoff
    expect(await withLogs.cleanOnce()).toBeNull();
    now += 1001;
    expect(await withLogs.cleanOnce()).toHaveProperty('error');
    now += 1001; // the second failure doubled the delay
    expect(await withLogs.cleanOnce()).toBeNull();
    now += 1000;
    expect(await withLogs.cleanOnce()).toHaveProperty('error');
    expect(withLogs.stats.errors).toBe(3);
    expect(withLogs.stats.partitions.get(bad.dir)?.errors).toBe(3);
    expect(withLogs.stats.passes).toBe(1);
    // the failing log is untouched and still serves reads up to the corrupt batch
    expect(bad.logEndOffset()).toBe(200);
    expect((await readLog(good)).records.length).toBeLessThan(200);
  });

  it('the background loop cleans every compacted log and stops with the manager', async () => {
    const m = new FileLogManager({ dataDir: tmpDir('chronik-cleanloop-'), logger: silent });
    managers.push(m);
    const a = await filled(m, 'a');
    const b = await filled(m, 'b');
    const plain = await m.open('plain', 0, config({ segmentBytes: 1024 }));
    plain.setCleanableBelow(Infinity);
    for (let i = 0; i < 100; i++) plain.append(keyedBatch([{ key: 'same', value: `v${i}` }]), 0, Date.now());
    await plain.sync();
    m.startCleaning({ backoffMs: 20, ioBytesPerSecond: Infinity });
    const done = (): boolean => m.cleanerStats().passes >= 2 && a.cleaningView(Date.now()).dirtyBytes === 0 && b.cleaningView(Date.now()).dirtyBytes === 0;
    for (let i = 0; i < 2000 && !done(); i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(a.cleaningView(Date.now()).dirtyBytes).toBe(0);
    expect(b.cleaningView(Date.now()).dirtyBytes).toBe(0);
    // a delete-policy log is never compacted
    expect((await readLog(plain)).records).toHaveLength(100);
    expect(m.cleanerStats().passes).toBeGreaterThanOrEqual(2);
    expect(m.cleanerStats().partitions.get(a.dir)?.lastCleanMs).toBeGreaterThan(0);

    const registry = new Registry();
    registerCleanerMetrics(registry, () => m.cleanerStats());
    const text = await registry.metrics();
    expect(text).toMatch(/chronik_log_cleaner_read_bytes \d+/);
    expect(text).toMatch(/chronik_log_cleaner_written_bytes \d+/);
    expect(text).toMatch(/chronik_log_cleaner_errors 0/);
    expect(text).toMatch(/chronik_log_cleaner_dirty_ratio\{topic="a",partition="0"\} 0/);
    expect(text).toMatch(/chronik_log_cleaner_last_clean_timestamp_seconds\{topic="b",partition="0"\} \d+/);
    expect(text).not.toMatch(/topic="plain"/);
    // registering twice is harmless (a second broker in the same registry, a restart)
    registerCleanerMetrics(registry, () => m.cleanerStats());

    await m.close();
    managers.length = 0;
    expect(m.cleaner.running).toBe(false);
  });
});
