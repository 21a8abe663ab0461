/** The Raft transport over real sockets on 127.0.0.1 (port 0 everywhere but where a peer must come back). */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, type Message } from '../../../../src/raft/types.js';
import { loadRaftCodec } from '../../../../src/replication/transport/codec.js';
import { PeerRequestError } from '../../../../src/replication/transport/index.js';
import { freePort } from '../../../helpers/ports.js';
import { append, closeAll, connect, makeNode, metric, startNode, turn, until, type Node } from './harness.js';

afterEach(closeAll);

const codec = loadRaftCodec();
const indexes = (ms: readonly Message[]): number[] => ms.map((m) => m.entries[0]!.index);
const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);

async function upPair(...nodes: Node[]): Promise<void> {
  connect(...nodes);
  await until(() => nodes.every((a) => nodes.every((b) => a === b || a.transport.peerUp(b.id))), 'all streams up');
}

function snapshotMessage(group: number, data: Uint8Array, from = 1, to = 2): Message {
  return {
    type: MessageType.InstallSnapshot,
    group,
    from,
    to,
    term: 4,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    snapshot: { index: 900, term: 4, conf: { voters: [1, 2, 3], learners: [7] }, data },
    reject: false,
    hint: 0,
    transfer: false,
    context: null,
  };
}

const pattern = (n: number, seed: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
};

/** A raw gRPC client on a transport's Stream, for frames no transport would send. */
function rawStream(port: number): { call: grpc.ClientDuplexStream<Buffer, Buffer>; status: Promise<grpc.StatusObject>; acks: number[]; close(): void } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const id = (b: Buffer): Buffer => b;
  const call = client.makeBidiStreamRequest<Buffer, Buffer>('/chronik.raft.v1.RaftTransport/Stream', id, id, new grpc.Metadata());
  const acks: number[] = [];
  call.on('data', (b: Buffer) => acks.push(codec.decodeAck(b)));
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    call,
    status,
    acks,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

function frame(fromNode: number, toNode: number, sequence: number, messages: Message[] = [], clusterId = 'test-cluster'): Buffer {
  return codec.encodeBatch({ fromNode, toNode, clusterId, sequence, messages, quiescedGroups: [], wokenGroups: [] });
}

