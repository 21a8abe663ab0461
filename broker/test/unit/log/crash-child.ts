/**
 * Child process for crash.test.ts: appends one-record batches whose value is the offset they
 * should get, from several concurrent writers, and prints "ack <offset>" only after sync()
 * resolved. The parent SIGKILLs it at random moments.
 */
import pino from 'pino';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';

const dataDir = process.argv[2]!;
const writers = Number(process.argv[3] ?? '8');
const manager = new FileLogManager({ dataDir, logger: pino({ level: 'silent' }) });
const log = await manager.open('crash', 0, {
  segmentBytes: 64 * 1024,
  segmentMs: 3_600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 512,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
});
process.stdout.write(`ready ${log.logEndOffset()}\n`);

async function writer(): Promise<void> {
  for (;;) {
    const next = log.logEndOffset();
    const b = buildRecordBatch({ records: [{ value: String(next), key: null, timestamp: Date.now() }] });
    const r = log.append(b, 0, Date.now());
    if (r.baseOffset !== next) throw new Error(`offset ${r.baseOffset} != ${next}`);
    await log.sync();
    process.stdout.write(`ack ${r.baseOffset}\n`);
  }
}
await Promise.all(Array.from({ length: writers }, () => writer()));
