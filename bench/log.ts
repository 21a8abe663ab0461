/**
 * Micro benchmark of the partition log's produce path (append + sync) against the raw disk.
 *
 *   node --import tsx bench/log.ts [--dir /path/on/the/disk] [--seconds 2]
 *
 * For 100 B and 1 KiB batches it prints MB/s of:
 *   raw fsync-each   plain loop: write(batch) + fsync, the bound for one producer waiting on each write
 *   raw 1 MiB        write 1 MiB + fsync, the disk's sequential bandwidth with fsync
 *   log 1 producer   append + await sync, one at a time
 *   log pipelined    16 partitions x 8 producers each, every one doing append + await sync
 *   log deep         1 partition x 2048 producers, against a raw loop that writes the same
 *                    number of bytes per fsync as the log's rounds did (the log's own overhead)
 * and the ratios. A second table compares two ways to get many small appends to disk
 * per round: one writeSync per append, or copying into a buffer and one writev per round.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { buildRecordBatch } from '../broker/src/kafka/protocol/records.js';
import { FileLogManager } from '../broker/src/log/log-manager.js';
import type { LogConfig } from '../broker/src/log/types.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const baseDir = arg('dir', os.tmpdir());
const seconds = Number(arg('seconds', '2'));
const logger = pino({ level: 'silent' });
const config: LogConfig = {
  segmentBytes: 256 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

/** A batch of one record whose total size is `size` bytes. */
function batchOfSize(size: number): Buffer {
  let value = Math.max(0, size - 61 - 10);
  for (;;) {
    const b = buildRecordBatch({ records: [{ key: null, value: Buffer.alloc(value, 0x61), timestamp: Date.now() }] });
    if (b.length === size || value === 0) return b;
    value += size - b.length;
  }
}

interface Result {
  readonly bytes: number;
  readonly secs: number;
  readonly ops: number;
}
const mbps = (r: Result): number => r.bytes / r.secs / 1e6;

function rawFsyncEach(dir: string, size: number): Result {
  const file = path.join(dir, 'raw-each');
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(size, 1);
  const t0 = performance.now();
  let ops = 0;
  while (performance.now() - t0 < seconds * 1000) {
    fs.writeSync(fd, buf);
    fs.fsyncSync(fd);
    ops++;
  }
  const secs = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return { bytes: ops * size, secs, ops };
}

async function logRun(dir: string, size: number, partitions: number, producersPer: number) {
  const manager = new FileLogManager({ dataDir: dir, logger });
  const logs = await Promise.all(Array.from({ length: partitions }, (_, p) => manager.open('bench', p, config)));
  const batch = batchOfSize(size);
  const deadline = performance.now() + seconds * 1000;
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(
    logs.flatMap((log) =>
      Array.from({ length: producersPer }, async () => {
        while (performance.now() < deadline) {
          log.append(batch, 0, Date.now());
          await log.sync();
          ops++;
        }
      }),
    ),
  );
  const secs = (performance.now() - t0) / 1000;
  const stats = manager.stats();
  await manager.close();
  return { result: { bytes: ops * batch.length, secs, ops }, stats };
}

/**
 * Per round: `n` appends of `size` bytes, then one fsync; the write phase is timed apart from the
 * fsync, since fsync latency dominates and hides the cost of the writes themselves.
 */
function writeStrategy(dir: string, size: number, n: number) {
  const buf = Buffer.alloc(size, 2);
  const rounds = 100;
  const time = (fn: (fd: number) => void) => {
    const file = path.join(dir, 'strategy');
    const fd = fs.openSync(file, 'w');
    let writeMs = 0;
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      const w0 = performance.now();
      fn(fd);
      writeMs += performance.now() - w0;
      fs.fsyncSync(fd);
    }
    const secs = (performance.now() - t0) / 1000;
    fs.closeSync(fd);
    fs.rmSync(file);
    return { mbps: (rounds * n * size) / secs / 1e6, usPerAppend: (writeMs * 1000) / (rounds * n) };
  };
  const writeSync = time((fd) => {
    for (let i = 0; i < n; i++) fs.writeSync(fd, buf);
  });
  const chunk = Buffer.allocUnsafe(n * size);
  const writev = time((fd) => {
    for (let i = 0; i < n; i++) buf.copy(chunk, i * size);
    fs.writevSync(fd, [chunk]);
  });
  return { writeSync, writev };
}