describe('raft transport: delivery', () => {
  it('two transports exchange messages in order, both ways', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    await upPair(a, b);
    for (let i = 1; i <= 500; i++) {
      expect(a.transport.send(2, [append(i % 7, i)])).toBe(true);
      expect(b.transport.send(1, [append(i % 5, i, 16, 2, 1)])).toBe(true);
      if (i % 50 === 0) await turn();
    }
    await until(() => b.received(1).length === 500 && a.received(2).length === 500, 'all messages delivered');
    expect(indexes(b.received(1))).toEqual(range(500));
    expect(indexes(a.received(2))).toEqual(range(500));
    expect(b.received(1)[6]).toEqual({ ...append(0, 7), entries: [{ ...append(0, 7).entries[0]!, data: expect.any(Buffer) }] });
    expect(a.peerStates).toEqual([{ node: 2, up: true }]);
    expect(await metric(a, 'chronik_transport_peer_up', { peer: '2' })).toBe(1);
    expect(await metric(a, 'chronik_transport_bytes_sent_total', { peer: '2' })).toBeGreaterThan(500 * 16);
    expect(await metric(b, 'chronik_transport_bytes_received_total', { peer: '1' })).toBeGreaterThan(500 * 16);
  });

  it('three transports: every pair, every direction, in order', async () => {
    const nodes = [await startNode(0), await startNode(1), await startNode(2)];
    await upPair(...nodes);
    for (let i = 1; i <= 300; i++) {
      for (const from of nodes) for (const to of nodes) if (from !== to) expect(from.transport.send(to.id, [append(i % 3, i, 64, from.id, to.id)])).toBe(true);
      if (i % 30 === 0) await turn();
    }
    await until(() => nodes.every((n) => n.deliveries.reduce((s, d) => s + d.messages.length, 0) === 600), 'every node got 2 x 300');
    for (const to of nodes) for (const from of nodes) if (from !== to) expect(indexes(to.received(from.id))).toEqual(range(300));
  });

  it('messages sent during one turn leave as one frame per destination', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    const c = await startNode(3);
    await upPair(a, b, c);
    const framesBefore = await metric(b, 'chronik_transport_frames_received_total', { peer: '1' });
    for (let i = 1; i <= 300; i++) {
      a.transport.send(2, [append(i, i)]);
      a.transport.send(3, [append(i, i)]);
    }
    await until(() => b.received(1).length === 300 && c.received(1).length === 300, 'delivered');
    // One onMessages call per frame: everything of that turn came in one.
    expect(b.deliveries.map((d) => d.messages.length)).toEqual([300]);
    expect(c.deliveries.map((d) => d.messages.length)).toEqual([300]);
    expect(indexes(b.received(1))).toEqual(range(300));
    expect(await metric(b, 'chronik_transport_frames_received_total', { peer: '1' })).toBeGreaterThan(framesBefore);
  });

  it('splits a turn larger than a frame over several frames and refuses one message larger than the message limit', async () => {
    const opts = { maxFrameBytes: 64 * 1024, maxMessageBytes: 256 * 1024, snapshotChunkBytes: 16 * 1024 };
    const a = await startNode(1, opts);
    const b = await startNode(2, opts);
    await upPair(a, b);
    for (let i = 1; i <= 64; i++) expect(a.transport.send(2, [append(1, i, 4096)])).toBe(true);
    expect(a.transport.send(2, [append(1, 65, 300 * 1024)])).toBe(false);
    await until(() => b.received(1).length === 64, 'delivered');
    expect(indexes(b.received(1))).toEqual(range(64));
    expect(b.deliveries.length).toBeGreaterThanOrEqual(4);
    for (const d of b.deliveries) expect(d.messages.length * 4096).toBeLessThanOrEqual(64 * 1024);
    expect(await metric(a, 'chronik_transport_dropped_messages_total', { peer: '2', reason: 'too_large' })).toBe(1);
    expect(a.logs.some((l) => l.level === 50 && /exceeds the message limit of 262144/.test(l.msg))).toBe(true);
  });

  for (const stream of ['grpc', 'tcp'] as const) {
    it(`${stream}: a message larger than a frame goes in pieces; other groups' messages pass it, its own group's follow it`, async () => {
      const opts = { maxFrameBytes: 64 * 1024, maxMessageBytes: 4 << 20, stream };
      const a = await startNode(1, opts);
      const b = await startNode(2, opts);
      await upPair(a, b);
      const big = append(1, 2, 3 << 20);
      big.entries[0]!.data.set(pattern(3 << 20, 5));
      expect(a.transport.send(2, [append(1, 1), big])).toBe(true);
      // One message in pieces at a time: a second one waits for Raft to send it again.
      expect(a.transport.send(2, [append(3, 1, 200 * 1024)])).toBe(false);
      for (let i = 1; i <= 50; i++) expect(a.transport.send(2, [append(2, i)])).toBe(true);
      for (let i = 3; i <= 12; i++) expect(a.transport.send(2, [append(1, i)])).toBe(true);
      await until(() => b.received(1).length === 62, 'delivered');
      const got = b.received(1);
      const order = got.map((m) => `${m.group}:${m.entries[0]!.index}`);
      expect(got.filter((m) => m.group === 1).map((m) => m.entries[0]!.index)).toEqual(range(12));
      expect(got.filter((m) => m.group === 2).map((m) => m.entries[0]!.index)).toEqual(range(50));
      // The other group's messages came while the pieces were on their way.
      expect(order.indexOf('2:50')).toBeLessThan(order.indexOf('1:2'));
      const whole = got.find((m) => m.group === 1 && m.entries[0]!.index === 2)!;
      expect(Buffer.compare(Buffer.from(whole.entries[0]!.data), pattern(3 << 20, 5))).toBe(0);
      expect({ ...whole, entries: [] }).toEqual({ ...big, entries: [] });
      // Every frame stayed within the frame limit.
      const frames = await metric(b, 'chronik_transport_frames_received_total', { peer: '1' });
      expect(frames).toBeGreaterThan((3 << 20) / (64 * 1024));
      expect(await metric(a, 'chronik_transport_dropped_messages_total', { peer: '2', reason: 'queue_full' })).toBe(1);
      // Then a later large message goes too.
      const next = append(4, 1, 1 << 20);
      expect(a.transport.send(2, [next])).toBe(true);
      await until(() => b.received(1).some((m) => m.group === 4), 'the next large message delivered');
    });
  }

  it('drops a message it cannot encode and says so', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    await upPair(a, b);
    expect(a.transport.send(2, [{ ...append(1, 1), term: -3 }, append(1, 2)])).toBe(false);
    await until(() => b.received(1).length === 1, 'the good one delivered');
    expect(indexes(b.received(1))).toEqual([2]);
    expect(await metric(a, 'chronik_transport_dropped_messages_total', { peer: '2', reason: 'invalid' })).toBe(1);
    expect(a.transport.send(9, [append(1, 3)])).toBe(false);
    expect(await metric(a, 'chronik_transport_dropped_messages_total', { peer: '9', reason: 'unknown_peer' })).toBe(1);
  });

  it('carries group signals after the same frame’s messages; the later of two signals for a group wins', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    await upPair(a, b);
    a.transport.send(2, [append(1, 1)]);
    expect(a.transport.signal(2, { quiesced: [10, 11] })).toBe(true);
    await until(() => b.signals.length === 1, 'first signals');
    expect(b.order).toEqual(['messages', 'signals']);
    expect(b.deliveries.length).toBe(1);
    expect(b.signals[0]).toEqual({ from: 1, signals: { quiesced: [10, 11], woken: [] } });

    a.transport.signal(2, { quiesced: [12, 13] });
    a.transport.signal(2, { woken: [12] });
    await until(() => b.signals.length === 2, 'second signals (on a beat-sized frame)');
    expect(b.signals[1]).toEqual({ from: 1, signals: { quiesced: [13], woken: [12] } });
    expect(b.deliveries.length).toBe(1);
    expect(a.transport.signal(9, { woken: [1] })).toBe(false);
  });
});

