/**
 * Damage to the tail of a segment file (a partition's or the metadata log's) or of the hard-state
 * journal while its broker is down, as a crash in the middle of a
 * write or a bad disk leaves it: bytes flipped inside the last batch, garbage after it, or the
 * last batch cut short. The broker must find it by CRC at start-up, truncate, and fetch the
 * rest from the leader; the checker then finds no acknowledged write lost and the replicas equal.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CorruptMode, Rng } from './nemesis-plan.js';

export interface Corruption {
  readonly file: string;
  readonly mode: CorruptMode;
  readonly sizeBefore: number;
  /** Where the damage starts and how many bytes it covers. */
  readonly position: number;
  readonly length: number;
}

/** Smallest v2 batch: 61 header bytes; a shorter file has nothing worth damaging. */
const MIN_BATCH = 61;

function lastSegment(dir: string): { file: string; size: number } | undefined {
  if (!existsSync(dir)) return undefined;
  const logs = readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .sort();
  for (let i = logs.length - 1; i >= 0; i--) {
    const file = join(dir, logs[i] ?? '');
    const size = statSync(file).size;
    if (size >= MIN_BATCH) return { file, size };
  }
  return undefined;
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

/** Damages the newest segment of one of `partitionDirs` (chosen by `rng`); undefined when none has data. */
export function corruptSegmentTail(partitionDirs: readonly string[], mode: CorruptMode, rng: Rng): Corruption | undefined {
  const candidates = partitionDirs.map(lastSegment).filter((c): c is { file: string; size: number } => c !== undefined);
  if (candidates.length === 0) return undefined;
  const target = candidates[Math.floor(rng() * candidates.length)];
  if (!target) return undefined;
  return damageTail(target.file, target.size, mode, rng);
}

/**
 * Damages the tail of the broker's hard-state journal (terms, votes, commit indexes, where each
 * raft log ends), the same three ways; undefined when it has too little in it.
 */
export function corruptJournalTail(dataDir: string, mode: CorruptMode, rng: Rng): Corruption | undefined {
  const file = join(dataDir, 'raft', 'hardstate.journal');
  if (!existsSync(file)) return undefined;
  const size = statSync(file).size;
  if (size < MIN_BATCH) return undefined;
  return damageTail(file, size, mode, rng);
}

function damageTail(file: string, size: number, mode: CorruptMode, rng: Rng): Corruption {
  if (mode === 'truncate') {
    const length = 1 + Math.floor(rng() * Math.min(size - 1, 64));
    truncateSync(file, size - length);
    return { file, mode, sizeBefore: size, position: size - length, length };
  }
  const fd = openSync(file, 'r+');
  try {
    if (mode === 'garbage') {
      const length = 1 + Math.floor(rng() * 512);
      writeSync(fd, randomBytes(rng, length), 0, length, size);
      fsyncSync(fd);
      return { file, mode, sizeBefore: size, position: size, length };
    }
    // flip: XOR a few bytes among the last 48 (inside the last batch's records, past its header).
    const length = 1 + Math.floor(rng() * 8);
    const position = size - length - Math.floor(rng() * Math.min(48, size - length - 1));
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, position);
    for (let i = 0; i < length; i++) bytes[i] = (bytes[i] ?? 0) ^ (1 + Math.floor(rng() * 255));
    writeSync(fd, bytes, 0, length, position);
    fsyncSync(fd);
    return { file, mode, sizeBefore: size, position, length };
  } finally {
    closeSync(fd);
  }
}
