/**
 * The hard state (term, vote, commit) of every raft group on a broker, in one append-only file
 * that takes part in the log's group-commit rounds: a round that writes many groups' entries
 * also makes their new terms and votes durable, with one extra fsync for all of them instead of
 * a small atomic file per group (three fsyncs each). Fixed-size records, each with its own
 * CRC-32C; the latest hard state of a group wins; a torn or corrupt tail is cut at start-up.
 * The file is rewritten with only the live records when it has grown well beyond them.
 *
 * It also holds where each new leader's empty entry sits (term, raft index, Kafka offset): those
 * entries carry no data, so they take no bytes and no offset in the partition log (see
 * partition-raft-storage.ts), and this is their durable record.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { crc32c } from '../kafka/protocol/crc32c.js';
import { fsyncDir, fsyncFd, writeFileDurable } from '../log/files.js';
import type { FlushPlan, Flushable, GroupCommitter } from '../log/group-committer.js';
import type { FileSystem } from '../platform/file-system.js';
import type { HardState } from '../raft/types.js';

const RECORD = 41; // crc u32, kind u8, group f64, then three f64 fields
const KIND_HARD_STATE = 1; // term, vote, commit
const KIND_NOOP = 2; // term, index, offset
const KIND_NOOPS_FROM = 3; // index: forget no-ops at and after it (truncation)
const KIND_NOOPS_BELOW = 4; // index: forget no-ops before it (compaction)
const FILE = 'hardstate.journal';
const COMPACT_MIN_BYTES = 1 << 20;

/** A new leader's empty entry: its raft index and the Kafka offset it stands at. */
export interface NoopEntry {
  readonly term: number;
  readonly index: number;
  readonly offset: number;
}

interface Rec {
  readonly kind: number;
  readonly group: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

function encode(r: Rec, into: Buffer, at: number): void {
  into.writeUInt8(r.kind, at + 4);
  into.writeDoubleBE(r.group, at + 5);
  into.writeDoubleBE(r.a, at + 13);
  into.writeDoubleBE(r.b, at + 21);
  into.writeDoubleBE(r.c, at + 29);
  into.fill(0, at + 37, at + RECORD);
  into.writeUInt32BE(crc32c(into, at + 4, at + RECORD), at);
}

function hardRec(group: number, hs: HardState): Rec {
  return { kind: KIND_HARD_STATE, group, a: hs.term, b: hs.vote, c: hs.commit };
}

export class HardStateJournal implements Flushable {
  private readonly states = new Map<number, HardState>();
  private pending = new Map<number, HardState>();
  private inflight: Map<number, HardState> | null = null;
  /** No-op entries per group, ascending by index (what the file says once pending ones are written). */
  private readonly noopsByGroup = new Map<number, NoopEntry[]>();
  /** No-op records waiting for the next round, in order. */
  private pendingNoops: Rec[] = [];
  private size: number;
  private requested: Promise<void> | null = null;
  private failed: Error | null = null;
  /** The committer's: it writes and fsyncs this journal's descriptor. */
  private readonly fs: FileSystem;

  private constructor(
    private readonly file: string,
    private fd: number,
    size: number,
    private readonly committer: GroupCommitter,
    private readonly logger: Logger,
  ) {
    this.size = size;
    this.fs = committer.fs;
  }

  /** Opens (creating) `<dir>/hardstate.journal`, reading every group's latest hard state. */
  static async open(dir: string, committer: GroupCommitter, logger: Logger): Promise<HardStateJournal> {
    const fs = committer.fs;
    await fs.mkdirs(dir);
    const file = path.join(dir, FILE);
    const existed = fs.existsSync(file);
    const fd = fs.openSync(file, 'a+');
    const data = await fs.readFile(file);
    const states = new Map<number, HardState>();
    const noops = new Map<number, NoopEntry[]>();
    let good = 0;
    for (let at = 0; at + RECORD <= data.length; at += RECORD) {
      if (data.readUInt32BE(at) !== crc32c(data, at + 4, at + RECORD)) break;
      const r: Rec = {
        kind: data.readUInt8(at + 4),
        group: data.readDoubleBE(at + 5),
        a: data.readDoubleBE(at + 13),
        b: data.readDoubleBE(at + 21),
        c: data.readDoubleBE(at + 29),
      };
      if (r.kind === KIND_HARD_STATE) states.set(r.group, { term: r.a, vote: r.b, commit: r.c });
      else applyNoopRecord(noops, r);
      good = at + RECORD;
    }
    if (good < data.length) {
      logger.warn({ file, bytes: data.length, kept: good }, 'hard-state journal had a torn or corrupt tail; cut it');
      fs.ftruncateSync(fd, good);
      await fsyncFd(fd, fs);
    }
    if (!existed) await fsyncDir(dir, fs);
    fs.closeSync(fd);
    // Positioned writes need a descriptor that is not in append mode.
    const j = new HardStateJournal(file, fs.openSync(file, 'r+'), good, committer, logger);
    for (const [g, hs] of states) j.states.set(g, hs);
    for (const [g, list] of noops) j.noopsByGroup.set(g, list);
    return j;
  }

  /** The group's recorded no-op entries, ascending by index. */
  noops(group: number): readonly NoopEntry[] {
    return this.noopsByGroup.get(group) ?? [];
  }