describe('raft transport: peers coming and going', () => {
  it('queues for a peer that is down, delivers when it comes up, reports down and up again', async () => {
    const port = await freePort();
    const a = await startNode(1);
    a.peers.set(2, { host: '127.0.0.1', port });
    for (let i = 1; i <= 20; i++) expect(a.transport.send(2, [append(1, i)])).toBe(true);
    expect(a.transport.peerUp(2)).toBe(false);
    const unreachable = (): number => a.logs.filter((l) => /cannot open a raft stream to broker 2/.test(l.msg)).length;
    await until(() => unreachable() === 1, 'a failed dial');

    const b = await startNode(2, { listenPort: port });
    b.peers.set(1, { host: '127.0.0.1', port: a.port });
    await until(() => b.received(1).length === 20, 'queued messages delivered after the peer came up');
    expect(indexes(b.received(1))).toEqual(range(20));
    expect(a.peerStates).toEqual([{ node: 2, up: true }]);
    // Repeated failures of the same peer are logged once (then at debug).
    expect(unreachable()).toBe(1);

    await b.transport.close();
    await until(() => a.peerStates.length === 2, 'down reported');
    expect(a.peerStates[1]).toEqual({ node: 2, up: false });
    expect(a.transport.peerUp(2)).toBe(false);

    const b2 = await startNode(2, { listenPort: port });
    b2.peers.set(1, { host: '127.0.0.1', port: a.port });
    await until(() => a.transport.peerUp(2), 'up again');
    for (let i = 21; i <= 30; i++) a.transport.send(2, [append(1, i)]);
    await until(() => b2.received(1).length === 10, 'delivered to the restarted peer');
    expect(indexes(b2.received(1))).toEqual(range(10, 21));
    expect(a.peerStates).toEqual([
      { node: 2, up: true },
      { node: 2, up: false },
      { node: 2, up: true },
    ]);
  });

  it('follows a peer to its new address, and drops a peer that leaves peers()', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    await upPair(a, b);
    const moved = await startNode(2);
    moved.peers.set(1, { host: '127.0.0.1', port: a.port });
    a.peers.set(2, { host: '127.0.0.1', port: moved.port });
    await until(() => a.peerStates.length === 3, 'down at the old address, up at the new one');
    a.transport.send(2, [append(1, 1)]);
    await until(() => moved.received(1).length === 1, 'delivered at the new address');

    a.peers.delete(2);
    await until(() => a.peerStates.length === 4, 'removal reported');
    expect(a.peerStates.at(-1)).toEqual({ node: 2, up: false });
    expect(a.transport.peerUp(2)).toBe(false);
    expect(a.transport.send(2, [append(1, 2)])).toBe(false);
  });

  it('skips itself and undiallable entries in peers(), saying so once', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    a.peers.set(1, { host: '127.0.0.1', port: a.port });
    a.peers.set(7, { host: '', port: 1 });
    a.peers.set(8, { host: '127.0.0.1', port: 70000 });
    await upPair(a, b);
    a.transport.send(2, [append(1, 1)]);
    await until(() => b.received(1).length === 1, 'delivered');
    expect(a.transport.send(7, [append(1, 1)])).toBe(false);
    expect(a.transport.send(1, [append(1, 1)])).toBe(false);
    const ignored = a.logs.filter((l) => /ignoring peer/.test(l.msg)).map((l) => l.msg);
    expect(ignored).toEqual([
      'raft transport: ignoring peer 7: not a node id >= 0 with a host and a port 1..65535',
      'raft transport: ignoring peer 8: not a node id >= 0 with a host and a port 1..65535',
    ]);
  });

  it('bounds the queue to a dead peer and drops the excess, while a live peer is unaffected', async () => {
    const dead = await freePort();
    const a = await startNode(1, { maxQueueBytesPerPeer: 64 * 1024 });
    const c = await startNode(3);
    a.peers.set(2, { host: '127.0.0.1', port: dead });
    await upPair(a, c);
    const accepted: boolean[] = [];
    for (let i = 1; i <= 200; i++) {
      accepted.push(a.transport.send(2, [append(1, i, 1024)]));
      expect(a.transport.send(3, [append(1, i, 1024)])).toBe(true);
      if (i % 20 === 0) await turn();
    }
    await until(() => c.received(1).length === 200, 'live peer got everything');
    expect(indexes(c.received(1))).toEqual(range(200));
    const kept = accepted.filter(Boolean).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(200);
    expect(accepted.slice(0, kept).every(Boolean)).toBe(true);
    expect(await metric(a, 'chronik_transport_dropped_messages_total', { peer: '2', reason: 'queue_full' })).toBe(200 - kept);
    const queued = await metric(a, 'chronik_transport_queue_bytes', { peer: '2' });
    expect(queued).toBeGreaterThan(60 * 1024);
    expect(queued).toBeLessThanOrEqual(64 * 1024);
    expect(await metric(a, 'chronik_transport_queue_bytes', { peer: '3' })).toBe(0);
  });

  it('beats keep an idle pair up; a peer that stops acknowledging is reported down and redialled', async () => {
    // The silent peer below is a bare gRPC server, so this node dials the gRPC wire.
    const a = await startNode(1, { beatIntervalMs: 20, peerTimeoutMs: 300, stream: 'grpc' });
    const b = await startNode(2, { beatIntervalMs: 20, peerTimeoutMs: 300 });
    await upPair(a, b);
    const before = await metric(b, 'chronik_transport_frames_received_total', { peer: '1' });
    await until(async () => (await metric(b, 'chronik_transport_frames_received_total', { peer: '1' })) >= before + 10, 'ten beats');
    expect(b.deliveries).toEqual([]);
    expect(a.peerStates).toEqual([{ node: 2, up: true }]);

    // A peer that answers the opening beat, then goes quiet (as a paused process would).
    const streams: grpc.ServerDuplexStream<Buffer, Buffer>[] = [];
    const server = new grpc.Server();
    const id = (x: Buffer): Buffer => x;
    server.addService(
      { Stream: { path: '/chronik.raft.v1.RaftTransport/Stream', requestStream: true, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
      {
        Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          streams.push(call);
          call.once('data', (buf: Buffer) => call.write(codec.encodeAck(codec.decodeBatch(buf).sequence)));
          call.on('error', () => {});
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      a.peers.set(5, { host: '127.0.0.1', port });
      await until(() => a.peerStates.some((s) => s.node === 5 && !s.up), 'silent peer reported down');
      expect(a.peerStates.filter((s) => s.node === 5)).toEqual([
        { node: 5, up: true },
        { node: 5, up: false },
      ]);
      expect(a.logs.some((l) => /raft stream to broker 5 lost: nothing acknowledged for \d+ ms/.test(l.msg))).toBe(true);
      await until(() => streams.length >= 2, 'redialled');
      expect(a.transport.peerUp(2)).toBe(true);
    } finally {
      a.peers.delete(5);
      server.forceShutdown();
    }
  });
});

describe('raft transport: refusing what does not belong', () => {
  it('refuses and counts other clusters, unknown senders, wrong destinations and garbage; a good peer keeps working', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    await upPair(a, b);
    const bAddress = { host: '127.0.0.1', port: b.port };
    // B knows 3 and 4 as peers, but no real broker 3 or 4 runs.
    b.peers.set(3, { host: '127.0.0.1', port: 1 });
    b.peers.set(4, { host: '127.0.0.1', port: 1 });

    const otherCluster = makeNode(3, { clusterId: 'another-cluster' });
    otherCluster.peers.set(2, bAddress);
    const stranger = makeNode(9);
    stranger.peers.set(2, bAddress);
    const misdirected = makeNode(4);
    misdirected.peers.set(7, bAddress);
    for (const n of [otherCluster, stranger, misdirected]) await n.transport.start();
    otherCluster.transport.send(2, [append(1, 1)]);
    stranger.transport.send(2, [append(1, 1)]);
    misdirected.transport.send(7, [append(1, 1)]);

    const mute = rawStream(b.port);
    const garbage = rawStream(b.port);
    const resequenced = rawStream(b.port);
    const impostor = rawStream(b.port);
    try {
      garbage.call.write(Buffer.from([0x22, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      const st = await garbage.status;
      expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(st.details).toMatch(/corrupt frame \(6 bytes\)/);

      // A well-formed stream from known broker 4, then a sequence that goes backwards.
      resequenced.call.write(frame(4, 2, 5, [append(8, 1)]));
      resequenced.call.write(frame(4, 2, 5, [append(8, 2)]));
      expect((await resequenced.status).details).toMatch(/sequence 5 does not follow 5/);
      impostor.call.write(frame(4, 2, 1));
      impostor.call.write(frame(3, 2, 2, [append(8, 3)]));
      expect((await impostor.status).details).toMatch(/stream of broker 4 carried a frame from broker 3/);

      const refused = async (reason: string): Promise<number> => metric(b, 'chronik_transport_refused_frames_total', { reason });
      await until(
        async () => (await refused('cluster_id')) > 0 && (await refused('unknown_sender')) > 0 && (await refused('wrong_destination')) > 0,
        'the three misconfigured transports refused',
      );
      expect(await refused('malformed')).toBe(2);
      expect(await refused('sender_changed')).toBe(1);
      const lines = b.logs.filter((l) => /refusing raft stream/.test(l.msg)).map((l) => l.msg);
      expect(lines.some((l) => /sender is in cluster "another-cluster", this is cluster "test-cluster"/.test(l))).toBe(true);
      expect(lines.some((l) => /broker 9 is not a peer of broker 2/.test(l))).toBe(true);
      expect(lines.some((l) => /addressed to broker 7, this is broker 2/.test(l))).toBe(true);
      expect(lines.some((l) => /corrupt frame \(6 bytes\): RaftBatch does not decode/.test(l))).toBe(true);
      expect(lines.some((l) => /stream of broker 4 carried a frame from broker 3/.test(l))).toBe(true);
      expect(otherCluster.logs.some((l) => /cannot open a raft stream to broker 2 .*FAILED_PRECONDITION: sender is in cluster/.test(l.msg))).toBe(true);

      // A stream that never says who it is does not stay open.
      expect(await mute.status).toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED, details: 'no frame within the peer timeout' });
      // Nothing refused was delivered; the one valid frame from 4 was.
      expect(new Set(b.deliveries.map((d) => d.from))).toEqual(new Set([4]));
      expect(b.received(4).map((m) => m.entries[0]!.index)).toEqual([1]);
      for (const n of [otherCluster, stranger, misdirected]) expect(n.transport.peerUp(n === misdirected ? 7 : 2)).toBe(false);

      for (let i = 1; i <= 100; i++) a.transport.send(2, [append(1, i)]);
      await until(() => b.received(1).length === 100, 'the good peer still delivers');
      expect(indexes(b.received(1))).toEqual(range(100));
      expect(a.peerStates).toEqual([{ node: 2, up: true }]);
    } finally {
      mute.close();
      garbage.close();
      resequenced.close();
      impostor.close();
    }
  });
});

describe('raft transport: messages in pieces from a peer that breaks the rules', () => {
  const part = (fromNode: number, sequence: number, totalBytes: number, offset: number, data: Buffer): Buffer =>
    codec.encodeBatch({ fromNode, toNode: 2, clusterId: 'test-cluster', sequence, messages: [], quiescedGroups: [], wokenGroups: [], part: { totalBytes, offset, data } });

  it('refuses a message announced above the limit at its first piece, and pieces out of order; delivers none of them', async () => {
    const b = await startNode(2, { maxFrameBytes: 64 * 1024, maxMessageBytes: 1 << 20 });
    b.peers.set(4, { host: '127.0.0.1', port: 1 });
    const huge = rawStream(b.port);
    const gap = rawStream(b.port);
    const changed = rawStream(b.port);
    const headless = rawStream(b.port);
    try {
      huge.call.write(frame(4, 2, 1));
      huge.call.write(part(4, 2, 2 ** 40, 0, Buffer.alloc(1000)));
      expect(await huge.status).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: `a message of ${2 ** 40} bytes exceeds the limit of ${1 << 20}` });

      const m = codec.encodeMessage(append(1, 1, 100_000));
      gap.call.write(frame(4, 2, 1));
      gap.call.write(part(4, 2, m.length, 0, m.subarray(0, 40_000)));
      gap.call.write(part(4, 3, m.length, 50_000, m.subarray(50_000, 90_000)));
      expect((await gap.status).details).toMatch(/a message part at 50000 of \d+ bytes does not follow 40000/);

      changed.call.write(frame(4, 2, 1));
      changed.call.write(part(4, 2, m.length, 0, m.subarray(0, 40_000)));
      changed.call.write(part(4, 3, m.length + 1, 40_000, m.subarray(40_000)));
      expect((await changed.status).details).toMatch(/does not follow 40000 of/);

      headless.call.write(frame(4, 2, 1));
      headless.call.write(part(4, 2, m.length, 40_000, m.subarray(40_000)));
      expect((await headless.status).details).toMatch(/a message part at 40000 without the ones before it/);

      expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'too_large' })).toBe(1);
      expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'malformed' })).toBe(3);
      expect(b.received(4)).toEqual([]);

      // The same pieces in order are one message.
      const good = rawStream(b.port);
      try {
        good.call.write(frame(4, 2, 1));
        good.call.write(part(4, 2, m.length, 0, m.subarray(0, 40_000)));
        good.call.write(part(4, 3, m.length, 40_000, m.subarray(40_000)));
        await until(() => b.received(4).length === 1, 'the joined message delivered');
        expect(b.received(4)[0]!.entries[0]!.data.length).toBe(100_000);
      } finally {
        good.close();
      }
    } finally {
      huge.close();
      gap.close();
      changed.close();
      headless.close();
    }
  });
});

