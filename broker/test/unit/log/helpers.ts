import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import type { LogConfig } from '../../../src/log/types.js';
import { tmpDataDir } from '../../helpers/tmp.js';

/** A fresh temp dir, removed after the test file (see helpers/tmp.ts). */
export function tmpDir(prefix = 'chronik-log-'): string {
  return tmpDataDir(prefix);
}

export function config(over: Partial<LogConfig> = {}): LogConfig {
  return {
    segmentBytes: 1024 * 1024,
    segmentMs: 7 * 24 * 3600 * 1000,
    retentionMs: -1,
    retentionBytes: -1,
    indexIntervalBytes: 256,
    cleanupPolicy: 'delete',
    timestampType: 'CreateTime',
    ...over,
  };
}

/** A logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export const silent: Logger = pino({ level: 'silent' });

/** A batch of `n` records whose values name their index; timestamps from `ts`. */
export function batch(n: number, ts: number, tag = 'v', valueSize = 0): Buffer {
  return buildRecordBatch({
    records: Array.from({ length: n }, (_, i) => ({
      key: `k${i}`,
      value: valueSize > 0 ? Buffer.alloc(valueSize, i) : `${tag}${i}`,
      timestamp: ts + i,
    })),
  });
}