/** Plain loop writing `bytes` in one write, then fsync: the raw cost of the log's round size. */
function rawPerRound(dir: string, bytes: number): Result {
  const file = path.join(dir, 'raw-round');
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(Math.max(1, Math.round(bytes)), 1);
  const t0 = performance.now();
  let ops = 0;
  while (performance.now() - t0 < seconds * 1000) {
    fs.writeSync(fd, buf);
    fs.fsyncSync(fd);
    ops++;
  }
  const secs = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return { bytes: ops * buf.length, secs, ops };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(baseDir, 'chronik-bench-log-'));
  try {
    console.log(`data dir ${dir}, ${seconds}s per case, node ${process.version}`);
    const big = rawPerRound(dir, 1 << 20);
    console.log(`raw 1 MiB write+fsync: ${mbps(big).toFixed(1)} MB/s (${(big.secs * 1000 / big.ops).toFixed(2)} ms per fsync)\n`);
    console.log('A. against a plain write+fsync loop of the same batch size (one fsync per batch):');
    console.log('size   raw fsync-each   log 1 producer (ratio)   log 16 partitions x 8 producers (ratio)');
    const pipelined: { size: number; stats: { fileFsyncs: number; bytes: number; rounds: number }; mbps: number }[] = [];
    for (const size of [100, 1024]) {
      const raw = rawFsyncEach(dir, size);
      const one = await logRun(path.join(dir, `one-${size}`), size, 1, 1);
      const many = await logRun(path.join(dir, `many-${size}`), size, 16, 8);
      pipelined.push({ size, stats: many.stats, mbps: mbps(many.result) });
      console.log(
        [
          String(size).padEnd(6),
          `${mbps(raw).toFixed(3)} MB/s`.padEnd(16),
          `${mbps(one.result).toFixed(3)} MB/s (${(mbps(one.result) / mbps(raw)).toFixed(2)})`.padEnd(24),
          `${mbps(many.result).toFixed(2)} MB/s (${(mbps(many.result) / mbps(raw)).toFixed(1)})`,
        ].join(' '),
      );
    }
    console.log('\nB. one partition, 2048 producers, against a raw loop writing the same bytes per fsync:');
    console.log('size   log MB/s   bytes/fsync   raw same-bytes MB/s   ratio   raw 1 MiB ratio');
    for (const size of [100, 1024]) {
      const run = await logRun(path.join(dir, `deep-${size}`), size, 1, 2048);
      const perFsync = run.stats.bytes / Math.max(1, run.stats.fileFsyncs);
      const raw = rawPerRound(dir, perFsync);
      console.log(
        [
          String(size).padEnd(6),
          mbps(run.result).toFixed(2).padEnd(10),
          perFsync.toFixed(0).padEnd(13),
          mbps(raw).toFixed(2).padEnd(21),
          (mbps(run.result) / mbps(raw)).toFixed(2).padEnd(7),
          (mbps(run.result) / mbps(big)).toFixed(2),
        ].join(' '),
      );
    }
    console.log('\nwrite strategy, 100 rounds of n appends + 1 fsync:');
    console.log('size   n     writeSync per append: MB/s, us/append    copy + 1 writev per round: MB/s, us/append');
    for (const size of [100, 1024]) {
      for (const n of [16, 256, 2048]) {
        const s = writeStrategy(dir, size, n);
        console.log(
          `${String(size).padEnd(6)} ${String(n).padEnd(5)} ${s.writeSync.mbps.toFixed(2).padStart(8)}, ${s.writeSync.usPerAppend.toFixed(2).padEnd(28)} ${s.writev.mbps.toFixed(2).padStart(8)}, ${s.writev.usPerAppend.toFixed(2)}`,
        );
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
