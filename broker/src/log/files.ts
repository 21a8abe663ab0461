/**
 * File naming and the few durable-file primitives the log needs: promise wrappers around
 * positioned fd I/O, directory fsync (a created or deleted file is only durable once its
 * directory is), and atomic small-file replacement.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const CHECKPOINT_FILE = 'partition.checkpoint';
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/** Where the cleaner's last pass ended (its first dirty offset), see cleaner.ts. */
export const CLEANER_CHECKPOINT_FILE = 'cleaner.checkpoint';

/** Segment files are named by base offset, 20 digits zero padded, so names sort numerically. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : null;
}

const readAsync = promisify(fs.read);
const writevAsync = promisify(fs.writev);
const fsyncAsync = promisify(fs.fsync);
const ftruncateAsync = promisify(fs.ftruncate);

/** Reads exactly `length` bytes at `position` unless the file ends first. */
export async function readAt(fd: number, target: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await readAsync(fd, target, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of `buffers` at `position`, retrying short writes. */
export async function writevAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const { bytesWritten: written } = await writevAsync(fd, rest, pos);
    pos += written;
    let n = written;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (n >= b.length) {
        n -= b.length;
      } else {
        next.push(n > 0 ? b.subarray(n) : b);
        n = 0;
      }
    }
    rest = next;
  }
}

export function fsyncFd(fd: number): Promise<void> {
  return fsyncAsync(fd);
}

export function ftruncateFd(fd: number, length: number): Promise<void> {
  return ftruncateAsync(fd, length);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `file` atomically and durably: write a temp file, fsync it, rename, fsync the dir. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
