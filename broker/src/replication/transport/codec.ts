/**
 * The transport's wire codec: proto/raft.proto, loaded at runtime with protobufjs, and the mapping
 * between its messages and the core's {@link Message}.
 *
 * - Raft batches, the hot path, are written by batch-writer.ts into one exactly-sized Buffer;
 *   {@link RaftCodec.encodeBatch} is protobufjs's encoding of the same, kept as the reference the
 *   writer is tested against. Everything else is encoded by protobufjs, which takes the core's
 *   Message objects as they are (their field names are the proto's camelCase names).
 * - Decoding reads from the received Buffer: protobufjs returns `bytes` fields as views of it, so
 *   entry, snapshot and context data are never copied. Each decoded message is rebuilt as a
 *   plain, fully-populated Message (the shape the core creates), every uint64 checked to be a safe
 *   integer and every enum a known value; anything else is a {@link MalformedFrameError}.
 * - {@link messageSize} is the exact encoded size of a message (protobufjs omits zero scalars and
 *   empty repeated fields, as proto3 specifies), so frames can be packed to a limit without
 *   encoding twice. A unit test holds it to protobufjs's output.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ConfState, Entry, EntryType, Message, MessageType, Snapshot } from '../../raft/types.js';

const PACKAGE = 'chronik.raft.v1';

/** proto/raft.proto, found from this module in the source tree and in the broker image alike. */
export function defaultRaftProtoPath(): string {
  return process.env.CHRONIK_RAFT_PROTO ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../proto/raft.proto');
}

/** A received frame that does not decode to something the transport may deliver. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrameError';
  }
}

/** What protobufjs yields for a uint64: a Long when the `long` package is present, else a number. */
interface LongLike {
  readonly low: number;
  readonly high: number;
}
type WireU64 = number | LongLike;

// Shapes protobufjs decodes into (absent fields read the prototype's defaults).
interface WireEntry {
  readonly term: WireU64;
  readonly index: WireU64;
  readonly type: number;
  readonly data: Uint8Array | readonly number[];
}
interface WireConf {
  readonly voters: readonly WireU64[];
  readonly learners: readonly WireU64[];
}
interface WireSnapshot {
  readonly index: WireU64;
  readonly term: WireU64;
  readonly conf: WireConf | null;
  readonly data: Uint8Array | readonly number[];
}
interface WireMessage {
  readonly group: WireU64;
  readonly type: number;
  readonly from: WireU64;
  readonly to: WireU64;
  readonly term: WireU64;
  readonly logTerm: WireU64;
  readonly index: WireU64;
  readonly commit: WireU64;
  readonly entries: readonly WireEntry[];
  readonly snapshot: WireSnapshot | null;
  readonly reject: boolean;
  readonly hint: WireU64;
  readonly transfer: boolean;
  readonly context: Uint8Array | null;
}
interface WireBatch {
  readonly fromNode: WireU64;
  readonly toNode: WireU64;
  readonly sequence: WireU64;
  readonly messages: readonly WireMessage[];
  readonly clusterId: string;
  readonly quiescedGroups: readonly WireU64[];
  readonly wokenGroups: readonly WireU64[];
  readonly part: WirePart | null;
}
interface WirePart {
  readonly totalBytes: WireU64;
  readonly offset: WireU64;
  readonly data: Uint8Array | readonly number[];
}
interface WireAck {
  readonly sequence: WireU64;
  readonly unknownGroups: readonly WireU64[];
}
interface WireChunk {
  readonly header: WireMessage | null;
  readonly offset: WireU64;
  readonly data: Uint8Array | readonly number[];
  readonly last: boolean;
  readonly fromNode: WireU64;
  readonly toNode: WireU64;
  readonly clusterId: string;
  readonly totalBytes: WireU64;
}
interface WireReceipt {
  readonly accepted: boolean;
  readonly error: string;
}
interface WireRequest {
  readonly fromNode: WireU64;
  readonly toNode: WireU64;
  readonly clusterId: string;
  readonly kind: string;
  readonly payload: Uint8Array | readonly number[];
}
interface WireResponse {
  readonly payload: Uint8Array | readonly number[];
}

/** The envelope every frame, chunk and request carries. */
export interface Identity {
  readonly fromNode: number;
  readonly toNode: number;
  readonly clusterId: string;
}

