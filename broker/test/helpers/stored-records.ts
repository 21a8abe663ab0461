/**
 * What each replica of a broker-process cluster stores, read from its segment files: tests
 * compare these rather than what one leader serves.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { checkBatch, decodeRecords, RecordBatchError } from '../../src/kafka/protocol/records.js';
import type { ProcessCluster } from './cluster-process.js';
import { decodeCheckedJson } from '../../src/log/checked-json.js';

export interface Stored {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

export interface StoredBytes {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** The data records (no control batches) in a replica's segment files, in offset order. */
export function storedRecords(dataDir: string, topic: string, partition: number): Stored[] {
  return storedRecordBytes(dataDir, topic, partition).map((r) => ({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null }));
}

/** As {@link storedRecords}, keys and values as they are stored (binary ones decode from these). */
export function storedRecordBytes(dataDir: string, topic: string, partition: number): StoredBytes[] {
  const dir = path.join(dataDir, `${topic}-${partition}`);
  const out: StoredBytes[] = [];
  for (const f of readdirSync(dir).filter((n) => /^\d{20}\.log$/.test(n)).sort()) {
    const buf = readFileSync(path.join(dir, f));
    let pos = 0;
    while (pos < buf.length) {
      const h = checkBatch(buf, pos, buf.length, { compacted: true });
      if (h instanceof RecordBatchError) break; // a tail still being written
      if (!h.isControl) {
        for (const r of decodeRecords(buf, pos).records) out.push({ offset: r.offset, key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) });
      }
      pos += h.sizeInBytes;
    }
  }
  return out;
}

/** A number field of a JSON file in a data dir (-1 while it is absent or being replaced). */
export function jsonField(file: string, field: string): number {
  try {
    const r = decodeCheckedJson(readFileSync(file));
    const v = 'value' in r ? (r.value as Record<string, unknown>)[field] : undefined;
    return typeof v === 'number' ? v : -1;
  } catch {
    return -1;
  }
}

/** Every replica's records equal (compared as JSON, so a difference prints). */
export function sameEverywhere(c: ProcessCluster, topic: string, partition: number): { same: boolean; records: Stored[]; counts: number[] } {
  const all = c.members.map((m) => storedRecords(m.process.dataDir, topic, partition));
  const first = JSON.stringify(all[0]);
  return { same: all.every((r) => JSON.stringify(r) === first), records: all[0] as Stored[], counts: all.map((r) => r.length) };
}
