/**
 * A simulated disk behind the broker's FileSystem seam: files and directories in memory, with
 * POSIX durability rules and faults drawn from the seed.
 *
 * Durability: a file's bytes are durable once fsync(fd) completes; a name (created, renamed,
 * removed, a new directory) once its directory is fsynced. `crash()` returns the disk as a
 * restarted machine sees it: only durable names, each file's durable bytes plus, depending on
 * the crash's luck, none, a prefix, or a random subset of the writes since its last fsync, the
 * last one possibly torn at a sector boundary.
 *
 * Faults while running: a read may come back with one bit flipped (the medium is fine, the
 * next read is not affected); a write may be misdirected (its bytes land at another sector of
 * the same or another file, the place it was meant for keeps what it had). Every async
 * operation completes after a latency drawn per operation, through the node's timers, so the
 * operations of a crashed incarnation never complete.
 */
import path from 'node:path';
import type { FileSystem, OpenFlags } from '../../../src/platform/file-system.js';
import { SeededRandom } from '../../../src/raft/random.js';
import type { NodeTimers } from './sim-loop.js';

export interface DiskFaults {
  /** Chance that one read returns one flipped bit. */
  readonly flipPerRead: number;
  /** Chance that one write lands somewhere else. */
  readonly misdirectPerWrite: number;
  /** At a crash, per file with unsynced writes: chance that all of them are lost. */
  readonly loseAllAtCrash: number;
  /** ... else chance that a random subset survives (reordered by the disk) instead of a prefix. */
  readonly reorderAtCrash: number;
  /** Chance that the last surviving unsynced write is torn. */
  readonly tearAtCrash: number;
  /** Which files the running faults may hit (flips and misdirects): all, or only the logs' data. */
  readonly faultyFiles: (file: string) => boolean;
  /**
   * Whether a read flip may hit the fields of a segment's batch header that no CRC covers (base
   * offset, length, partition leader epoch, magic). When not, such a flip is left out.
   */
  readonly headerFlips: boolean;
  /** Latency bounds in ms. */
  readonly readMs: number;
  readonly writeMs: number;
  readonly fsyncMs: number;
  /**
   * Planted bug: fsync of a segment file (`.log`) or of the hard-state journal answers without
   * making anything durable. Segments alone are not enough since the lost-tail check: the
   * journal's durable record of the log end tells the replica what it lost, and it recovers.
   */
  readonly fsyncLies?: boolean;
}

export interface DiskStats {
  reads: number;
  writes: number;
  fsyncs: number;
  flips: number;
  misdirects: number;
  tornAtCrash: number;
  lostAtCrash: number;
}

const SECTOR = 512;

type Pending = { readonly kind: 'write'; readonly pos: number; readonly bytes: Buffer } | { readonly kind: 'truncate'; readonly len: number };

/** A growable byte array. */
class Bytes {
  buf: Buffer;
  size: number;

  constructor(initial: Buffer, size: number) {
    this.buf = initial;
    this.size = size;
  }

  private ensure(cap: number): void {
    if (cap <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(cap, this.buf.length * 2, 4096));
    this.buf.copy(next, 0, 0, this.size);
    this.buf = next;
  }

  write(pos: number, bytes: Buffer): void {
    this.ensure(pos + bytes.length);
    if (pos > this.size) this.buf.fill(0, this.size, pos);
    bytes.copy(this.buf, pos);
    if (pos + bytes.length > this.size) this.size = pos + bytes.length;
  }

  truncate(len: number): void {
    if (len > this.size) {
      this.ensure(len);
      this.buf.fill(0, this.size, len);
    }
    this.size = len;
  }

  apply(op: Pending): void {
    if (op.kind === 'write') this.write(op.pos, op.bytes);
    else this.truncate(op.len);
  }

  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.size));
  }
}

class FileNode {
  readonly kind = 'file';
  readonly data: Bytes;
  /** The bytes as of the last fsync. */
  readonly durable: Bytes;
  /** Writes and truncations since the last fsync, in order. */
  pending: Pending[] = [];
  mtime: number;

  constructor(
    readonly id: number,
    content: Buffer,
    mtime: number,
  ) {
    this.data = new Bytes(Buffer.from(content), content.length);
    this.durable = new Bytes(Buffer.from(content), content.length);
    this.mtime = mtime;
  }

  get size(): number {
    return this.data.size;
  }

  write(pos: number, bytes: Buffer): void {
    this.data.write(pos, bytes);
    this.pending.push({ kind: 'write', pos, bytes });
  }

  truncate(len: number): void {
    this.data.truncate(len);
    this.pending.push({ kind: 'truncate', len });
  }