export interface Batch extends Identity {
  readonly sequence: number;
  readonly messages: readonly Message[];
  readonly quiescedGroups: readonly number[];
  readonly wokenGroups: readonly number[];
  /** A piece of one message too large for a frame (see raft.proto); decoded batches always say. */
  readonly part?: MessagePart | null;
}

/** A piece of one encoded RaftMessage (raft.proto MessagePart). */
export interface MessagePart {
  readonly totalBytes: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

export interface SnapshotChunk extends Identity {
  /** First chunk only: the InstallSnapshot message, its snapshot data left empty on the wire. */
  readonly header: Message | null;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly last: boolean;
  readonly totalBytes: number;
}

export interface PeerRequestFrame extends Identity {
  readonly kind: string;
  readonly payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const MAX_MESSAGE_TYPE = 12;

/** An absent bytes field reads protobufjs's default, a plain empty array; the core wants bytes. */
function bytesOf(v: Uint8Array | readonly number[]): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

function u64(v: WireU64, field: string): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new MalformedFrameError(`${field} is not a safe integer`);
    return v;
  }
  const high = v.high >>> 0;
  if (high > 0x1fffff) throw new MalformedFrameError(`${field} exceeds 2^53`);
  return high * 0x100000000 + (v.low >>> 0);
}

function u64s(vs: readonly WireU64[], field: string): number[] {
  const out = new Array<number>(vs.length);
  for (let i = 0; i < vs.length; i++) out[i] = u64(vs[i] as WireU64, field);
  return out;
}

function toEntry(w: WireEntry): Entry {
  const type = w.type;
  if (type !== 0 && type !== 1) throw new MalformedFrameError(`entry type ${type} is unknown`);
  return { term: u64(w.term, 'entry.term'), index: u64(w.index, 'entry.index'), type: type as EntryType, data: bytesOf(w.data) };
}

function toSnapshot(w: WireSnapshot): Snapshot {
  const conf: ConfState =
    w.conf === null ? { voters: [], learners: [] } : { voters: u64s(w.conf.voters, 'conf.voters'), learners: u64s(w.conf.learners, 'conf.learners') };
  return { index: u64(w.index, 'snapshot.index'), term: u64(w.term, 'snapshot.term'), conf, data: bytesOf(w.data) };
}

function toMessage(w: WireMessage): Message {
  const type = w.type;
  if (!Number.isInteger(type) || type < 1 || type > MAX_MESSAGE_TYPE) throw new MalformedFrameError(`message type ${type} is unknown`);
  const wire = w.entries;
  const entries = new Array<Entry>(wire.length);
  for (let i = 0; i < wire.length; i++) entries[i] = toEntry(wire[i] as WireEntry);
  return {
    type: type as MessageType,
    group: u64(w.group, 'group'),
    from: u64(w.from, 'from'),
    to: u64(w.to, 'to'),
    term: u64(w.term, 'term'),
    logTerm: u64(w.logTerm, 'logTerm'),
    index: u64(w.index, 'index'),
    commit: u64(w.commit, 'commit'),
    entries,
    snapshot: w.snapshot === null ? null : toSnapshot(w.snapshot),
    reject: w.reject === true,
    hint: u64(w.hint, 'hint'),
    transfer: w.transfer === true,
    context: w.context,
  };
}

// ------------------------------------------------------------------ sizes

