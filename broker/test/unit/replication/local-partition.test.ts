import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerStateTable } from '../../../src/coordinator/producer-state.js';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { buildRecordBatch, decodeRecords, type BuildBatchOptions } from '../../../src/kafka/protocol/records.js';
import { createLogManager } from '../../../src/log/index.js';
import type { LogConfig, LogManager } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { LocalPartition, type PartitionLimits } from '../../../src/replication/local-partition.js';
import { tmpDataDir } from '../../helpers/tmp.js';

const logConfig: LogConfig = {
  segmentBytes: 1 << 20,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

const open: LogManager[] = [];
afterEach(async () => {
  for (const m of open.splice(0)) await m.close();
});

async function setup(limits: Partial<PartitionLimits> = {}, dataDir = tmpDataDir(), cfg = logConfig) {
  const logger = silentLogger();
  const manager = await createLogManager({ dataDir, logger });
  open.push(manager);
  const log = await manager.open('t', 0, cfg);
  const partition = await LocalPartition.open({
    topic: 't',
    partition: 0,
    log,
    producerState: new ProducerStateTable(),
    limits: () => ({ maxMessageBytes: 1_000_000, timestampType: cfg.timestampType, timestampDifferenceMaxMs: Infinity, ...limits }),
    logger,
  });
  return { partition, manager, dataDir };
}

function batch(values: string[], extra: Partial<BuildBatchOptions> = {}): Buffer {
  return buildRecordBatch({ records: values.map((v) => ({ key: null, value: v })), ...extra });
}

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof KafkaError ? err.code : -999;
  }
}

describe('LocalPartition', () => {
  it('assigns offsets, advances the high watermark after fsync and reads whole batches back', async () => {
    const { partition } = await setup();
    expect(partition.highWatermark()).toBe(0);
    const r1 = await partition.append(batch(['a', 'b']), 1);
    const r2 = await partition.append(batch(['c']), -1);
    expect([r1.baseOffset, r1.lastOffset, r2.baseOffset, r2.lastOffset]).toEqual([0, 1, 2, 2]);
    expect(partition.highWatermark()).toBe(3);
    expect(partition.lastStableOffset()).toBe(3);
    const read = await partition.read(0, 1 << 20, 0);
    const first = decodeRecords(read.records, 0);
    expect(first.records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
    expect(read.nextOffset).toBe(3);
    const empty = await partition.read(3, 1000, 0);
    expect(empty.records.length).toBe(0);
    expect(await codeOf(partition.read(4, 1000, 0))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('acks=0 resolves without waiting and the data still becomes visible', async () => {
    const { partition } = await setup();
    await partition.append(batch(['x']), 0);
    await partition.waitForData(0, 5_000, new AbortController().signal);
    expect(partition.highWatermark()).toBe(1);
  });

  it('wakes a long poll when the high watermark passes the offset, and honours timeout and abort', async () => {
    const { partition } = await setup();
    const t0 = Date.now();
    await partition.waitForData(0, 50, new AbortController().signal);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);

    const ac = new AbortController();
    const aborted = partition.waitForData(0, 60_000, ac.signal);
    ac.abort();
    await aborted;

    let woke = false;
    const waiting = partition.waitForData(0, 10_000, new AbortController().signal).then(() => {
      woke = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    await partition.append(batch(['wake']), 1);
    await waiting;
    expect(woke).toBe(true);
  });

  it('refuses corrupt, oversize, transactional and control batches without touching the log', async () => {
    const { partition } = await setup({ maxMessageBytes: 200 });
    const corrupt = batch(['hello']);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect(await codeOf(partition.append(corrupt, 1))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(await codeOf(partition.append(batch(['x'.repeat(500)]), 1))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(await codeOf(partition.append(batch(['t'], { producerId: 1, producerEpoch: 0, baseSequence: 0, isTransactional: true }), 1))).toBe(
      ErrorCode.INVALID_TXN_STATE,
    );
    expect(await codeOf(partition.append(batch(['c'], { isControl: true }), 1))).toBe(ErrorCode.INVALID_RECORD);
    const wrongMagic = batch(['m']);
    wrongMagic.writeInt8(1, 16);
    expect(await codeOf(partition.append(wrongMagic, 1))).not.toBe(undefined);
    expect(partition.logEndOffset()).toBe(0);
    // The partition still works afterwards.
    expect((await partition.append(batch(['ok']), 1)).baseOffset).toBe(0);
  });

  it('answers an idempotent retry with the original offsets and rejects sequence gaps', async () => {
    const { partition } = await setup();
    const b0 = () => batch(['a', 'b'], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
    const first = await partition.append(b0(), -1);
    const retry = await partition.append(b0(), -1);
    expect(retry.baseOffset).toBe(first.baseOffset);
    expect(retry.lastOffset).toBe(first.lastOffset);
    expect(partition.logEndOffset()).toBe(2);
    expect(await codeOf(partition.append(batch(['gap'], { producerId: 7, producerEpoch: 0, baseSequence: 5 }), -1))).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect((await partition.append(batch(['next'], { producerId: 7, producerEpoch: 0, baseSequence: 2 }), -1)).baseOffset).toBe(2);
  });

  it('rebuilds producer state from the log on reopen, so a retry after restart is still a duplicate', async () => {
    const dataDir = tmpDataDir();
    const a = await setup({}, dataDir);
    const b0 = () => batch(['a'], { producerId: 9, producerEpoch: 1, baseSequence: 0 });
    await a.partition.append(b0(), -1);
    await a.partition.append(batch(['plain']), -1);
    await a.partition.close();
    await a.manager.close();
    open.splice(open.indexOf(a.manager), 1);

    const b = await setup({}, dataDir);
    expect(b.partition.highWatermark()).toBe(2);
    const retry = await b.partition.append(b0(), -1);
    expect(retry.baseOffset).toBe(0);
    expect(b.partition.logEndOffset()).toBe(2);
  });

  it('stamps LogAppendTime and finds offsets by timestamp and max timestamp', async () => {
    const { partition } = await setup({}, tmpDataDir(), { ...logConfig, timestampType: 'LogAppendTime' });
    const before = Date.now();
    const r = await partition.append(buildRecordBatch({ records: [{ key: null, value: 'v', timestamp: 1000 }] }), 1);
    expect(r.logAppendTime).toBeGreaterThanOrEqual(before);
    expect(partition.maxTimestamp()?.offset).toBe(0);
    expect((await partition.offsetForTimestamp(before - 10))?.offset).toBe(0);
    expect(await partition.offsetForTimestamp(Date.now() + 60_000)).toBeNull();
  });

  it('DeleteRecords moves the log start, and reads below it are out of range', async () => {
    const { partition } = await setup();
    for (let i = 0; i < 5; i++) await partition.append(batch([`r${i}`]), 1);
    expect(await partition.deleteRecordsBefore(3)).toBe(3);
    expect(partition.logStartOffset()).toBe(3);
    expect(await codeOf(partition.read(1, 1000, 0))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await codeOf(partition.deleteRecordsBefore(99))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await partition.deleteRecordsBefore(-1)).toBe(5);
  });

  it('delete() removes the partition directory', async () => {
    const { partition, dataDir } = await setup();
    await partition.append(batch(['x']), 1);
    await partition.delete();
    expect((await readdir(dataDir)).filter((d) => d.startsWith('t-'))).toEqual([]);
    expect(await codeOf(partition.append(batch(['late']), 1))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await codeOf(partition.read(0, 100, 0))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
