/**
 * The records a partition snapshot stands for, copied from another replica.
 *
 * A compacted partition's raft log is compacted up to its active segment, so the records below
 * the snapshot offset are not raft entries any more: a follower that installs such a snapshot
 * would otherwise start empty at the snapshot offset and lose every key written before it. So,
 * before the follower's core sees the snapshot, the stager copies the records
 * [max(its committed offset, the snapshot's log start), snapshot offset) from the replica that
 * sent it, in bounded chunks over the transport's request path, into a staging file beside the
 * log (`snapshot-records.<index>.<from>.staged`), verified batch by batch (framing, CRC) and
 * fsynced. Only then is the snapshot message stepped into the core;
 * PartitionRaftStorage.installSnapshot moves the staged batches into the log byte for byte
 * (offsets and gaps as the sender has them).
 *
 * A copy that fails (its sender went away, a batch arrived corrupt) or is interrupted (the broker
 * stopped or crashed) leaves its staging file; the next copy, when the snapshot or a newer one is
 * sent again, checks what the file holds (CRC of every batch, read back) and continues after the
 * last good byte instead of starting over.
 *
 * Crash safety: a staging file alone leaves the log as it was (the replica still has its old log
 * and the leader sends the snapshot again; PartitionRaftStorage.open keeps the file for that
 * copy); once the snapshot record says it is being installed from the staged file, recovery
 * redoes the move from that file.
 *
 * Wire (request kind `partition-records`): the request is JSON (`RecordsRequest`); the reply is a
 * 4-byte length, that many bytes of JSON (`RecordsReplyHeader`), then the batches. A reply holds
 * whole batches of at most `maxBytes` together, or, for a batch larger than that, a piece of it
 * (`RecordsPiece`): the requester asks for the batch again and again with `skip` = the bytes it
 * has, writes the pieces to the staging file as they come with a running CRC-32C, and checks the
 * whole batch (header when the first piece arrives, CRC with the last) before going on. So no
 * reply is larger than about `maxBytes`, which the server caps well inside the transport's
 * message limit, and neither side holds a large batch in memory. A requester that sends no `skip`
 * (an older broker) gets whole batches as before.
 *
 * Files go through the replica's FileSystem (platform/file-system.ts), as the log's do, so the
 * system simulator's disk faults reach the staging file too.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { crc32cUpdate } from '../kafka/protocol/crc32c.js';
import { BATCH_HEADER_SIZE, BatchField, LOG_OVERHEAD, RecordBatchError, checkBatch, checkBatchHeader, readInt64 } from '../kafka/protocol/records.js';
import { readAt, writevAt } from '../log/files.js';
import type { FileSystem } from '../platform/file-system.js';
import type { Snapshot } from '../raft/types.js';

export const RECORDS_REQUEST_KIND = 'partition-records';
/**
 * The staging file a copy for the snapshot at raft index `index` starts, holding records from
 * offset `from` on. The name says where its records begin, so a later copy (after a failure or a
 * restart, for this snapshot or a newer one) knows whether it may continue the file.
 */
export const stagedRecordsFile = (index: number, from: number): string => `snapshot-records.${index}.${from}.staged`;
/** Any staging file, also one of the older form `snapshot-records.<index>.staged`. */
export const isStagedRecordsFile = (name: string): boolean => /^snapshot-records\.\d+(\.\d+)?\.staged$/.test(name);
/** Where the records of a staging file a copy may continue begin; null for other names. */
export function stagedRecordsFrom(name: string): number | null {
  const m = /^snapshot-records\.\d+\.(\d+)\.staged$/.exec(name);
  return m === null ? null : Number(m[1]);
}
/** Bytes of batches asked for per request. */
export const RECORDS_CHUNK_BYTES = 1 << 20;
/**
 * The most a server puts in one reply, whatever a request asks: a peer may not make it read and
 * hold more, and a reply stays well inside the transport's 4 MiB message limit.
 */
