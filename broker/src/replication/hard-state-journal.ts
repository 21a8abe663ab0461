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
 *
 * And, latest wins, where each group's log ends as of the latest round (written in the round that
 * writes the entries, so before anything in them is acknowledged) and its lost-tail recovery
 * state: together they tell a log that lost acknowledged entries (see lost-tail.ts). Beside them,
 * where each log was last known durable (after a round's fsyncs; written with the next round, or
 * lazily), and the boot id of the machine that wrote the file: after a power loss a round's
 * journal write may have reached the disk while its segment write did not, and these two tell
 * that unfinished round from a lost tail.
 *
 * A term and vote are the one thing Raft cannot get back from the other replicas: a replica that
 * forgets its vote may vote twice in a term, and two leaders of one term can both commit. So every
 * change of a group's term or vote is also written, in the same round and fsync, to a second file
 * (`hardstate.votes`, small: elections are rare). A disk that damages one file leaves the other;
 * open takes, per group, the later of the two. When the journal itself lost records, `damaged`
 * says so: its log ends, recovery states and no-ops may be older than the truth, and every replica
 * opened on it starts a new incarnation (lost-tail.ts). When both files lost records, the term and
 * vote may be older too (`votesLost`), which lost-tail.ts answers by refusing to vote in any term
 * the log shows.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { crc32c } from '../kafka/protocol/crc32c.js';
import { fsyncDir, fsyncFd, writeFileDurable } from '../log/files.js';
import type { FlushPlan, Flushable, GroupCommitter } from '../log/group-committer.js';
import type { FileSystem } from '../platform/file-system.js';
import type { TimerHandle } from '../platform/timers.js';
import type { HardState } from '../raft/types.js';

const RECORD = 41; // crc u32, kind u8, group f64, then three f64 fields
const KIND_HARD_STATE = 1; // term, vote, commit
const KIND_NOOP = 2; // term, index, offset
const KIND_NOOPS_FROM = 3; // index: forget no-ops at and after it (truncation)
const KIND_NOOPS_BELOW = 4; // index: forget no-ops before it (compaction)
const KIND_LOG_END = 5; // index, term of the last entry, voters of the configuration there
const KIND_RECOVERY = 6; // incarnation, index and term to recover to (0, 0: not recovering)
const KIND_DURABLE_END = 7; // index, term: the log was durable up to there (after a round's fsyncs)
const KIND_BOOT = 8; // group 0; the boot id of the machine that wrote the records, as three 48-bit numbers
/** How long a durable end waits for a round to ride on before it gets one of its own. */
const DURABLE_END_LINGER_MS = 200;
const FILE = 'hardstate.journal';
const FACT_KINDS = new Set([KIND_LOG_END, KIND_RECOVERY, KIND_DURABLE_END, KIND_BOOT]);
const VOTES_FILE = 'hardstate.votes';
const COMPACT_MIN_BYTES = 1 << 20;
const VOTES_COMPACT_MIN_BYTES = 64 << 10;

/** A new leader's empty entry: its raft index and the Kafka offset it stands at. */
export interface NoopEntry {
  readonly term: number;
  readonly index: number;
  readonly offset: number;
}

/** Where a group's log ended (its last entry) and how many voters its configuration had there. */
export interface LogEnd {
  readonly index: number;
  readonly term: number;
  readonly voters: number;
}

/** A group's lost-tail state: its incarnation, and what its log must reach again (null: nothing). */
export interface RecoveryState {
  readonly incarnation: number;
  readonly recoverTo: { readonly index: number; readonly term: number } | null;
}

