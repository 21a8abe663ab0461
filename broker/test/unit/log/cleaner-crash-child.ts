/**
 * Child process for cleaner-crash.test.ts: writers append keyed records (one per batch, value
 * `<run>:<n>`) and print "ack <offset> <key> <value>" only after sync() resolved, while a cleaner
 * compacts the log without pause. At every point of a rewrite it prints "at <point>" and waits a
 * moment, so the parent can SIGKILL it right there; it also gets killed at random times.
 */
import pino from 'pino';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { LogCleaner } from '../../../src/log/cleaner.js';
import { FileLogManager } from '../../../src/log/log-manager.js';

const dataDir = process.argv[2]!;
const run = process.argv[3]!;
/** The rewrite point the parent kills us at: once there (with enough acknowledged), go no further. */
const stopAt = process.argv[4] ?? '';
let acknowledged = 0;
const keys = 40;
const logger = pino({ level: 'silent' });
const manager = new FileLogManager({ dataDir, logger });
const log = await manager.open('crash', 0, {
  segmentBytes: 6 * 1024,
  segmentMs: 3_600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 512,
  cleanupPolicy: 'compact',
  timestampType: 'CreateTime',
  minCleanableDirtyRatio: 0,
  deleteRetentionMs: Number.MAX_SAFE_INTEGER,
});
log.setCleanableBelow(Infinity);
process.stdout.write(`ready ${log.logEndOffset()}\n`);

const cleaner = new LogCleaner({
  logs: () => [{ topic: 'crash', partition: 0, log }],
  logger,
  probe: async (point) => {
    process.stdout.write(`at ${point}\n`);
    // At the point the parent kills us, wait for the kill instead of racing past it.
    const hold = point === stopAt && acknowledged > 200;
    await new Promise((res) => setTimeout(res, hold ? 60_000 : 15));
  },
});
cleaner.configure({ ioBytesPerSecond: Infinity, dedupeBufferBytes: 24 * 1000 });

let n = 0;
async function writer(): Promise<void> {
  for (;;) {
    const key = `key-${Math.floor(Math.random() * keys)}`;
    const value = `${run}:${n++}`;
    // about one tombstone in ten
    const b = buildRecordBatch({ records: [{ key, value: Math.random() < 0.1 ? null : value, timestamp: Date.now() }] });
    const r = log.append(b, 0, Date.now());
    await log.sync();
    acknowledged++;
    process.stdout.write(`ack ${r.baseOffset} ${key}\n`);
  }
}

async function cleaning(): Promise<void> {
  for (;;) {
    await cleaner.clean({ topic: 'crash', partition: 0, log });
    await new Promise((res) => setImmediate(res));
  }
}

await Promise.all([writer(), writer(), writer(), cleaning()]);