describe('raft transport: snapshots', () => {
  it('sends a large snapshot in chunks and delivers it as one InstallSnapshot message', async () => {
    const opts = { maxFrameBytes: 1024 * 1024, snapshotChunkBytes: 256 * 1024 };
    const a = await startNode(1, opts);
    const b = await startNode(2, opts);
    await upPair(a, b);
    const data = pattern(5 * 1024 * 1024 + 123, 3);
    const m = snapshotMessage(42, data);
    expect(a.transport.send(2, [m, append(1, 1)])).toBe(true);
    await until(() => b.received(1).some((x) => x.type === MessageType.InstallSnapshot), 'snapshot delivered');
    const got = b.received(1).find((x) => x.type === MessageType.InstallSnapshot)!;
    expect(Buffer.compare(Buffer.from(got.snapshot!.data), data)).toBe(0);
    expect({ ...got, snapshot: { ...got.snapshot!, data: null } }).toEqual({ ...m, snapshot: { ...m.snapshot!, data: null } });
    expect(await metric(a, 'chronik_transport_bytes_sent_total', { peer: '2' })).toBeGreaterThan(data.length);
    expect(await metric(b, 'chronik_transport_bytes_received_total', { peer: '1' })).toBeGreaterThan(data.length);
    await until(() => b.received(1).length === 2, 'the stream message too');
  });

  it('a newer snapshot for a group replaces a waiting one; a refused transfer is reported to the host', async () => {
    const opts = { maxFrameBytes: 256 * 1024, snapshotChunkBytes: 64 * 1024 };
    const a = await startNode(1, opts);
    const b = await startNode(2, { ...opts, maxSnapshotBytes: 1024 * 1024 });
    await upPair(a, b);
    const first = snapshotMessage(7, pattern(300 * 1024, 1));
    const stale = snapshotMessage(7, pattern(300 * 1024, 2));
    const newest = snapshotMessage(7, pattern(300 * 1024, 3));
    a.transport.send(2, [first, stale, newest]);
    await until(() => b.received(1).length === 2, 'two snapshots delivered');
    expect(b.received(1).map((x) => x.snapshot!.data[0])).toEqual([first.snapshot!.data[0], newest.snapshot!.data[0]]);
    expect(await metric(a, 'chronik_transport_dropped_messages_total', { peer: '2', reason: 'superseded' })).toBe(1);
    expect(a.snapshotFailures).toEqual([]);

    a.transport.send(2, [snapshotMessage(8, pattern(2 * 1024 * 1024, 4))]);
    await until(() => a.snapshotFailures.length === 1, 'failure reported');
    expect(a.snapshotFailures[0]).toEqual({ to: 2, group: 8, reason: 'snapshot_failed' });
    expect(a.logs.some((l) => /snapshot of group 8 \(2097152 bytes\) to broker 2 failed: INVALID_ARGUMENT: snapshot of 2097152 bytes exceeds the limit of 1048576/.test(l.msg))).toBe(
      true,
    );
    expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'bad_snapshot' })).toBe(1);
    a.transport.send(2, [append(1, 1)]);
    await until(() => b.received(1).length === 3, 'stream unaffected');
  });
});

