/**
 * File naming and the few durable-file primitives the log needs: promise wrappers around
 * positioned fd I/O, directory fsync (a created or deleted file is only durable once its
 * directory is), and atomic small-file replacement.
 */
import path from 'node:path';
import { nodeFileSystem, type FileSystem } from '../platform/file-system.js';

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

/** Reads exactly `length` bytes at `position` unless the file ends first. */
export async function readAt(fd: number, target: Buffer, offset: number, length: number, position: number, fs: FileSystem = nodeFileSystem): Promise<number> {
  let done = 0;
  while (done < length) {
    const bytesRead = await fs.read(fd, target, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of `buffers` at `position`, retrying short writes. */
export async function writevAt(fd: number, buffers: readonly Buffer[], position: number, fs: FileSystem = nodeFileSystem): Promise<void> {
  let pos = position;
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const written = await fs.writev(fd, rest, pos);
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

export function fsyncFd(fd: number, fs: FileSystem = nodeFileSystem): Promise<void> {
  return fs.fsync(fd);
}

export function ftruncateFd(fd: number, length: number, fs: FileSystem = nodeFileSystem): Promise<void> {
  return fs.ftruncate(fd, length);
}

export function fsyncDir(dir: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  return fs.fsyncDir(dir);
}

/** Writes `file` from scratch and fsyncs it (not atomic: a crash may leave part of it). */
export async function writeFileDurable(file: string, data: string | Buffer, fs: FileSystem = nodeFileSystem): Promise<void> {
  const fd = await fs.open(file, 'w');
  try {
    await writevAt(fd, [typeof data === 'string' ? Buffer.from(data) : data], 0, fs);
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}

/** Replaces `file` atomically and durably: write a temp file, fsync it, rename, fsync the dir. */
export async function writeFileAtomic(file: string, data: string | Buffer, fs: FileSystem = nodeFileSystem): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFileDurable(tmp, data, fs);
  await fs.rename(tmp, file);
  await fs.fsyncDir(path.dirname(file));
}
