/**
 * Convergence of the replicas after heal: each partition's segment files (`<data>/<topic>-<p>/
 * *.log`, raw Kafka record batches) on every broker that holds it, compared batch by batch, byte
 * for byte. The batches are framed here from the Kafka format itself (base offset, length, CRC-32C),
 * not with the broker's code, so a framing bug in the broker cannot hide from the check.
 *   replica-divergence  two replicas hold different bytes for the same batch position
 *   replica-behind      one replica lacks batches the others hold
 *   replica-corrupt     a batch fails its CRC, or a file ends in a torn batch
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult, Violation } from './report.js';

export interface ReplicaDir {
  /** How the broker is named in the report ("broker-0"). */
  readonly broker: string;
  /** Its data directory (the broker's --data-dir). */
  readonly dir: string;
}

export interface Batch {
  readonly baseOffset: number;
  /** The whole batch, from its base offset field to its last byte. */
  readonly bytes: Buffer;
  readonly crcOk: boolean;
  readonly file: string;
  readonly position: number;
}

export interface ReplicaLog {
  readonly broker: string;
  readonly batches: readonly Batch[];
  readonly bytes: number;
  /** A file that does not end on a batch boundary: where, and why. */
  readonly torn: readonly string[];
}

// Kafka record batch v2: baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
// magic int8, crc uint32 (CRC-32C of everything from attributes to the end).
const LENGTH_AT = 8;
const HEADER = 12;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
/** Smallest batchLength of a v2 batch with no records: the fixed fields after the length. */
const MIN_BATCH_LENGTH = 49;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = (CRC32C_TABLE[(c ^ (buf[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Frames one segment file into batches; what is left after the last whole batch is a torn tail. */
export function frameBatches(buf: Buffer, file: string): { batches: Batch[]; torn?: string } {
  const batches: Batch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < HEADER) return { batches, torn: `${file}: ${buf.length - pos} bytes at ${pos} are less than a batch header` };
    const length = buf.readInt32BE(pos + LENGTH_AT);
    if (length < MIN_BATCH_LENGTH) return { batches, torn: `${file}: batch at ${pos} has length ${length}` };
    const end = pos + HEADER + length;
    if (end > buf.length) return { batches, torn: `${file}: batch at ${pos} of ${HEADER + length} bytes runs past the end (${buf.length})` };
    const bytes = buf.subarray(pos, end);
    const crcOk = bytes.readUInt32BE(CRC_AT) === crc32c(bytes.subarray(ATTRIBUTES_AT));
    batches.push({ baseOffset: Number(bytes.readBigInt64BE(0)), bytes, crcOk, file, position: pos });
    pos = end;
  }
  return { batches };
}

/** Segment files are named by base offset (20 digits); their order is the log's order. */
function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .sort();
}

export function readReplicaLog(broker: string, partitionDir: string): ReplicaLog {
  const batches: Batch[] = [];
  const torn: string[] = [];
  let bytes = 0;
  for (const name of segmentFiles(partitionDir)) {
    const file = join(partitionDir, name);
    const buf = readFileSync(file);
    bytes += buf.length;
    const framed = frameBatches(buf, file);
    batches.push(...framed.batches);
    if (framed.torn) torn.push(framed.torn);
  }
  return { broker, batches, bytes, torn };
}

/** Partition directory name -> replicas holding it. */
export function collectReplicas(dirs: readonly ReplicaDir[]): Map<string, ReplicaLog[]> {
  const out = new Map<string, ReplicaLog[]>();
  for (const { broker, dir } of dirs) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (!/^.+-\d+$/.test(name) || !statSync(path).isDirectory()) continue;
      if (segmentFiles(path).length === 0) continue;
      const list = out.get(name);
      const log = readReplicaLog(broker, path);
      if (list) list.push(log);
      else out.set(name, [log]);
    }
  }
  return out;
}