describe('raft transport: snapshot transfers that break the rules', () => {
  it('refuses a transfer without a header, with a gap, or cut short, and delivers none of them', async () => {
    const b = await startNode(2);
    b.peers.set(4, { host: '127.0.0.1', port: 1 });
    const client = new grpc.Client(`127.0.0.1:${b.port}`, grpc.credentials.createInsecure());
    const id = (x: Buffer): Buffer => x;
    const transfer = (chunks: Buffer[]): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => {
        const call = client.makeClientStreamRequest<Buffer, Buffer>('/chronik.raft.v1.RaftTransport/InstallSnapshot', id, id, (err) => resolve(err));
        for (const c of chunks) call.write(c);
        call.end();
      });
    const header = snapshotMessage(9, new Uint8Array(0), 4, 2);
    const chunk = (over: Partial<Parameters<typeof codec.encodeChunk>[0]>): Buffer =>
      codec.encodeChunk({ fromNode: 4, toNode: 2, clusterId: 'test-cluster', header: null, offset: 0, data: pattern(10, 1), last: false, totalBytes: 0, ...over });
    try {
      expect((await transfer([chunk({ last: true })]))?.details).toBe('the first chunk carries no InstallSnapshot header');
      expect((await transfer([chunk({ header, totalBytes: 30 }), chunk({ offset: 20 })]))?.details).toBe(
        'chunk at offset 20 of 10 bytes does not follow 10 of 30 bytes',
      );
      expect((await transfer([chunk({ header, totalBytes: 30 }), chunk({ offset: 10 })]))?.details).toBe('transfer ended after 20 of 30 bytes');
      expect((await transfer([chunk({ header, totalBytes: 2 ** 40 })]))?.details).toMatch(/snapshot of 1099511627776 bytes exceeds the limit/);
      expect((await transfer([Buffer.from([0x0a, 0x05, 0x01])]))?.details).toMatch(/corrupt snapshot chunk/);
      expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'bad_snapshot' })).toBe(4);
      expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'malformed' })).toBe(1);
      expect(b.deliveries).toEqual([]);
      // A correct one from the same sender goes through.
      expect(await transfer([chunk({ header, totalBytes: 20 }), chunk({ offset: 10, last: true })])).toBeNull();
      expect(b.received(4).map((m) => m.snapshot!.data.length)).toEqual([20]);
    } finally {
      client.close();
    }
  });
});