interface Rec {
  readonly kind: number;
  readonly group: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** Bytes cut from one of the files at open: records it had may be gone. */
export interface JournalDamage {
  readonly file: string;
  readonly bytes: number;
  readonly kept: number;
}

/** Reads of a journal file whose records stop short of its end before what is left is cut. */
const JOURNAL_READ_ATTEMPTS = 4;

/** The records of `data` up to the first that fails its CRC, and where they end. */
function parseRecords(data: Buffer): { records: Rec[]; good: number } {
  const records: Rec[] = [];
  let good = 0;
  for (let at = 0; at + RECORD <= data.length; at += RECORD) {
    if (data.readUInt32BE(at) !== crc32c(data, at + 4, at + RECORD)) break;
    records.push({
      kind: data.readUInt8(at + 4),
      group: data.readDoubleBE(at + 5),
      a: data.readDoubleBE(at + 13),
      b: data.readDoubleBE(at + 21),
      c: data.readDoubleBE(at + 29),
    });
    good = at + RECORD;
  }
  return { records, good };
}

/** The records of one file up to the first that fails its CRC; a damaged tail is cut (and fsynced). */
async function readRecords(fs: FileSystem, dir: string, name: string, logger: Logger): Promise<{ fd: number; records: Rec[]; size: number; damage: JournalDamage | null }> {
  const file = path.join(dir, name);
  const existed = fs.existsSync(file);
  const fd = fs.openSync(file, 'a+');
  // A record that fails its CRC in one read may be a bit flipped on the way (the next read is
  // fine) or damage on disk: the file is read again until two reads end their good records at
  // the same place, so a flip in one read never cuts records that are there.
  // (A flip only ever shortens a read's good records, so when no two reads agree the longest wins.)
  let data: Buffer = Buffer.alloc(0);
  let records: Rec[] = [];
  let good = -1;
  const ends: number[] = [];
  for (let attempt = 1; ; attempt++) {
    const read = await fs.readFile(file);
    const parsed = parseRecords(read);
    if (parsed.good > good) ({ data, records, good } = { data: read, ...parsed });
    if (parsed.good === read.length || ends.includes(parsed.good) || attempt >= JOURNAL_READ_ATTEMPTS) break;
    ends.push(parsed.good);
    logger.warn({ file, at: parsed.good, bytes: read.length, attempt }, 'hard-state file has a record that fails its CRC; reading it again');
  }
  let damage: JournalDamage | null = null;
  if (good < data.length) {
    // A torn last write (never acknowledged) looks the same as a damaged record that was fsynced:
    // count it as a loss.
    damage = { file, bytes: data.length, kept: good };
    logger.warn(damage, 'hard-state file had a torn or corrupt tail; cut it (records past it may be lost)');
    fs.ftruncateSync(fd, good);
    await fsyncFd(fd, fs);
  }
  if (!existed) await fsyncDir(dir, fs);
  fs.closeSync(fd);
  // Positioned writes need a descriptor that is not in append mode.
  return { fd: fs.openSync(file, 'r+'), records, size: good, damage };
}

/** `b` is a later term and vote than `a`: a higher term, or the same term with a vote where `a` has none. */
function laterVote(a: HardState, b: { term: number; vote: number }): boolean {
  return b.term > a.term || (b.term === a.term && a.vote === 0 && b.vote !== 0);
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

/** A boot id as a record (its SHA-256, first 144 bits, in three numbers a double holds exactly). */
function bootRec(id: string): Rec {
  const h = createHash('sha256').update(id).digest();
  return { kind: KIND_BOOT, group: 0, a: h.readUIntBE(0, 6), b: h.readUIntBE(6, 6), c: h.readUIntBE(12, 6) };
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
  /** Latest log-end and recovery records by `${kind}/${group}`: durable, in flight, pending. */
  private readonly facts = new Map<string, Rec>();
  private inflightFacts: Map<string, Rec> | null = null;
  private pendingFacts = new Map<string, Rec>();
  /** Durable ends not yet written: they ride on the next round and request none before the linger. */
  private pendingDurable = new Map<string, Rec>();
  private durableTimer: TimerHandle | null = null;
  private closed = false;
  private size: number;
  private requested: Promise<void> | null = null;
  private failed: Error | null = null;
  /** The committer's: it writes and fsyncs this journal's descriptors. */
  private readonly fs: FileSystem;

  /** Term and vote per group as written to the votes file (in flight included). */
  private readonly votesWritten = new Map<number, { term: number; vote: number }>();
  private votesSize: number;
  /** Records of the journal itself may be lost (see the file comment); null if not. */
  readonly damaged: JournalDamage | null;
  /** Both files lost records: a term or vote may be older than what this broker sent. */
  readonly votesLost: boolean;
  /**
   * The machine restarted since the file was last written (its boot id differs), so writes that
   * were not fsynced may be lost; false after a process crash, and where the boot id is unknown.
   */
  readonly rebooted: boolean;

  private constructor(
    private readonly file: string,
    private fd: number,
    size: number,
    private readonly votesFile: string,
    private votesFd: number,
    votesSize: number,
    damaged: JournalDamage | null,
    votesLost: boolean,
    rebooted: boolean,
    private readonly committer: GroupCommitter,
    private readonly logger: Logger,
  ) {
    this.size = size;
    this.fs = committer.fs;
    this.votesSize = votesSize;
    this.damaged = damaged;
    this.votesLost = votesLost;
    this.rebooted = rebooted;
  }

  /** Opens (creating) `<dir>/hardstate.journal` and its votes file, reading every group's latest state. */
  static async open(dir: string, committer: GroupCommitter, logger: Logger): Promise<HardStateJournal> {
    const fs = committer.fs;
    await fs.mkdirs(dir);
    const main = await readRecords(fs, dir, FILE, logger);
    const votes = await readRecords(fs, dir, VOTES_FILE, logger);
    const states = new Map<number, HardState>();
    const noops = new Map<number, NoopEntry[]>();
    const facts = new Map<string, Rec>();
    for (const r of main.records) {
      if (r.kind === KIND_HARD_STATE) states.set(r.group, { term: r.a, vote: r.b, commit: r.c });
      else if (FACT_KINDS.has(r.kind)) facts.set(factKey(r.kind, r.group), r);
      else applyNoopRecord(noops, r);
    }
    const voted = new Map<number, { term: number; vote: number }>();
    for (const r of votes.records) if (r.kind === KIND_HARD_STATE) voted.set(r.group, { term: r.a, vote: r.b });
    let fromVotes = 0;
    for (const [g, v] of voted) {
      // A group the journal does not know was removed, unless the journal lost its records.
      if (!states.has(g) && main.damage === null) continue;
      const hs = states.get(g) ?? { term: 0, vote: 0, commit: 0 };
      if (laterVote(hs, v)) {
        states.set(g, { term: v.term, vote: v.vote, commit: hs.commit });
        fromVotes++;
      }
    }
    if (fromVotes > 0) logger.warn({ groups: fromVotes }, 'hard-state journal had older terms or votes than its votes file; took the later ones');
    const votesLost = main.damage !== null && votes.damage !== null;
    if (votesLost) logger.error({ journal: main.damage, votes: votes.damage }, 'both hard-state files lost records: a term or vote may be older than what this broker sent; its replicas vote in no term their logs show');
    const boot = fs.bootId();
    const now = boot === null ? null : bootRec(boot);
    const was = facts.get(factKey(KIND_BOOT, 0));
    // A file from before boot ids were recorded says nothing either way: the strict reading.
    const rebooted = now !== null && was !== undefined && (was.a !== now.a || was.b !== now.b || was.c !== now.c);
    if (rebooted) logger.warn({ dir }, 'the machine restarted since this data directory was last written: writes that were not fsynced may be lost');
    const j = new HardStateJournal(path.join(dir, FILE), main.fd, main.size, path.join(dir, VOTES_FILE), votes.fd, votes.size, main.damage, votesLost, rebooted, committer, logger);
    if (now !== null && (was === undefined || rebooted)) j.pendingFacts.set(factKey(KIND_BOOT, 0), now);
    for (const [g, hs] of states) {
      j.states.set(g, hs);
      j.votesWritten.set(g, voted.get(g) ?? { term: -1, vote: -1 });
    }
    for (const [g, list] of noops) j.noopsByGroup.set(g, list);
    for (const [k, r] of facts) j.facts.set(k, r);
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

  /** Where the group's log ended as last written (durable or about to be), or null if never. */
  logEnd(group: number): LogEnd | null {
    const r = this.fact(KIND_LOG_END, group);
    return r === null ? null : { index: r.a, term: r.b, voters: r.c };
  }

  /** Records where the group's log ends now; durable after the next round that `sync()` joins. */
  putLogEnd(group: number, e: LogEnd): void {
    this.pendingFacts.set(factKey(KIND_LOG_END, group), { kind: KIND_LOG_END, group, a: e.index, b: e.term, c: e.voters });
  }

  /** Where the group's log was last known durable (as read at open or put since), or null. */
  durableEnd(group: number): { index: number; term: number } | null {
    const r = this.pendingDurable.get(factKey(KIND_DURABLE_END, group)) ?? this.fact(KIND_DURABLE_END, group);
    return r === null ? null : { index: r.a, term: r.b };
  }

  /**
   * Records that the group's log is durable up to `e` (a round's fsyncs completed). It rides on the
   * next round, or gets one of its own after a short linger: it only narrows what a power loss may
   * be taken to have cut, so nothing waits for it.
   */
  putDurableEnd(group: number, e: { index: number; term: number }): void {
    this.pendingDurable.set(factKey(KIND_DURABLE_END, group), { kind: KIND_DURABLE_END, group, a: e.index, b: e.term, c: 0 });
    if (this.durableTimer !== null || this.closed) return;
    this.durableTimer = this.committer.timers.setTimeout(() => {
      this.durableTimer = null;
      if (this.closed || this.failed !== null || this.pendingDurable.size === 0) return;
      this.requested ??= this.committer.request(this);
      this.requested.catch(() => {
        // completeFlush logged it and fails the next sync().
      });
    }, DURABLE_END_LINGER_MS);
  }

  /** The group's lost-tail recovery state as last written, or null if never. */
  recovery(group: number): RecoveryState | null {
    const r = this.fact(KIND_RECOVERY, group);
    return r === null ? null : { incarnation: r.a, recoverTo: r.b > 0 ? { index: r.b, term: r.c } : null };
  }

  putRecovery(group: number, s: RecoveryState): void {
    const to = s.recoverTo;
    this.pendingFacts.set(factKey(KIND_RECOVERY, group), { kind: KIND_RECOVERY, group, a: s.incarnation, b: to?.index ?? 0, c: to?.term ?? 0 });
  }

  private fact(kind: number, group: number): Rec | null {
    const k = factKey(kind, group);
    return this.pendingFacts.get(k) ?? this.inflightFacts?.get(k) ?? this.facts.get(k) ?? null;
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
    this.votesWritten.delete(group);
    for (const kind of [KIND_LOG_END, KIND_RECOVERY, KIND_DURABLE_END]) {
      this.pendingFacts.delete(factKey(kind, group));
      this.pendingDurable.delete(factKey(kind, group));
      this.facts.delete(factKey(kind, group));
    }
    if (this.noopsByGroup.has(group)) this.queueNoop({ kind: KIND_NOOPS_FROM, group, a: 0, b: 0, c: 0 });
    this.noopsByGroup.delete(group);
  }

  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending.size > 0 || this.pendingNoops.length > 0 || this.pendingFacts.size > 0) {
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
    const facts = this.pendingFacts;
    this.pendingFacts = new Map();
    for (const [k, r] of this.pendingDurable) facts.set(k, r);
    this.pendingDurable = new Map();
    this.inflightFacts = facts;
    const buf = Buffer.allocUnsafe((noops.length + batch.size + facts.size) * RECORD);
    let at = 0;
    // Log ends and recovery states, then no-ops: a hard state in the same round may already count
    // their entries.
    for (const r of facts.values()) {
      encode(r, buf, at);
      at += RECORD;
    }
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
    const files = [{ fd: this.fd, buffers: [buf], position }];
    const changed: Rec[] = [];
    for (const [g, hs] of batch) {
      const w = this.votesWritten.get(g);
      if (w !== undefined && w.term === hs.term && w.vote === hs.vote) continue;
      this.votesWritten.set(g, { term: hs.term, vote: hs.vote });
      changed.push(hardRec(g, hs));
    }
    if (changed.length > 0) {
      const vbuf = Buffer.allocUnsafe(changed.length * RECORD);
      changed.forEach((r, i) => encode(r, vbuf, i * RECORD));
      files.push({ fd: this.votesFd, buffers: [vbuf], position: this.votesSize });
      this.votesSize += vbuf.length;
    }
    return { files, dirs: [] };
  }

  completeFlush(error: Error | null): void {
    const batch = this.inflight;
    this.inflight = null;
    const facts = this.inflightFacts;
    this.inflightFacts = null;
    if (error) {
      this.failed = error;
      this.logger.error({ err: error, file: this.file }, 'hard-state journal write failed');
      return;
    }
    if (batch) for (const [g, hs] of batch) this.states.set(g, hs);
    if (facts) for (const [k, r] of facts) this.facts.set(k, r);
  }

  /**
   * Rewrites the file with one record per live group once it is mostly superseded records. Only
   * call it between rounds (nothing pending or in flight), as the replication host does.
   */
  async compactIfNeeded(): Promise<boolean> {
    if (this.inflight || this.pending.size > 0 || this.pendingNoops.length > 0 || this.pendingFacts.size > 0 || this.requested) return false;
    let compacted = false;
    const votesLive = this.states.size * RECORD;
    if (this.votesSize >= VOTES_COMPACT_MIN_BYTES && this.votesSize >= 4 * votesLive) {
      const buf = Buffer.allocUnsafe(votesLive);
      let at = 0;
      for (const [g, hs] of this.states) {
        encode(hardRec(g, hs), buf, at);
        at += RECORD;
      }
      this.votesFd = await rewrite(this.fs, this.votesFile, this.votesFd, buf);
      this.votesSize = votesLive;
      compacted = true;
    }
    let noopCount = 0;
    for (const list of this.noopsByGroup.values()) noopCount += list.length;
    let live = (this.states.size + noopCount + this.facts.size) * RECORD;
    if (this.size < COMPACT_MIN_BYTES || this.size < 4 * live) return compacted;
    // Durable ends are true once put; the rewrite makes them durable with the rest.
    for (const [k, r] of this.pendingDurable) this.facts.set(k, r);
    this.pendingDurable.clear();
    live = (this.states.size + noopCount + this.facts.size) * RECORD;
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
    for (const r of this.facts.values()) {
      encode(r, buf, at);
      at += RECORD;
    }
    this.fd = await rewrite(this.fs, this.file, this.fd, buf);
    this.size = live;
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.durableTimer !== null) this.committer.timers.clearTimeout(this.durableTimer);
    this.durableTimer = null;
    this.fs.closeSync(this.fd);
    this.fs.closeSync(this.votesFd);
  }
}

/** Replaces `file` atomically with `buf`; returns a descriptor of the new file (the old one is closed). */
async function rewrite(fs: FileSystem, file: string, fd: number, buf: Buffer): Promise<number> {
  const tmp = `${file}.tmp`;
  await writeFileDurable(tmp, buf, fs);
  await fs.rename(tmp, file);
  await fsyncDir(path.dirname(file), fs);
  fs.closeSync(fd);
  return fs.openSync(file, 'r+');
}

function factKey(kind: number, group: number): string {
  return `${kind}/${group}`;
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