/**
 * Compares every replica of a partition with the one holding most batches. Replicas are lined up
 * at the first base offset both hold, so one whose older segments retention already removed still
 * compares on what they share.
 */
export function compareReplicas(partition: string, replicas: readonly ReplicaLog[]): { violations: Violation[]; batchesCompared: number } {
  const violations: Violation[] = [];
  let batchesCompared = 0;
  for (const r of replicas) {
    for (const t of r.torn) violations.push({ kind: 'replica-corrupt', partition, message: `${r.broker}: torn tail in ${t}` });
    const bad = r.batches.filter((b) => !b.crcOk);
    if (bad.length > 0) {
      violations.push({
        kind: 'replica-corrupt',
        partition,
        message: `${r.broker}: ${bad.length} batches fail their CRC-32C, the first at offset ${bad[0]?.baseOffset} (${bad[0]?.file} position ${bad[0]?.position})`,
      });
    }
  }
  if (replicas.length < 2) return { violations, batchesCompared };
  const reference = [...replicas].sort((a, b) => b.batches.length - a.batches.length || a.broker.localeCompare(b.broker))[0];
  if (!reference) return { violations, batchesCompared };
  for (const other of replicas) {
    if (other === reference) continue;
    const start = Math.max(reference.batches[0]?.baseOffset ?? 0, other.batches[0]?.baseOffset ?? 0);
    let i = reference.batches.findIndex((b) => b.baseOffset >= start);
    let j = other.batches.findIndex((b) => b.baseOffset >= start);
    if (i < 0) i = reference.batches.length;
    if (j < 0) j = other.batches.length;
    let diverged = false;
    for (; i < reference.batches.length && j < other.batches.length; i++, j++) {
      const a = reference.batches[i];
      const b = other.batches[j];
      if (!a || !b) break;
      batchesCompared++;
      if (a.bytes.equals(b.bytes)) continue;
      const firstByte = firstDifference(a.bytes, b.bytes);
      violations.push({
        kind: 'replica-divergence',
        partition,
        message:
          `${other.broker} and ${reference.broker} differ at batch ${j} (base offsets ${b.baseOffset} and ${a.baseOffset}), ` +
          `byte ${firstByte} of the batch; CRC ${b.crcOk ? 'ok' : 'bad'} on ${other.broker}, ${a.crcOk ? 'ok' : 'bad'} on ${reference.broker}`,
      });
      diverged = true;
      break;
    }
    if (!diverged && j === other.batches.length && i < reference.batches.length) {
      violations.push({
        kind: 'replica-behind',
        partition,
        message: `${other.broker} lacks ${reference.batches.length - i} batches that ${reference.broker} holds, from base offset ${reference.batches[i]?.baseOffset}`,
      });
    } else if (!diverged && i === reference.batches.length && j < other.batches.length) {
      violations.push({
        kind: 'replica-behind',
        partition,
        message: `${reference.broker} lacks ${other.batches.length - j} batches that ${other.broker} holds, from base offset ${other.batches[j]?.baseOffset}`,
      });
    }
  }
  return { violations, batchesCompared };
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return k;
  return n;
}

export function checkReplicas(dirs: readonly ReplicaDir[]): CheckResult {
  const violations: Violation[] = [];
  let partitions = 0;
  let compared = 0;
  let batches = 0;
  let bytes = 0;
  for (const [partition, replicas] of collectReplicas(dirs)) {
    partitions++;
    if (replicas.length >= 2) compared++;
    for (const r of replicas) bytes += r.bytes;
    const result = compareReplicas(partition, replicas);
    violations.push(...result.violations);
    batches += result.batchesCompared;
  }
  return {
    name: 'replica logs',
    checked: compared,
    unit: 'partitions with 2+ replicas',
    violations,
    figures: { 'partition dirs': partitions, 'batches compared': batches, 'segment bytes read': bytes, 'data dirs': dirs.length },
  };
}