describe('raft transport: unary requests', () => {
  it('answers, relays a remote failure, times out, and names unknown, unavailable and handler-less peers', async () => {
    let release = (): void => {};
    const a = await startNode(1);
    const b = await startNode(2, {
      onRequest: async (kind, payload, from) => {
        if (kind === 'echo') return Buffer.concat([Buffer.from(`from ${from}:`), Buffer.from(payload).reverse()]);
        if (kind === 'hang') return new Promise<Uint8Array>((resolve) => (release = () => resolve(new Uint8Array(0))));
        throw new Error(`not the controller (the controller is broker 3); kind ${kind}`);
      },
    });
    const c = await startNode(3);
    await upPair(a, b, c);
    try {
      expect(Buffer.from(await a.transport.request(2, 'echo', Buffer.from('abc'), 5000)).toString()).toBe('from 1:cba');
      const big = pattern(2 * 1024 * 1024, 9);
      expect(Buffer.compare(Buffer.from(await a.transport.request(2, 'echo', big, 10_000)).subarray(7), Buffer.from(big).reverse())).toBe(0);

      const failure = await a.transport.request(2, 'create-topics', new Uint8Array(1), 5000).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(PeerRequestError);
      expect(failure).toMatchObject({ code: 'remote', grpcCode: grpc.status.UNKNOWN });
      expect((failure as Error).message).toBe('request create-topics to broker 2 failed: not the controller (the controller is broker 3); kind create-topics');

      await expect(a.transport.request(2, 'hang', new Uint8Array(0), 200)).rejects.toMatchObject({ code: 'deadline', message: 'request hang to broker 2: no answer within 200 ms' });
      await expect(a.transport.request(8, 'echo', new Uint8Array(0), 200)).rejects.toMatchObject({ code: 'unknown_peer' });
      await expect(a.transport.request(3, 'echo', new Uint8Array(0), 5000)).rejects.toMatchObject({ code: 'refused', message: /broker 3 serves no requests/ });

      a.peers.set(6, { host: '127.0.0.1', port: await freePort() });
      await expect(a.transport.request(6, 'echo', new Uint8Array(0), 5000)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      release();
    }
  });

  it('serves open request kinds to a broker it does not list (a joiner), and only those', async () => {
    const b = await startNode(2, { openRequestKinds: ['join'], onRequest: async (kind, _p, from) => Buffer.from(`${kind} from ${from}`) });
    const x = await startNode(7);
    x.peers.set(2, { host: '127.0.0.1', port: b.port });
    expect(Buffer.from(await x.transport.request(2, 'join', new Uint8Array(0), 5000)).toString()).toBe('join from 7');
    await expect(x.transport.request(2, 'echo', new Uint8Array(0), 5000)).rejects.toMatchObject({ code: 'refused' });
  });

  it('refuses a request from another cluster', async () => {
    const b = await startNode(2, { onRequest: async () => new Uint8Array(0) });
    const x = await startNode(1, { clusterId: 'elsewhere' });
    b.peers.set(1, { host: '127.0.0.1', port: x.port });
    x.peers.set(2, { host: '127.0.0.1', port: b.port });
    await expect(x.transport.request(2, 'echo', new Uint8Array(0), 5000)).rejects.toMatchObject({ code: 'refused', message: /sender is in cluster "elsewhere"/ });
    expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'cluster_id' })).toBeGreaterThanOrEqual(1);
  });
});