  sync(): void {
    for (const op of this.pending) this.durable.apply(op);
    this.pending = [];
  }
}

class DirNode {
  readonly kind = 'dir';
  readonly entries = new Map<string, Node>();
  durableEntries = new Map<string, Node>();

  constructor(readonly id: number) {}
}

type Node = FileNode | DirNode;

function errno(code: string, what: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${what}`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

interface OpenFile {
  readonly node: FileNode;
  readonly path: string;
  readonly writable: boolean;
}

export class SimDisk implements FileSystem {
  readonly stats: DiskStats;
  /** Called after each write lands (before its caller hears of it): the world may crash the node right there. */
  onWritten: (() => void) | null = null;
  private root: DirNode;
  private nextId = 1;
  private nextFd = 3;
  private readonly fds = new Map<number, OpenFile>();
  private readonly rng: SeededRandom;
  /** Every crash here is a power loss: the machine boots again. */
  private readonly boots: number;

  constructor(
    private readonly timers: NodeTimers,
    private readonly faults: DiskFaults,
    seed: number,
    root?: DirNode,
    stats?: DiskStats,
    boots = 1,
  ) {
    this.boots = boots;
    this.rng = new SeededRandom(seed);
    this.root = root ?? new DirNode(0);
    this.stats = stats ?? { reads: 0, writes: 0, fsyncs: 0, flips: 0, misdirects: 0, tornAtCrash: 0, lostAtCrash: 0 };
  }

  /** Makes `dir` and its parents exist durably (the machine's data directory, before any broker runs). */
  provision(dir: string): void {
    let d = this.root;
    for (const part of split(dir)) {
      let next = d.entries.get(part);
      if (next === undefined) {
        next = new DirNode(this.nextId++);
        d.entries.set(part, next);
        d.durableEntries.set(part, next);
      }
      if (next.kind !== 'dir') throw new Error(`${dir}: not a directory`);
      d = next;
    }
  }

  /**
   * The disk after power loss, for the next incarnation (on its timers): durable names only,
   * each file's durable bytes and what the crash's luck adds of its unsynced writes.
   */
  crash(timers: NodeTimers, seed: number): SimDisk {
    const map = new Map<Node, Node>();
    const rng = this.rng;
    let nextId = 1;
    const copy = (n: Node): Node => {
      const known = map.get(n);
      if (known !== undefined) return known;
      if (n.kind === 'dir') {
        const d = new DirNode(nextId++);
        map.set(n, d);
        for (const [name, child] of n.durableEntries) d.entries.set(name, copy(child));
        d.durableEntries = new Map(d.entries);
        return d;
      }
      const f = new FileNode(nextId++, n.durable.copy(), n.mtime);
      map.set(n, f);
      const ops = n.pending;
      if (ops.length > 0) {
        if (rng.chance(this.faults.loseAllAtCrash)) {
          this.stats.lostAtCrash++;
        } else {
          const reorder = rng.chance(this.faults.reorderAtCrash);
          const keep = reorder ? ops.filter(() => rng.chance(0.5)) : ops.slice(0, rng.nextInt(ops.length + 1));
          if (keep.length < ops.length) this.stats.lostAtCrash++;
          keep.forEach((op, i) => {
            if (op.kind === 'truncate') f.truncate(op.len);
            else if (i === keep.length - 1 && rng.chance(this.faults.tearAtCrash) && crossesSector(op.pos, op.bytes.length)) {
              // The sectors before some boundary inside the write reached the platter, the rest did not.
              const first = Math.floor(op.pos / SECTOR) + 1;
              const last = Math.ceil((op.pos + op.bytes.length) / SECTOR) - 1;
              const boundary = (first + rng.nextInt(last - first + 1)) * SECTOR;
              f.write(op.pos, op.bytes.subarray(0, boundary - op.pos));
              this.stats.tornAtCrash++;
            } else f.write(op.pos, op.bytes);
          });
        }
      }
      f.sync();
      return f;
    };
    const root = copy(this.root) as DirNode;
    const next = new SimDisk(timers, this.faults, seed, root, this.stats, this.boots + 1);
    next.nextId = nextId;
    return next;
  }

  // ------------------------------------------------------------------ names

  private lookup(p: string): Node | undefined {
    let n: Node = this.root;
    for (const part of split(p)) {
      if (n.kind !== 'dir') return undefined;
      const next: Node | undefined = n.entries.get(part);
      if (next === undefined) return undefined;
      n = next;
    }
    return n;
  }

  private parentOf(p: string): { dir: DirNode; name: string } {
    const parent = this.lookup(path.dirname(p));
    if (parent === undefined || parent.kind !== 'dir') throw errno('ENOENT', `no directory for ${p}`);
    return { dir: parent, name: path.basename(p) };
  }

  private fileAt(p: string): FileNode {
    const n = this.lookup(p);
    if (n === undefined) throw errno('ENOENT', p);
    if (n.kind !== 'file') throw errno('EISDIR', p);
    return n;
  }

  private openNow(file: string, flags: OpenFlags): number {
    let node = this.lookup(file);
    if (node !== undefined && node.kind === 'dir') {
      if (flags !== 'r') throw errno('EISDIR', file);
      throw errno('EISDIR', `${file} (open a directory through fsyncDir)`);
    }
    if (flags === 'wx+' && node !== undefined) throw errno('EEXIST', file);
    if (node === undefined) {
      if (flags === 'r' || flags === 'r+') throw errno('ENOENT', file);
      const { dir, name } = this.parentOf(file);
      node = new FileNode(this.nextId++, Buffer.alloc(0), this.timers.now());
      dir.entries.set(name, node);
    } else if (flags === 'w' || flags === 'w+') {
      node.truncate(0);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { node, path: file, writable: flags !== 'r' });
    return fd;
  }

  private file(fd: number): OpenFile {
    const f = this.fds.get(fd);
    if (f === undefined) throw errno('EBADF', `fd ${fd}`);
    return f;
  }

  /** Completes an async operation after `ms` (never, if this incarnation dies first). */
  private later<T>(ms: number, op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.timers.after(this.rng.nextFloat() * ms, () => {
        try {
          resolve(op());
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  }

  openSync(file: string, flags: OpenFlags): number {
    return this.openNow(file, flags);
  }

  open(file: string, flags: OpenFlags): Promise<number> {
    return this.later(this.faults.readMs, () => this.openNow(file, flags));
  }

  closeSync(fd: number): void {
    this.file(fd);
    this.fds.delete(fd);
  }

  close(fd: number): Promise<void> {
    return this.later(this.faults.readMs, () => this.closeSync(fd));
  }

  sizeSync(fd: number): number {
    return this.file(fd).node.size;
  }

  read(fd: number, target: Buffer, offset: number, length: number, position: number): Promise<number> {
    const f = this.file(fd);
    return this.later(this.faults.readMs, () => {
      this.stats.reads++;
      const n = Math.max(0, Math.min(length, f.node.size - position));
      if (n === 0) return 0;
      f.node.data.buf.copy(target, offset, position, position + n);
      this.maybeFlip(f.path, f.node, target, offset, n, position);
      return n;
    });
  }

  private maybeFlip(file: string, node: FileNode, buf: Buffer, at: number, n: number, position: number): void {
    if (n === 0 || !this.faults.faultyFiles(file) || !this.rng.chance(this.faults.flipPerRead)) return;
    const i = at + this.rng.nextInt(n);
    const bit = 1 << this.rng.nextInt(8);
    if (!this.faults.headerFlips && file.endsWith('.log') && this.inBatchHeader(node, position + (i - at))) return;
    buf[i] = (buf[i] as number) ^ bit;
    this.stats.flips++;
  }

  /** Whether byte `pos` of a segment lies in a batch's unchecksummed header (its first 17 bytes). */
  private inBatchHeader(node: FileNode, pos: number): boolean {
    const data = node.data.buf;
    let start = 0;
    while (start + 12 <= node.size) {
      const len = data.readInt32BE(start + 8);
      if (len < 0) return false;
      if (pos < start + 17) return pos >= start;
      start += 12 + len;
    }
    return false;
  }

  writev(fd: number, buffers: readonly Buffer[], position: number): Promise<number> {
    const f = this.file(fd);
    if (!f.writable) return Promise.reject(errno('EBADF', `fd ${fd} is read-only`));
    return this.later(this.faults.writeMs, () => {
      // The caller's buffers are read now, at completion, as the kernel may read them any time before.
      const bytes = Buffer.concat(buffers as Buffer[]);
      this.stats.writes++;
      f.node.mtime = this.timers.now();
      if (bytes.length > 0 && this.faults.faultyFiles(f.path) && this.rng.chance(this.faults.misdirectPerWrite)) {
        this.misdirect(f.node, position, bytes);
      } else {
        f.node.write(position, bytes);
      }
      this.onWritten?.();
      return bytes.length;
    });
  }

  /** The write's bytes land on another sector (of this file or another one); its own place keeps what it had. */
  private misdirect(node: FileNode, position: number, bytes: Buffer): void {
    this.stats.misdirects++;
    if (position + bytes.length > node.size) node.truncate(position + bytes.length);
    const files: FileNode[] = [];
    const walk = (d: DirNode): void => {
      for (const c of d.entries.values()) {
        if (c.kind === 'dir') walk(c);
        else if (c.size > 0) files.push(c);
      }
    };
    walk(this.root);
    const target = files.length > 0 && this.rng.chance(0.5) ? (files[this.rng.nextInt(files.length)] as FileNode) : node;
    const sectors = Math.max(1, Math.floor(target.size / SECTOR));
    const at = this.rng.nextInt(sectors) * SECTOR;
    const n = Math.min(bytes.length, Math.max(0, target.size - at));
    if (n === 0) return;
    target.write(at, Buffer.from(bytes.subarray(0, n)));
  }

  fsync(fd: number): Promise<void> {
    const f = this.file(fd);
    return this.later(this.faults.fsyncMs, () => {
      this.stats.fsyncs++;
      if (this.faults.fsyncLies !== true || !(f.path.endsWith('.log') || f.path.endsWith('hardstate.journal'))) f.node.sync();
    });
  }

  ftruncateSync(fd: number, length: number): void {
    this.file(fd).node.truncate(length);
  }

  ftruncate(fd: number, length: number): Promise<void> {
    this.file(fd);
    return this.later(this.faults.writeMs, () => this.ftruncateSync(fd, length));
  }

  existsSync(file: string): boolean {
    return this.lookup(file) !== undefined;
  }

  modifiedMsSync(file: string): number {
    return this.fileAt(file).mtime;
  }

  unlinkSync(file: string): void {
    const { dir, name } = this.parentOf(file);
    const n = dir.entries.get(name);
    if (n === undefined) throw errno('ENOENT', file);
    if (n.kind === 'dir') throw errno('EISDIR', file);
    dir.entries.delete(name);
  }

  unlink(file: string): Promise<void> {
    return this.later(this.faults.writeMs, () => this.unlinkSync(file));
  }

  removeSync(target: string): void {
    const parent = this.lookup(path.dirname(target));
    if (parent === undefined || parent.kind !== 'dir') return;
    parent.entries.delete(path.basename(target));
  }

  remove(target: string, recursive: boolean): Promise<void> {
    return this.later(this.faults.writeMs, () => {
      const n = this.lookup(target);
      if (n === undefined) return;
      if (n.kind === 'dir' && !recursive && n.entries.size > 0) throw errno('ENOTEMPTY', target);
      this.removeSync(target);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.later(this.faults.writeMs, () => {
      const src = this.parentOf(from);
      const n = src.dir.entries.get(src.name);
      if (n === undefined) throw errno('ENOENT', from);
      const dst = this.parentOf(to);
      src.dir.entries.delete(src.name);
      dst.dir.entries.set(dst.name, n);
    });
  }

  readFile(file: string): Promise<Buffer> {
    return this.later(this.faults.readMs, () => {
      const n = this.fileAt(file);
      this.stats.reads++;
      const out = n.data.copy();
      this.maybeFlip(file, n, out, 0, out.length, 0);
      return out;
    });
  }

  readdir(dir: string): Promise<string[]> {
    return this.later(this.faults.readMs, () => {
      const n = this.lookup(dir);
      if (n === undefined) throw errno('ENOENT', dir);
      if (n.kind !== 'dir') throw errno('ENOTDIR', dir);
      return [...n.entries.keys()].sort();
    });
  }

  mkdirs(dir: string): Promise<string | undefined> {
    return this.later(this.faults.writeMs, () => {
      let d = this.root;
      let first: string | undefined;
      let at = '/';
      for (const part of split(dir)) {
        at = path.join(at, part);
        let next = d.entries.get(part);
        if (next === undefined) {
          next = new DirNode(this.nextId++);
          d.entries.set(part, next);
          first ??= at;
        }
        if (next.kind !== 'dir') throw errno('ENOTDIR', at);
        d = next;
      }
      return first;
    });
  }

  fsyncDir(dir: string): Promise<void> {
    return this.later(this.faults.fsyncMs, () => {
      const n = this.lookup(dir);
      if (n === undefined) throw errno('ENOENT', dir);
      if (n.kind !== 'dir') throw errno('ENOTDIR', dir);
      this.stats.fsyncs++;
      n.durableEntries = new Map(n.entries);
    });
  }

  bootId(): string {
    return `sim-boot-${this.boots}`;
  }

  /** What a fault-free read of the whole file returns now (for the model's own look at a replica). */
  peek(file: string): Buffer | null {
    const n = this.lookup(file);
    return n === undefined || n.kind !== 'file' ? null : n.data.copy();
  }
}

/** Whether [pos, pos + len) spans a sector boundary (a write within one sector is atomic). */
function crossesSector(pos: number, len: number): boolean {
  return Math.floor(pos / SECTOR) !== Math.floor((pos + len - 1) / SECTOR);
}

function split(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}