/** Bytes of a varint holding the non-negative safe integer `n`. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let s = 4;
  let rest = Math.floor(n / 0x10000000);
  while (rest > 0) {
    s++;
    rest = Math.floor(rest / 0x80);
  }
  return s;
}

/** A uint64 field (1-byte tag): nothing when zero. */
function u64Field(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

function lenField(len: number): number {
  return 1 + varintSize(len) + len;
}

function packedField(vs: readonly number[]): number {
  if (vs.length === 0) return 0;
  let len = 0;
  for (let i = 0; i < vs.length; i++) len += varintSize(vs[i] as number);
  return lenField(len);
}

function isU64(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * The exact encoded size of `m` as a RaftMessage, or -1 if a field cannot be encoded faithfully
 * (a number that is not a non-negative safe integer, an unknown type, data that is not bytes).
 */
export function messageSize(m: Message): number {
  if (
    !isU64(m.group) ||
    !isU64(m.from) ||
    !isU64(m.to) ||
    !isU64(m.term) ||
    !isU64(m.logTerm) ||
    !isU64(m.index) ||
    !isU64(m.commit) ||
    !isU64(m.hint) ||
    !Number.isInteger(m.type) ||
    m.type < 1 ||
    m.type > MAX_MESSAGE_TYPE
  ) {
    return -1;
  }
  let s = u64Field(m.group) + 2 + u64Field(m.from) + u64Field(m.to) + u64Field(m.term);
  s += u64Field(m.logTerm) + u64Field(m.index) + u64Field(m.commit) + u64Field(m.hint);
  if (m.reject) s += 2;
  if (m.transfer) s += 2;
  if (!Array.isArray(m.entries)) return -1;
  if (m.context !== null) {
    if (!(m.context instanceof Uint8Array)) return -1;
    s += lenField(m.context.length);
  }
  const entries = m.entries;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (!isU64(e.term) || !isU64(e.index) || (e.type !== 0 && e.type !== 1) || !(e.data instanceof Uint8Array)) return -1;
    const len = u64Field(e.term) + u64Field(e.index) + (e.type === 0 ? 0 : 2) + (e.data.length === 0 ? 0 : lenField(e.data.length));
    s += lenField(len);
  }
  if (m.snapshot !== null) {
    const len = snapshotSize(m.snapshot);
    if (len < 0) return -1;
    s += lenField(len);
  }
  return s;
}

function snapshotSize(snap: Snapshot): number {
  if (typeof snap !== 'object' || snap.conf === null || typeof snap.conf !== 'object') return -1;
  const { voters, learners } = snap.conf;
  if (!isU64(snap.index) || !isU64(snap.term) || !(snap.data instanceof Uint8Array)) return -1;
  if (!Array.isArray(voters) || !Array.isArray(learners) || !voters.every(isU64) || !learners.every(isU64)) return -1;
  const conf = packedField(voters) + packedField(learners);
  return u64Field(snap.index) + u64Field(snap.term) + lenField(conf) + (snap.data.length === 0 ? 0 : lenField(snap.data.length));
}

/** What one message of `size` bytes adds to a RaftBatch (tag, length, body). */
export function batchEntryCost(size: number): number {
  return lenField(size);
}

/** What a MessagePart carrying `dataBytes` of a `totalBytes` message from `offset` adds to a RaftBatch. */
export function partFieldCost(totalBytes: number, offset: number, dataBytes: number): number {
  return lenField(partBodySize(totalBytes, offset, dataBytes));
}

/** The encoded size of a MessagePart (without its field tag and length). */
export function partBodySize(totalBytes: number, offset: number, dataBytes: number): number {
  return u64Field(totalBytes) + u64Field(offset) + (dataBytes === 0 ? 0 : lenField(dataBytes));
}

/** The size of a RaftBatch's fields other than its messages and part. */
export function batchHeaderSize(id: Identity, sequence: number, quiesced: readonly number[], woken: readonly number[]): number {
  return (
    u64Field(id.fromNode) +
    u64Field(id.toNode) +
    u64Field(sequence) +
    (id.clusterId.length === 0 ? 0 : lenField(Buffer.byteLength(id.clusterId))) +
    packedField(quiesced) +
    packedField(woken)
  );
}

// ------------------------------------------------------------------ codec

/**
 * Encoders and decoders for the messages of raft.proto. Every decoder throws
 * {@link MalformedFrameError} for input it cannot turn into valid values.
 */
export class RaftCodec {
  private readonly batchType: protobuf.Type;
  private readonly ackType: protobuf.Type;
  private readonly chunkType: protobuf.Type;
  private readonly receiptType: protobuf.Type;
  private readonly requestType: protobuf.Type;
  private readonly responseType: protobuf.Type;
  private readonly messageType: protobuf.Type;

  constructor(root: protobuf.Root) {
    this.batchType = root.lookupType(`${PACKAGE}.RaftBatch`);
    this.ackType = root.lookupType(`${PACKAGE}.RaftBatchAck`);
    this.chunkType = root.lookupType(`${PACKAGE}.SnapshotChunk`);
    this.receiptType = root.lookupType(`${PACKAGE}.SnapshotReceipt`);
    this.requestType = root.lookupType(`${PACKAGE}.PeerRequest`);
    this.responseType = root.lookupType(`${PACKAGE}.PeerResponse`);
    this.messageType = root.lookupType(`${PACKAGE}.RaftMessage`);
  }

  /** protobufjs's encoding of a batch: the reference for batch-writer.ts. */
  encodeBatch(b: Batch): Buffer {
    return asBuffer(this.batchType.encode(b).finish());
  }

  decodeBatch(buf: Uint8Array): Batch {
    const w = decodeAs<WireBatch>(this.batchType, buf, 'RaftBatch');
    const messages = new Array<Message>(w.messages.length);
    for (let i = 0; i < w.messages.length; i++) messages[i] = toMessage(w.messages[i] as WireMessage);
    return {
      fromNode: u64(w.fromNode, 'from_node'),
      toNode: u64(w.toNode, 'to_node'),
      clusterId: w.clusterId,
      sequence: u64(w.sequence, 'sequence'),
      messages,
      quiescedGroups: u64s(w.quiescedGroups, 'quiesced_groups'),
      wokenGroups: u64s(w.wokenGroups, 'woken_groups'),
      part:
        w.part === null
          ? null
          : { totalBytes: u64(w.part.totalBytes, 'part.total_bytes'), offset: u64(w.part.offset, 'part.offset'), data: bytesOf(w.part.data) },
    };
  }

  /** Encodes one message on its own (the reference for writeMessage, and the size check of protobufjs's encoding). */
  encodeMessage(m: Message): Buffer {
    return asBuffer(this.messageType.encode(m).finish());
  }

  decodeMessage(buf: Uint8Array): Message {
    return toMessage(decodeAs<WireMessage>(this.messageType, buf, 'RaftMessage'));
  }

  encodeAck(sequence: number): Buffer {
    return asBuffer(this.ackType.encode({ sequence }).finish());
  }

  decodeAck(buf: Uint8Array): number {
    return u64(decodeAs<WireAck>(this.ackType, buf, 'RaftBatchAck').sequence, 'sequence');
  }

  encodeChunk(c: SnapshotChunk): Buffer {
    const header = c.header === null || c.header.snapshot === null ? c.header : { ...c.header, snapshot: { ...c.header.snapshot, data: EMPTY } };
    return asBuffer(this.chunkType.encode({ ...c, header }).finish());
  }

  decodeChunk(buf: Uint8Array): SnapshotChunk {
    const w = decodeAs<WireChunk>(this.chunkType, buf, 'SnapshotChunk');
    return {
      fromNode: u64(w.fromNode, 'from_node'),
      toNode: u64(w.toNode, 'to_node'),
      clusterId: w.clusterId,
      header: w.header === null ? null : toMessage(w.header),
      offset: u64(w.offset, 'offset'),
      data: bytesOf(w.data),
      last: w.last === true,
      totalBytes: u64(w.totalBytes, 'total_bytes'),
    };
  }

  encodeReceipt(accepted: boolean, error: string): Buffer {
    return asBuffer(this.receiptType.encode({ accepted, error }).finish());
  }

  decodeReceipt(buf: Uint8Array): { accepted: boolean; error: string } {
    const w = decodeAs<WireReceipt>(this.receiptType, buf, 'SnapshotReceipt');
    return { accepted: w.accepted === true, error: w.error };
  }

  encodeRequest(r: PeerRequestFrame): Buffer {
    return asBuffer(this.requestType.encode(r).finish());
  }

  decodeRequest(buf: Uint8Array): PeerRequestFrame {
    const w = decodeAs<WireRequest>(this.requestType, buf, 'PeerRequest');
    return { fromNode: u64(w.fromNode, 'from_node'), toNode: u64(w.toNode, 'to_node'), clusterId: w.clusterId, kind: w.kind, payload: bytesOf(w.payload) };
  }

  encodeResponse(payload: Uint8Array): Buffer {
    return asBuffer(this.responseType.encode({ payload }).finish());
  }

  decodeResponse(buf: Uint8Array): Uint8Array {
    return bytesOf(decodeAs<WireResponse>(this.responseType, buf, 'PeerResponse').payload);
  }
}

/**
 * The only cast of the codec: protobufjs's decoded objects are untyped; every field read from
 * them is checked by the mapping functions above.
 */
function decodeAs<T>(type: protobuf.Type, buf: Uint8Array, name: string): T {
  try {
    return type.decode(buf) as unknown as T;
  } catch (e) {
    throw new MalformedFrameError(`${name} does not decode: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const cache = new Map<string, RaftCodec>();

/** The codec for the proto at `file` (loaded once per file). */
export function loadRaftCodec(file = defaultRaftProtoPath()): RaftCodec {
  let codec = cache.get(file);
  if (codec === undefined) {
    const root = protobuf.loadSync(file);
    root.resolveAll();
    codec = new RaftCodec(root);
    cache.set(file, codec);
  }
  return codec;
}
