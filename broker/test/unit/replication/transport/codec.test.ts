/** The transport's codec: Message <-> RaftMessage round trips, exact sizes, views, refusals. */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { MessageType, type Entry, type Message } from '../../../../src/raft/types.js';
import {
  MalformedFrameError,
  batchEntryCost,
  batchHeaderSize,
  defaultRaftProtoPath,
  loadRaftCodec,
  messageSize,
  varintSize,
} from '../../../../src/replication/transport/codec.js';
import { GATHER_MIN_BYTES, writeBatch, writeBatchParts, writeMessageAlone } from '../../../../src/replication/transport/batch-writer.js';

const codec = loadRaftCodec();

function message(over: Partial<Message>): Message {
  return {
    type: MessageType.Heartbeat,
    group: 0,
    from: 0,
    to: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    snapshot: null,
    reject: false,
    hint: 0,
    transfer: false,
    context: null,
    ...over,
  };
}

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const entry = (term: number, index: number, size: number, type: 0 | 1 = 0): Entry => ({ term, index, type, data: bytes(size, index) });

/** One message of every type, with the fields that type uses, plus edge values. */
const samples: Message[] = [
  message({ type: MessageType.Append, group: 7, from: 1, to: 2, term: 5, logTerm: 4, index: 99, commit: 98, entries: [entry(5, 100, 1024), entry(5, 101, 0), entry(5, 102, 3, 1)] }),
  message({ type: MessageType.AppendResponse, group: 7, from: 2, to: 1, term: 5, index: 102 }),
  message({ type: MessageType.AppendResponse, group: 7, from: 2, to: 1, term: 5, index: 102, reject: true, hint: 60, logTerm: 3 }),
  message({ type: MessageType.Heartbeat, group: 2 ** 40, from: 1, to: 3, term: 9, commit: 1234, index: 17 }),
  message({ type: MessageType.HeartbeatResponse, group: 3, from: 3, to: 1, term: 9, index: 17 }),
  message({ type: MessageType.PreVote, group: 3, from: 3, to: 1, term: 10, index: 50, logTerm: 9 }),
  message({ type: MessageType.PreVoteResponse, group: 3, from: 1, to: 3, term: 10, reject: true }),
  message({ type: MessageType.Vote, group: 3, from: 3, to: 1, term: 10, index: 50, logTerm: 9, transfer: true }),
  message({ type: MessageType.VoteResponse, group: 3, from: 1, to: 3, term: 10 }),
  message({
    type: MessageType.InstallSnapshot,
    group: 4,
    from: 1,
    to: 2,
    term: 6,
    snapshot: { index: 500, term: 6, conf: { voters: [1, 2, 3], learners: [4] }, data: bytes(300) },
  }),
  message({ type: MessageType.InstallSnapshot, group: 4, from: 1, to: 2, term: 6, snapshot: { index: 0, term: 0, conf: { voters: [], learners: [] }, data: new Uint8Array(0) } }),
  message({ type: MessageType.TimeoutNow, group: 5, from: 1, to: 2, term: 8 }),
  message({ type: MessageType.ReadIndex, group: 5, from: 2, to: 1, term: 8, context: bytes(16) }),
  message({ type: MessageType.ReadIndex, group: 5, from: 2, to: 1, term: 8, context: new Uint8Array(0) }),
  message({ type: MessageType.ReadIndexResponse, group: 5, from: 1, to: 2, term: 8, index: Number.MAX_SAFE_INTEGER, context: bytes(8) }),
];

/** Structural equality with bytes compared by content (a Buffer view and a Uint8Array alike). */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

