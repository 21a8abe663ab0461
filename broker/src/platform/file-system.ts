/**
 * The file operations the partition log and the replication storage use, as one interface, so
 * the system simulator (broker/test/sim/) can run them over a simulated disk that tears writes,
 * flips bits, loses what was not fsynced and misdirects writes. `nodeFileSystem` is the real
 * one: each method is a thin call into node:fs, no buffering or copying of its own.
 *
 * Errors follow node:fs: an Error with `code` ('ENOENT', 'EEXIST', ...).
 */
import fs from 'node:fs';

/** The open modes in use, as node:fs spells them. */
export type OpenFlags = 'r' | 'r+' | 'w' | 'w+' | 'wx+' | 'a+';

export interface FileSystem {
  // ---- descriptors
  openSync(file: string, flags: OpenFlags): number;
  open(file: string, flags: OpenFlags): Promise<number>;
  closeSync(fd: number): void;
  close(fd: number): Promise<void>;
  /** Current size of the open file. */
  sizeSync(fd: number): number;
  /** Reads up to `length` bytes at `position` into `target[offset..]`; resolves the count (0 at the end). */
  read(fd: number, target: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes the buffers back to back at `position`; resolves the bytes written (may be short). */
  writev(fd: number, buffers: readonly Buffer[], position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  ftruncateSync(fd: number, length: number): void;

  // ---- names
  existsSync(file: string): boolean;
  /** Last modification time in ms (a segment without timestamps falls back to it). */
  modifiedMsSync(file: string): number;
  /** Removes a file; ENOENT if it does not exist. */
  unlinkSync(file: string): void;
  unlink(file: string): Promise<void>;
  /** Removes a file or (recursive) a directory tree; nothing if it does not exist. */
  removeSync(target: string): void;
  remove(target: string, recursive: boolean): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  readFile(file: string): Promise<Buffer>;
  readdir(dir: string): Promise<string[]>;
  /** mkdir -p; resolves the first directory it created, undefined if all existed. */
  mkdirs(dir: string): Promise<string | undefined>;
  /** Makes the directory's entries (created, renamed, removed files) durable. */
  fsyncDir(dir: string): Promise<void>;

  // ---- the machine
  /**
   * The running kernel's boot id, or null where the platform does not tell. It changes when the
   * machine restarts: a data directory that recorded another one may have lost what was not
   * fsynced (a power loss), while after a process crash the page cache kept every write.
   */
  bootId(): string | null;
}

let bootIdRead: string | null | undefined;

function readBootId(): string | null {
  if (bootIdRead === undefined) {
    try {
      bootIdRead = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdRead = null;
    }
  }
  return bootIdRead;
}

function readCb(fd: number, target: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, target, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function writevCb(fd: number, buffers: readonly Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, buffers as Buffer[], position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function fsyncCb(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

function ftruncateCb(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve()));
  });
}

function openCb(file: string, flags: OpenFlags): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(file, flags, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

function closeCb(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.close(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** The real file system. */
export const nodeFileSystem: FileSystem = {
  openSync: (file, flags) => fs.openSync(file, flags),
  open: openCb,
  closeSync: (fd) => fs.closeSync(fd),
  close: closeCb,
  sizeSync: (fd) => fs.fstatSync(fd).size,
  read: readCb,
  writev: writevCb,
  fsync: fsyncCb,
  ftruncate: ftruncateCb,
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  existsSync: (file) => fs.existsSync(file),
  modifiedMsSync: (file) => fs.statSync(file).mtimeMs,
  unlinkSync: (file) => fs.unlinkSync(file),
  unlink: (file) => fs.promises.unlink(file),
  removeSync: (target) => fs.rmSync(target, { force: true }),
  remove: (target, recursive) => fs.promises.rm(target, { recursive, force: true }),
  rename: (from, to) => fs.promises.rename(from, to),
  readFile: (file) => fs.promises.readFile(file),
  readdir: (dir) => fs.promises.readdir(dir),
  mkdirs: (dir) => fs.promises.mkdir(dir, { recursive: true }),
  async fsyncDir(dir) {
    const fd = await openCb(dir, 'r');
    try {
      await fsyncCb(fd);
    } finally {
      await closeCb(fd);
    }
  },
  bootId: readBootId,
};