export const MAX_RECORDS_CHUNK_BYTES = 2 << 20;
/** A copy gives up after its sender's batch changed under it this many times (its cleaner rewrote it). */
const MAX_PIECE_RESTARTS = 5;
/** Deadline of one chunk request. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface RecordsRequest {
  readonly topic: string;
  readonly partition: number;
  /** First offset wanted; the first batch returned may start before it (it holds it). */
  readonly from: number;
  /** Nothing at or above this offset is returned (the snapshot offset). */
  readonly to: number;
  readonly maxBytes: number;
  /**
   * Present when the requester takes pieces of batches larger than `maxBytes`: the bytes of the
   * batch holding `from` it already has (0 for none).
   */
  readonly skip?: number;
}

/** A piece of one batch too large for a reply: bytes [at, at + the reply's length) of it. */
export interface RecordsPiece {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The whole batch's size in bytes. */
  readonly size: number;
  /** The batch's CRC as its header states it: a requester that already holds pieces compares. */
  readonly crc: number;
  readonly at: number;
}

export interface RecordsReplyHeader {
  /** Where the next request continues: after the last batch returned, or `to` when done. */
  readonly next: number;
  /** The reply holds a piece of one batch, not whole batches. */
  readonly piece?: RecordsPiece;
}

export interface RecordsReply extends RecordsReplyHeader {
  readonly batches: Buffer;
}

export function encodeRecordsRequest(r: RecordsRequest): Uint8Array {
  return Buffer.from(JSON.stringify(r), 'utf8');
}