describe('transport codec', () => {
  it('covers every message type', () => {
    const types = new Set(samples.map((m) => m.type));
    for (const t of Object.values(MessageType)) expect(types.has(t)).toBe(true);
  });

  it('round-trips every message type through a batch, with all fields and the core shape', () => {
    const frame = codec.encodeBatch({ fromNode: 0, toNode: 2, clusterId: 'c-1', sequence: 3, messages: samples, quiescedGroups: [5, 2 ** 40], wokenGroups: [7] });
    const back = codec.decodeBatch(frame);
    expect(back.fromNode).toBe(0);
    expect(back.toNode).toBe(2);
    expect(back.clusterId).toBe('c-1');
    expect(back.sequence).toBe(3);
    expect(back.quiescedGroups).toEqual([5, 2 ** 40]);
    expect(back.wokenGroups).toEqual([7]);
    expect(back.messages.map(plain)).toEqual(samples.map(plain));
    for (const m of back.messages) expect(Object.keys(m)).toEqual(Object.keys(samples[0]!));
    // A null context stays null, an empty one stays present.
    expect(back.messages.find((m) => m.type === MessageType.Heartbeat)!.context).toBeNull();
    expect(back.messages.filter((m) => m.type === MessageType.ReadIndex).map((m) => m.context?.length)).toEqual([16, 0]);
  });

  it('decodes entry, snapshot and context bytes as views of the frame, not copies', () => {
    const frame = codec.encodeBatch({ fromNode: 1, toNode: 2, clusterId: 'c', sequence: 1, messages: samples, quiescedGroups: [], wokenGroups: [] });
    const back = codec.decodeBatch(frame);
    const append = back.messages[0]!;
    expect(append.entries[0]!.data.buffer).toBe(frame.buffer);
    expect(Buffer.from(append.entries[0]!.data).equals(Buffer.from(samples[0]!.entries[0]!.data))).toBe(true);
    const snap = back.messages.find((m) => m.type === MessageType.InstallSnapshot)!;
    expect(snap.snapshot!.data.buffer).toBe(frame.buffer);
    expect(back.messages.find((m) => m.type === MessageType.ReadIndexResponse)!.context!.buffer).toBe(frame.buffer);
  });

  it('writes batches byte for byte as protobufjs encodes them', () => {
    const big = message({ type: MessageType.Append, group: 2 ** 45, from: 3, to: 1, term: 2 ** 33, logTerm: 2 ** 31, index: Number.MAX_SAFE_INTEGER - 5, commit: 2 ** 32 - 1, entries: [entry(2 ** 33, Number.MAX_SAFE_INTEGER - 4, 70_000)] });
    const empty = message({ type: MessageType.InstallSnapshot, group: 1, from: 1, to: 2, term: 1, snapshot: { index: 0, term: 0, conf: { voters: [], learners: [] }, data: new Uint8Array(0) } });
    const batches = [
      { fromNode: 0, toNode: 2, clusterId: 'c-1', sequence: 3, messages: samples, quiescedGroups: [5, 2 ** 40], wokenGroups: [7] },
      { fromNode: 2 ** 31, toNode: 0, clusterId: '', sequence: 0, messages: [big, empty], quiescedGroups: [], wokenGroups: [] },
      { fromNode: 4, toNode: 5, clusterId: 'clüster', sequence: 2 ** 50, messages: [], quiescedGroups: [], wokenGroups: [0, 1, 2 ** 52] },
      { fromNode: 1, toNode: 2, clusterId: 'c', sequence: 9, messages: samples.slice(0, 2), quiescedGroups: [3], wokenGroups: [], part: { totalBytes: 2 ** 40, offset: 2 ** 33, data: bytes(5000) } },
      { fromNode: 1, toNode: 2, clusterId: 'c', sequence: 10, messages: [], quiescedGroups: [], wokenGroups: [], part: { totalBytes: 70, offset: 0, data: bytes(70) } },
    ];
    for (const b of batches) {
      const ours = writeBatch(b);
      expect(ours.equals(codec.encodeBatch(b))).toBe(true);
      expect(codec.decodeBatch(ours).messages.map(plain)).toEqual(b.messages.map(plain));
      expect(plain(codec.decodeBatch(ours).part)).toEqual(plain(b.part ?? null));
      // In pieces for a writev: the same bytes, long data referenced instead of copied.
      const gathered = writeBatchParts(b);
      expect(gathered.length).toBe(ours.length);
      expect(Buffer.concat(gathered.parts).equals(ours)).toBe(true);
      const long = [...b.messages.flatMap((m) => m.entries.map((e) => e.data)), ...(b.part ? [b.part.data] : [])].filter((d) => d.length >= GATHER_MIN_BYTES);
      for (const d of long) expect(gathered.parts.some((p) => p.buffer === d.buffer && p.byteOffset === d.byteOffset && p.length === d.length)).toBe(true);
    }
    // A message sent in pieces is encoded on its own, as protobufjs encodes a RaftMessage.
    for (const m of [...samples, big]) expect(writeMessageAlone(m).equals(codec.encodeMessage(m))).toBe(true);
    expect(() => writeBatch({ ...batches[0]!, messages: [message({ term: -1 })] })).toThrow(/cannot be encoded/);
  });

  it('computes the exact encoded size of messages and batches', () => {
    for (const m of samples) expect(messageSize(m)).toBe(codec.encodeMessage(m).length);
    const id = { fromNode: 3, toNode: 300, clusterId: 'clüster' };
    const quiesced = [1, 2, 2 ** 35];
    const expected = batchHeaderSize(id, 77, quiesced, []) + samples.reduce((s, m) => s + batchEntryCost(messageSize(m)), 0);
    expect(codec.encodeBatch({ ...id, sequence: 77, messages: samples, quiescedGroups: quiesced, wokenGroups: [] }).length).toBe(expected);
    // Node id 0 and sequence 0 are omitted on the wire, as proto3 does.
    expect(batchHeaderSize({ fromNode: 0, toNode: 0, clusterId: '' }, 0, [], [])).toBe(0);
    for (const n of [0, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 35, 2 ** 42, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      const w = protobuf.Writer.create();
      w.uint64(n);
      expect(varintSize(n), String(n)).toBe(w.finish().length);
    }
  });

  it('refuses to size a message it cannot encode faithfully', () => {
    expect(messageSize(message({ term: -1 }))).toBe(-1);
    expect(messageSize(message({ index: 1.5 }))).toBe(-1);
    expect(messageSize(message({ commit: 2 ** 53 }))).toBe(-1);
    expect(messageSize(message({ type: 0 as MessageType }))).toBe(-1);
    expect(messageSize(message({ entries: [{ term: 1, index: 1, type: 0, data: 'x' as unknown as Uint8Array }] }))).toBe(-1);
    expect(messageSize(message({ entries: undefined as unknown as Entry[] }))).toBe(-1);
    const snap = { index: 1, term: 1, conf: { voters: [1], learners: [] }, data: new Uint8Array(1) };
    expect(messageSize(message({ snapshot: snap }))).toBeGreaterThan(0);
    expect(messageSize(message({ snapshot: { ...snap, data: undefined as unknown as Uint8Array } }))).toBe(-1);
    expect(messageSize(message({ snapshot: { ...snap, conf: null as unknown as typeof snap.conf } }))).toBe(-1);
    expect(messageSize(message({ snapshot: { ...snap, conf: { voters: [-1], learners: [] } } }))).toBe(-1);
  });

  it('throws MalformedFrameError for garbage, truncation, unknown enums and unsafe integers', () => {
    const good = codec.encodeBatch({ fromNode: 1, toNode: 2, clusterId: 'c', sequence: 1, messages: samples, quiescedGroups: [], wokenGroups: [] });
    expect(() => codec.decodeBatch(good.subarray(0, Math.floor(good.length / 2)))).toThrow(MalformedFrameError);
    expect(() => codec.decodeBatch(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(MalformedFrameError);

    const root = protobuf.loadSync(defaultRaftProtoPath());
    const Batch = root.lookupType('chronik.raft.v1.RaftBatch');
    const encode = (obj: object): Uint8Array => Batch.encode(Batch.fromObject(obj)).finish();
    expect(() => codec.decodeBatch(encode({ messages: [{ type: 42 }] }))).toThrow(/message type 42/);
    expect(() => codec.decodeBatch(encode({ messages: [{ type: 0 }] }))).toThrow(/message type 0/);
    expect(() => codec.decodeBatch(encode({ messages: [{ type: 1, entries: [{ type: 9 }] }] }))).toThrow(/entry type 9/);
    expect(() => codec.decodeBatch(encode({ messages: [{ type: 1, term: '9007199254740993' }] }))).toThrow(/term exceeds 2\^53/);
    expect(() => codec.decodeBatch(encode({ sequence: '18446744073709551615' }))).toThrow(/sequence exceeds/);
  });

  it('round-trips snapshot chunks, acks, receipts, requests and responses', () => {
    const header = samples.find((m) => m.type === MessageType.InstallSnapshot)!;
    const chunk = codec.decodeChunk(
      codec.encodeChunk({ fromNode: 1, toNode: 2, clusterId: 'c', header, offset: 0, data: bytes(10), last: false, totalBytes: 300 }),
    );
    expect(chunk.header!.snapshot!.data.length).toBe(0);
    expect(chunk.header!.snapshot!.conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect({ ...chunk, header: null, data: Array.from(chunk.data) }).toEqual({
      fromNode: 1,
      toNode: 2,
      clusterId: 'c',
      header: null,
      offset: 0,
      data: Array.from(bytes(10)),
      last: false,
      totalBytes: 300,
    });
    expect(codec.decodeAck(codec.encodeAck(2 ** 50))).toBe(2 ** 50);
    expect(codec.decodeReceipt(codec.encodeReceipt(false, 'no room'))).toEqual({ accepted: false, error: 'no room' });
    const req = codec.decodeRequest(codec.encodeRequest({ fromNode: 4, toNode: 0, clusterId: 'c', kind: 'create-topics', payload: bytes(5) }));
    expect({ ...req, payload: Array.from(req.payload) }).toEqual({ fromNode: 4, toNode: 0, clusterId: 'c', kind: 'create-topics', payload: Array.from(bytes(5)) });
    expect(Array.from(codec.decodeResponse(codec.encodeResponse(bytes(3))))).toEqual(Array.from(bytes(3)));
  });
});