describe('raft transport: listener', () => {
  it('advertises the configured HTTP/2 receive window (grpc-js alone would pin it to 64 KiB)', async () => {
    const b = await startNode(2, { receiveWindowBytes: 3 * 1024 * 1024 });
    const session = http2.connect(`http://127.0.0.1:${b.port}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.initialWindowSize).toBe(3 * 1024 * 1024);
      await until(() => (session.state.remoteWindowSize ?? 0) >= 6 * 1024 * 1024, 'connection window raised');
    } finally {
      session.destroy();
    }
  });

  it('names the address when it cannot listen', async () => {
    const a = await startNode(1);
    await expect(startNode(2, { listenPort: a.port })).rejects.toThrow(`raft transport: cannot listen on 127.0.0.1:${a.port}: listen EADDRINUSE`);
  });
});

describe('raft transport: closing', () => {
  it('close() releases every socket and stops callbacks; a closed transport refuses work', async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const before = sockets();
    const a = await startNode(1);
    const b = await startNode(2, { onRequest: async (_k, p) => p });
    await upPair(a, b);
    a.transport.send(2, [append(1, 1), snapshotMessage(3, pattern(3 * 1024 * 1024, 1))]);
    const pending = a.transport.request(2, 'echo', new Uint8Array(3), 5000).catch((e: unknown) => e);
    await closeAll();
    // Either answered before the close or failed by it; never left hanging.
    const outcome = await pending;
    if (outcome instanceof Error) expect(outcome).toMatchObject({ code: 'closed' });
    const states = a.peerStates.length;
    expect(a.transport.send(2, [append(1, 2)])).toBe(false);
    await expect(a.transport.request(2, 'echo', new Uint8Array(0), 100)).rejects.toMatchObject({ code: 'closed' });
    await until(() => sockets() <= before, 'sockets closed');
    expect(a.peerStates.length).toBe(states);
    await a.transport.close();
  });

  it('rejects bad options with a message naming them', () => {
    expect(() => makeNode(-1)).toThrow(/nodeId must be an integer >= 0/);
    expect(() => makeNode(1, { clusterId: '' })).toThrow(/clusterId/);
    expect(() => makeNode(1, { maxFrameBytes: 100 })).toThrow(/maxFrameBytes must be an integer >= 4096/);
    expect(() => makeNode(1, { maxFrameBytes: 65536, snapshotChunkBytes: 65536 })).toThrow(/snapshotChunkBytes \(65536\) must be at most half/);
    expect(() => makeNode(1, { listenPort: 70000 })).toThrow(/listenPort/);
  });
});