  /** Records a new leader's empty entry; durable after the next round that `sync()` joins. */
  putNoop(group: number, e: NoopEntry): void {
    this.queueNoop({ kind: KIND_NOOP, group, a: e.term, b: e.index, c: e.offset });
  }

  /** Forgets the group's no-ops at and after `index` (its log was cut there). */
  truncateNoops(group: number, index: number): void {
    this.queueNoop({ kind: KIND_NOOPS_FROM, group, a: index, b: 0, c: 0 });
  }

  /** Forgets the group's no-ops before `index` (a snapshot covers them). */
  dropNoopsBelow(group: number, index: number): void {
    this.queueNoop({ kind: KIND_NOOPS_BELOW, group, a: index, b: 0, c: 0 });
  }

  private queueNoop(r: Rec): void {
    applyNoopRecord(this.noopsByGroup, r);
    this.pendingNoops.push(r);
  }

  /** The group's hard state as last written (durable or about to be), or null if never. */
  get(group: number): HardState | null {
    return this.pending.get(group) ?? this.inflight?.get(group) ?? this.states.get(group) ?? null;
  }

  /** Groups with a record. */
  groups(): number[] {
    return [...new Set([...this.states.keys(), ...this.pending.keys()])];
  }

  /** Records a new hard state; durable after the next round that `sync()` joins. */
  put(group: number, hs: HardState): void {
    this.pending.set(group, hs);
  }

  /** Forgets a group (its replica was deleted); the record disappears at the next compaction. */
  remove(group: number): void {
    this.pending.delete(group);
    this.states.delete(group);
    if (this.noopsByGroup.has(group)) this.queueNoop({ kind: KIND_NOOPS_FROM, group, a: 0, b: 0, c: 0 });
    this.noopsByGroup.delete(group);
  }

  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending.size > 0 || this.pendingNoops.length > 0) {
      this.requested ??= this.committer.request(this);
      return this.requested;
    }
    return this.requested ?? Promise.resolve();
  }

  prepareFlush(): FlushPlan {
    this.requested = null;
    const batch = this.pending;
    this.pending = new Map();
    this.inflight = batch;
    const noops = this.pendingNoops;
    this.pendingNoops = [];
    const buf = Buffer.allocUnsafe((noops.length + batch.size) * RECORD);
    let at = 0;
    // No-op records first: a hard state in the same round may already count their entries.
    for (const r of noops) {
      encode(r, buf, at);
      at += RECORD;
    }
    for (const [g, hs] of batch) {
      encode(hardRec(g, hs), buf, at);
      at += RECORD;
    }
    const position = this.size;
    this.size += buf.length;
    return { files: [{ fd: this.fd, buffers: [buf], position }], dirs: [] };
  }

  completeFlush(error: Error | null): void {
    const batch = this.inflight;
    this.inflight = null;
    if (error) {
      this.failed = error;
      this.logger.error({ err: error, file: this.file }, 'hard-state journal write failed');
      return;
    }
    if (batch) for (const [g, hs] of batch) this.states.set(g, hs);
  }

  /**
   * Rewrites the file with one record per live group once it is mostly superseded records. Only
   * call it between rounds (nothing pending or in flight), as the replication host does.
   */
  async compactIfNeeded(): Promise<boolean> {
    if (this.inflight || this.pending.size > 0 || this.pendingNoops.length > 0 || this.requested) return false;
    let noopCount = 0;
    for (const list of this.noopsByGroup.values()) noopCount += list.length;
    const live = (this.states.size + noopCount) * RECORD;
    if (this.size < COMPACT_MIN_BYTES || this.size < 4 * live) return false;
    const buf = Buffer.allocUnsafe(live);
    let at = 0;
    for (const [g, list] of this.noopsByGroup) {
      for (const e of list) {
        encode({ kind: KIND_NOOP, group: g, a: e.term, b: e.index, c: e.offset }, buf, at);
        at += RECORD;
      }
    }
    for (const [g, hs] of this.states) {
      encode(hardRec(g, hs), buf, at);
      at += RECORD;
    }
    const tmp = `${this.file}.tmp`;
    await writeFileDurable(tmp, buf, this.fs);
    await this.fs.rename(tmp, this.file);
    await fsyncDir(path.dirname(this.file), this.fs);
    this.fs.closeSync(this.fd);
    this.fd = this.fs.openSync(this.file, 'r+');
    this.size = live;
    return true;
  }

  close(): void {
    this.fs.closeSync(this.fd);
  }
}

function applyNoopRecord(noops: Map<number, NoopEntry[]>, r: Rec): void {
  const list = noops.get(r.group) ?? [];
  let next: NoopEntry[];
  switch (r.kind) {
    case KIND_NOOP:
      next = list.filter((e) => e.index < r.b);
      next.push({ term: r.a, index: r.b, offset: r.c });
      break;
    case KIND_NOOPS_FROM:
      next = list.filter((e) => e.index < r.a);
      break;
    case KIND_NOOPS_BELOW:
      next = list.filter((e) => e.index >= r.a);
      break;
    default:
      return;
  }
  if (next.length === 0) noops.delete(r.group);
  else noops.set(r.group, next);
}
