/**
 * The hard state (term, vote, commit) of every raft group on a broker, in one append-only file
 * that takes part in the log's group-commit rounds: a round that writes many groups' entries
 * also makes their new terms and votes durable, with one extra fsync for all of them instead of
 * a small atomic file per group (three fsyncs each). Fixed-size records, each with its own
 * CRC-32C; the latest record of a group wins; a torn or corrupt tail is cut at start-up. The
 * file is rewritten with only the live records when it has grown well beyond them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { crc32c } from '../kafka/protocol/crc32c.js';
import { fsyncDir, fsyncFd } from '../log/files.js';
import type { FlushPlan, Flushable, GroupCommitter } from '../log/group-committer.js';
import type { HardState } from '../raft/types.js';

const RECORD = 36; // crc u32, group f64, term f64, vote f64, commit f64
const FILE = 'hardstate.journal';
const COMPACT_MIN_BYTES = 1 << 20;

function encode(group: number, hs: HardState, into: Buffer, at: number): void {
  into.writeDoubleBE(group, at + 4);
  into.writeDoubleBE(hs.term, at + 12);
  into.writeDoubleBE(hs.vote, at + 20);
  into.writeDoubleBE(hs.commit, at + 28);
  into.writeUInt32BE(crc32c(into, at + 4, at + RECORD), at);
}

export class HardStateJournal implements Flushable {
  private readonly states = new Map<number, HardState>();
  private pending = new Map<number, HardState>();
  private inflight: Map<number, HardState> | null = null;
  private size: number;
  private requested: Promise<void> | null = null;
  private failed: Error | null = null;

  private constructor(
    private readonly file: string,
    private fd: number,
    size: number,
    private readonly committer: GroupCommitter,
    private readonly logger: Logger,
  ) {
    this.size = size;
  }

  /** Opens (creating) `<dir>/hardstate.journal`, reading every group's latest hard state. */
  static async open(dir: string, committer: GroupCommitter, logger: Logger): Promise<HardStateJournal> {
    await fs.promises.mkdir(dir, { recursive: true });
    const file = path.join(dir, FILE);
    const existed = fs.existsSync(file);
    const fd = fs.openSync(file, 'a+');
    const data = await fs.promises.readFile(file);
    const states = new Map<number, HardState>();
    let good = 0;
    for (let at = 0; at + RECORD <= data.length; at += RECORD) {
      if (data.readUInt32BE(at) !== crc32c(data, at + 4, at + RECORD)) break;
      states.set(data.readDoubleBE(at + 4), {
        term: data.readDoubleBE(at + 12),
        vote: data.readDoubleBE(at + 20),
        commit: data.readDoubleBE(at + 28),
      });
      good = at + RECORD;
    }
    if (good < data.length) {
      logger.warn({ file, bytes: data.length, kept: good }, 'hard-state journal had a torn or corrupt tail; cut it');
      fs.ftruncateSync(fd, good);
      await fsyncFd(fd);
    }
    if (!existed) await fsyncDir(dir);
    fs.closeSync(fd);
    // Positioned writes need a descriptor that is not in append mode.
    const j = new HardStateJournal(file, fs.openSync(file, 'r+'), good, committer, logger);
    for (const [g, hs] of states) j.states.set(g, hs);
    return j;
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
  }

  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending.size > 0) {
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
    const buf = Buffer.allocUnsafe(batch.size * RECORD);
    let at = 0;
    for (const [g, hs] of batch) {
      encode(g, hs, buf, at);
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
    if (this.inflight || this.pending.size > 0 || this.requested) return false;
    const live = this.states.size * RECORD;
    if (this.size < COMPACT_MIN_BYTES || this.size < 4 * live) return false;
    const buf = Buffer.allocUnsafe(live);
    let at = 0;
    for (const [g, hs] of this.states) {
      encode(g, hs, buf, at);
      at += RECORD;
    }
    const tmp = `${this.file}.tmp`;
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, this.file);
    await fsyncDir(path.dirname(this.file));
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'r+');
    this.size = live;
    return true;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