const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function decodeRecordsRequest(data: Uint8Array): RecordsRequest {
  let v: Partial<RecordsRequest>;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8')) as Partial<RecordsRequest>;
  } catch (err) {
    throw new Error(`partition-records request is not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || typeof v.topic !== 'string' || !isOffset(v.partition)) {
    throw new Error('partition-records request lacks topic or partition');
  }
  if (!isOffset(v.from) || !isOffset(v.to) || v.to < v.from || !Number.isSafeInteger(v.maxBytes) || (v.maxBytes as number) < 1) {
    throw new Error(`partition-records request has a bad range or maxBytes (from ${String(v.from)}, to ${String(v.to)}, maxBytes ${String(v.maxBytes)})`);
  }
  if (v.skip !== undefined && !isOffset(v.skip)) throw new Error(`partition-records request has a bad skip (${String(v.skip)})`);
  const req = { topic: v.topic, partition: v.partition as number, from: v.from, to: v.to, maxBytes: v.maxBytes as number };
  return v.skip === undefined ? req : { ...req, skip: v.skip };
}

export function encodeRecordsReply(r: RecordsReply): Uint8Array {
  const header: RecordsReplyHeader = r.piece === undefined ? { next: r.next } : { next: r.next, piece: r.piece };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + head.length + r.batches.length);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  r.batches.copy(out, 4 + head.length);
  return out;
}

export function decodeRecordsReply(data: Uint8Array): RecordsReply {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (buf.length < 4) throw new Error('partition-records reply is truncated');
  const n = buf.readUInt32BE(0);
  if (4 + n > buf.length) throw new Error('partition-records reply header is truncated');
  let h: Partial<RecordsReplyHeader>;
  try {
    h = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as Partial<RecordsReplyHeader>;
  } catch (err) {
    throw new Error(`partition-records reply header is not JSON: ${(err as Error).message}`);
  }
  if (h === null || typeof h !== 'object' || !isOffset(h.next)) throw new Error('partition-records reply lacks next');
  const batches = buf.subarray(4 + n);
  if (h.piece === undefined) return { next: h.next, batches };
  const p = h.piece as Partial<RecordsPiece> | null;
  if (
    p === null ||
    typeof p !== 'object' ||
    !isOffset(p.baseOffset) ||
    !isOffset(p.lastOffset) ||
    p.lastOffset < p.baseOffset ||
    !isOffset(p.size) ||
    p.size < BATCH_HEADER_SIZE ||
    !isOffset(p.crc) ||
    p.crc > 0xffffffff ||
    !isOffset(p.at) ||
    p.at + batches.length > p.size
  ) {
    throw new Error(`partition-records reply has a bad piece (${JSON.stringify(p)}, ${batches.length} bytes)`);
  }
  return { next: h.next, piece: { baseOffset: p.baseOffset, lastOffset: p.lastOffset, size: p.size, crc: p.crc, at: p.at }, batches };
}

/**
 * The serving side's cut of what its log returned: whole batches that end below `to`, up to
 * `maxBytes` (at least one), and where the requester continues.
 */
export function cutReply(records: Buffer, from: number, to: number, maxBytes: number): RecordsReply {
  let pos = 0;
  let next = from;
  // With nothing (more) below `to` in what was read, the rest up to `to` is a gap: done.
  let reachedTo = true;
  while (pos + LOG_OVERHEAD <= records.length) {
    const size = records.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
    const base = readInt64(records, pos + BatchField.baseOffset);
    const last = base + records.readInt32BE(pos + BatchField.lastOffsetDelta);
    if (pos + size > records.length || last >= to) break;
    if (pos > 0 && pos + size > maxBytes) {
      reachedTo = false;
      break;
    }
    pos += size;
    next = last + 1;
  }
  if (pos > 0 && pos === records.length) reachedTo = false;
  return { next: reachedTo ? to : next, batches: records.subarray(0, pos) };
}

/** What a completed stage hands to PartitionRaftStorage.installSnapshot. */
export interface StagedRecords {
  /** Path of the staging file. */
  readonly file: string;
  /** Offset the log is cut or reset to before the staged batches go in. */
  readonly from: number;
  /** The snapshot offset: the log ends exactly here after the copy. */
  readonly to: number;
  readonly bytes: number;
}

/** Fetches one chunk from broker `node` (the transport's request path). */
export type RecordsFetch = (node: number, req: RecordsRequest, timeoutMs: number) => Promise<RecordsReply>;

interface Stage {
  readonly index: number;
  readonly term: number;
  /** Chosen when the copy starts: a file a previous copy left, or a new one. */
  file: string;
  readonly abort: AbortController;
  result: StagedRecords | null;
  /** Being moved into the log by an install: its file must stay. */
  inUse: boolean;
}

export interface SnapshotStagerOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly topic: string;
  readonly partition: number;
  readonly fetch: RecordsFetch;
  readonly logger: Logger;
  readonly chunkBytes?: number;
}

/** One partition replica's staging of snapshot records (at most one stage at a time). */
export class SnapshotStager {
  private readonly o: SnapshotStagerOptions;
  private stage: Stage | null = null;
  private closed = false;
  /** Choosing a staging file and removing stale ones, one at a time. */
  private files: Promise<unknown> = Promise.resolve();

  constructor(o: SnapshotStagerOptions) {
    this.o = o;
  }

  /** The completed stage for exactly this snapshot, or null. */
  staged(snap: Snapshot): StagedRecords | null {
    const s = this.stage;
    return s !== null && s.index === snap.index && s.term === snap.term ? s.result : null;
  }

  /** The completed stage for this snapshot, kept until `release()` (an install moves it in). */
  take(snap: Snapshot): StagedRecords | null {
    const r = this.staged(snap);
    if (r !== null && this.stage !== null) this.stage.inUse = true;
    return r;
  }

  /**
   * The install that took the stage is over. Its file is gone or no longer needed, and so is any
   * other staging file: the log now holds everything below the snapshot.
   */
  release(): void {
    const s = this.stage;
    if (s === null || !s.inUse) return;
    this.stage = null;
    const fs = this.o.fs;
    void this.exclusive(async () => {
      await fs.remove(s.file, false);
      // A copy begun meanwhile has chosen its file.
      if (this.stage !== null) return;
      for (const name of await fs.readdir(this.o.dir)) if (isStagedRecordsFile(name)) await fs.remove(path.join(this.o.dir, name), false);
    }).catch(() => undefined);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.files.then(fn, fn);
    this.files = run.catch(() => undefined);
    return run;
  }

  /**
   * Starts copying [from, to) from broker `node` for `snap`; `done(true)` once the staging file
   * is complete and durable, `done(false)` if it failed (logged; the sender retries the
   * snapshot). A no-op while another stage runs or is being installed. A staging file that a
   * failed or interrupted copy left, or a completed one nobody installed (its snapshot went
   * stale), is continued when its records begin at or before `from`: what it holds is checked
   * batch by batch (framing, CRC, order) and cut at the first that fails, and the copy goes on
   * from there. Its records are committed ones, which every replica holds alike (up to what
   * each one's cleaner removed), so they begin a newer snapshot's copy as well as their own.
   */
  begin(snap: Snapshot, node: number, from: number, to: number, done: (ok: boolean) => void): void {
    const prev = this.stage;
    if (this.closed || (prev !== null && (prev.result === null || prev.inUse))) return;
    const stage: Stage = { index: snap.index, term: snap.term, file: path.join(this.o.dir, stagedRecordsFile(snap.index, from)), abort: new AbortController(), result: null, inUse: false };
    this.stage = stage;
    const started = Date.now();
    this.o.logger.info({ topic: this.o.topic, partition: this.o.partition, from, to, fromBroker: node, snapshotIndex: snap.index }, 'copying the records of a snapshot');
    this.copy(stage, node, from, to).then(
      (r) => {
        if (stage.abort.signal.aborted) return done(false);
        stage.result = r;
        this.o.logger.info(
          { topic: this.o.topic, partition: this.o.partition, from: r.from, to, bytes: r.bytes, fromBroker: node, ms: Date.now() - started },
          'staged the records of a snapshot',
        );
        done(true);
      },
      (err: unknown) => {
        if (this.stage === stage) this.stage = null;
        if (!stage.abort.signal.aborted) {
          this.o.logger.warn(
            { err, topic: this.o.topic, partition: this.o.partition, from, to, fromBroker: node, file: path.basename(stage.file) },
            'copying the records of a snapshot failed; waiting for it to be sent again (the next copy continues what is staged)',
          );
        }
        done(false);
      },
    );
  }

  /**
   * Stops a running copy. Its staging file stays, as does a completed one: after a restart a
   * copy continues it (PartitionRaftStorage.open keeps such files). A stage being installed is
   * left to the install.
   */
  close(): void {
    this.closed = true;
    const s = this.stage;
    if (s !== null && !s.inUse) s.abort.abort();
  }

  /**
   * The staging file for a copy of records from `from`: the one a previous copy left whose
   * records begin closest at or before `from` (continued), else a new one. Any other is removed.
   */
  private async pickFile(stage: Stage, from: number): Promise<{ file: string; from: number; resumed: boolean }> {
    const fs = this.o.fs;
    let best: { name: string; from: number } | null = null;
    const others: string[] = [];
    for (const name of await fs.readdir(this.o.dir)) {
      if (!isStagedRecordsFile(name)) continue;
      const f = stagedRecordsFrom(name);
      if (f === null || f > from) {
        others.push(name);
      } else if (best === null || f > best.from) {
        if (best !== null) others.push(best.name);
        best = { name, from: f };
      } else {
        others.push(name);
      }
    }
    for (const name of others) await fs.remove(path.join(this.o.dir, name), false);
    if (best === null) return { file: stage.file, from, resumed: false };
    return { file: path.join(this.o.dir, best.name), from: best.from, resumed: true };
  }

  private async copy(stage: Stage, node: number, wantedFrom: number, to: number): Promise<StagedRecords> {
    const chunk = this.o.chunkBytes ?? RECORDS_CHUNK_BYTES;
    const fs = this.o.fs;
    const picked = await this.exclusive(() => this.pickFile(stage, wantedFrom));
    stage.file = picked.file;
    const from = picked.from;
    const fd = await fs.open(stage.file, picked.resumed ? 'r+' : 'w+');
    let file: StagingFile;
    try {
      file = picked.resumed ? await StagingFile.resume(fs, fd, node, from, to) : new StagingFile(fs, fd, node, from, to);
    } catch (err) {
      await fs.close(fd);
      throw err;
    }
    if (picked.resumed) {
      this.o.logger.info(
        { topic: this.o.topic, partition: this.o.partition, file: path.basename(stage.file), bytes: file.bytes, offset: file.partial?.baseOffset ?? file.at, fromBroker: node },
        'continuing the copy of the records of a snapshot from what is staged',
      );
    }
    try {
      let restarts = 0;
      let inPieces = false;
      while (file.at < to || file.partial !== null) {
        if (stage.abort.signal.aborted || this.closed) throw new Error('snapshot staging was abandoned');
        const p = file.partial;
        // Asked by the batch's last offset, which only that batch holds.
        const req: RecordsRequest = { topic: this.o.topic, partition: this.o.partition, from: p === null ? file.at : p.lastOffset, to, maxBytes: chunk, skip: p === null ? 0 : p.have };
        const reply = await this.o.fetch(node, req, REQUEST_TIMEOUT_MS);
        if (reply.piece !== undefined) {
          if (!inPieces) {
            inPieces = true;
            this.o.logger.info(
              { topic: this.o.topic, partition: this.o.partition, offset: reply.piece.baseOffset, bytes: reply.piece.size, staged: file.bytes, fromBroker: node },
              'copying a batch larger than a request in pieces',
            );
          }
          if (!(await file.addPiece(reply.piece, reply.batches, reply.next))) {
            if (++restarts > MAX_PIECE_RESTARTS) throw new Error(`broker ${node} changed batch ${reply.piece.baseOffset} ${restarts} times while it was being copied`);
          }
        } else {
          await file.addBatches(reply.batches, reply.next);
        }
      }
      await fs.fsync(fd);
    } finally {
      await fs.close(fd);
    }
    return { file: stage.file, from: file.start, to, bytes: file.bytes };
  }
}

/** A batch of which the staging file holds the first `have` bytes. */
interface PartialBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly size: number;
  readonly crc: number;
  /** Where it begins in the file. */
  readonly position: number;
  have: number;
  /** CRC-32C so far of its bytes from the attributes on (what its CRC covers). */
  running: number;
}

/**
 * The staging file being written, and the checks every batch passes before the next is asked
 * for: framing and CRC, offsets increasing, nothing at or past the snapshot offset.
 */
class StagingFile {
  /** Bytes written. */
  bytes = 0;
  /** Where the staged records begin (the first batch may begin before `from`). */
  start: number;
  /** The offset asked for next. */
  at: number;
  partial: PartialBatch | null = null;
  /** No batch after the last one may begin below this. */
  private expected: number;
  /** The partial batch's first bytes came from disk (an earlier copy): a lost write may hide in them. */
  private partialFromDisk = false;

  constructor(
    private readonly fs: FileSystem,
    private readonly fd: number,
    private readonly node: number,
    private readonly from: number,
    private readonly to: number,
  ) {
    this.start = from;
    this.at = from;
    this.expected = from;
  }

  /**
   * The staging file an earlier copy of records from `from` left: its whole batches are checked
   * as a reply's are (CRC read back from the file), the file is cut at the first that fails,
   * and a batch it holds only the beginning of is continued.
   */
  static async resume(fs: FileSystem, fd: number, node: number, from: number, to: number): Promise<StagingFile> {
    const f = new StagingFile(fs, fd, node, from, to);
    const size = fs.sizeSync(fd);
    const head = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    let pos = 0;
    while (pos < size) {
      if ((await readAt(fd, head, 0, BATCH_HEADER_SIZE, pos, fs)) < BATCH_HEADER_SIZE) break;
      const h = checkBatchHeader(head, 0, { compacted: true });
      if (h instanceof RecordBatchError) break;
      f.bytes = pos;
      try {
        f.admit(h.baseOffset, h.lastOffset);
      } catch {
        break;
      }
      const end = Math.min(size, pos + h.sizeInBytes);
      const running = await crcOfRange(fs, fd, pos + BatchField.attributes, end);
      if (end < pos + h.sizeInBytes) {
        f.partial = { baseOffset: h.baseOffset, lastOffset: h.lastOffset, size: h.sizeInBytes, crc: h.crc, position: pos, have: end - pos, running };
        f.partialFromDisk = true;
        pos = end;
        break;
      }
      if (running !== h.crc) break;
      f.expected = h.lastOffset + 1;
      f.at = f.expected;
      pos = end;
    }
    if (f.partial === null && pos === 0) f.start = from;
    if (pos < size) await fs.ftruncate(fd, pos);
    f.bytes = pos;
    return f;
  }

  /** The ordering checks of a batch about to be staged. */
  private admit(baseOffset: number, lastOffset: number): void {
    const first = this.bytes === 0;
    // The first batch may begin before `from` (the requested offset lies inside it).
    if (first ? lastOffset < this.from : baseOffset < this.expected) {
      throw new Error(`broker ${this.node} sent batch ${baseOffset} out of order (expected ${this.expected} or later)`);
    }
    if (lastOffset >= this.to) throw new Error(`broker ${this.node} sent batch ${baseOffset}-${lastOffset} past the snapshot offset ${this.to}`);
    if (first) this.start = Math.min(this.from, baseOffset);
  }

  private async write(b: Buffer): Promise<void> {
    if (b.length === 0) return;
    await writevAt(this.fd, [b], this.bytes, this.fs);
    this.bytes += b.length;
  }

  /** Whole batches, each checked before any is written. */
  async addBatches(b: Buffer, next: number): Promise<void> {
    if (this.partial !== null) throw new Error(`broker ${this.node} sent whole batches in the middle of batch ${this.partial.baseOffset}`);
    let pos = 0;
    let expected = this.expected;
    while (pos < b.length) {
      const h = checkBatch(b, pos, b.length, { compacted: true });
      if (h instanceof RecordBatchError) throw new Error(`broker ${this.node} sent a bad batch at offset ${expected}: ${h.message}`);
      if (pos === 0) this.admit(h.baseOffset, h.lastOffset);
      else if (h.baseOffset < expected) throw new Error(`broker ${this.node} sent batch ${h.baseOffset} out of order (expected ${expected} or later)`);
      else if (h.lastOffset >= this.to) throw new Error(`broker ${this.node} sent batch ${h.baseOffset}-${h.lastOffset} past the snapshot offset ${this.to}`);
      expected = h.lastOffset + 1;
      pos += h.sizeInBytes;
    }
    await this.write(b);
    this.expected = expected;
    if (next <= this.at) throw new Error(`broker ${this.node} made no progress at offset ${this.at}`);
    this.at = Math.max(next, expected);
  }

  /**
   * A piece of a batch larger than a reply. False when it is not of the batch already begun
   * (the sender's cleaner rewrote it meanwhile): what the file holds of that one is cut off and
   * the batch is asked for again from its start.
   */
  async addPiece(p: RecordsPiece, b: Buffer, next: number): Promise<boolean> {
    const cur = this.partial;
    if (cur === null) {
      if (p.at !== 0) throw new Error(`broker ${this.node} sent a piece at ${p.at} of batch ${p.baseOffset}, which was not asked for`);
      const h = checkBatchHeader(b, 0, { compacted: true });
      if (h instanceof RecordBatchError) throw new Error(`broker ${this.node} sent a bad batch at offset ${this.expected}: ${h.message}`);
      if (h.sizeInBytes !== p.size || h.baseOffset !== p.baseOffset || h.lastOffset !== p.lastOffset || h.crc !== p.crc) {
        throw new Error(`broker ${this.node} sent a piece whose batch header does not match it (batch ${h.baseOffset}-${h.lastOffset}, ${h.sizeInBytes} bytes)`);
      }
      this.admit(h.baseOffset, h.lastOffset);
      this.partial = { baseOffset: p.baseOffset, lastOffset: p.lastOffset, size: p.size, crc: p.crc, position: this.bytes, have: 0, running: 0 };
    } else if (p.baseOffset !== cur.baseOffset || p.lastOffset !== cur.lastOffset || p.size !== cur.size || p.crc !== cur.crc || p.at !== cur.have) {
      await this.fs.ftruncate(this.fd, cur.position);
      this.bytes = cur.position;
      this.partial = null;
      return false;
    }
    const part = this.partial as PartialBatch;
    if (b.length === 0) throw new Error(`broker ${this.node} sent an empty piece of batch ${part.baseOffset} at ${part.have}`);
    // What the CRC covers begins at the attributes, inside the first piece.
    part.running = crc32cUpdate(part.running, b, Math.min(b.length, Math.max(0, BatchField.attributes - part.have)));
    await this.write(b);
    part.have += b.length;
    if (part.have < part.size) return true;
    if (part.running !== part.crc && this.partialFromDisk) {
      // What an earlier copy wrote of it may not have reached the disk whole: take it again.
      await this.fs.ftruncate(this.fd, part.position);
      this.bytes = part.position;
      this.partial = null;
      this.partialFromDisk = false;
      return false;
    }
    if (part.running !== part.crc) {
      throw new Error(`broker ${this.node} sent batch ${part.baseOffset} (${part.size} bytes, in pieces) with crc ${part.crc.toString(16)}, computed ${part.running.toString(16)}`);
    }
    this.partial = null;
    this.partialFromDisk = false;
    this.expected = part.lastOffset + 1;
    this.at = Math.max(next, this.expected);
    return true;
  }
}

/** CRC-32C of the file's bytes [start, end), read in bounded pieces. */
async function crcOfRange(fs: FileSystem, fd: number, start: number, end: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(0, end - start)));
  let crc = 0;
  for (let pos = start; pos < end; ) {
    const n = await readAt(fd, buf, 0, Math.min(buf.length, end - pos), pos, fs);
    if (n === 0) break;
    crc = crc32cUpdate(crc, buf, 0, n);
    pos += n;
  }
  return crc;
}

/** Reads a staging file back in pieces of whole batches of about `chunk` bytes. */
export async function* readStaged(fs: FileSystem, file: string, chunk = 4 << 20): AsyncIterable<Buffer> {
  const fd = await fs.open(file, 'r');
  try {
    const size = fs.sizeSync(fd);
    let pos = 0;
    let carry = Buffer.alloc(0);
    while (pos < size || carry.length > 0) {
      const want = Math.min(chunk, size - pos);
      const buf = Buffer.allocUnsafe(want);
      const bytesRead = want > 0 ? await readAt(fd, buf, 0, want, pos, fs) : 0;
      pos += bytesRead;
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let end = 0;
      while (end + LOG_OVERHEAD <= data.length) {
        const n = data.readInt32BE(end + BatchField.batchLength) + LOG_OVERHEAD;
        if (end + n > data.length) break;
        end += n;
      }
      if (end === 0) {
        if (bytesRead === 0) throw new Error(`${file} ends inside a batch`);
        carry = data;
        continue;
      }
      yield data.subarray(0, end);
      carry = data.subarray(end);
    }
  } finally {
    await fs.close(fd);
  }
}
