/** The raft stream over plain TCP (stream: 'tcp'): framing, the same delivery contract, refusals. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../../../src/raft/types.js';
import { loadRaftCodec } from '../../../../src/replication/transport/codec.js';
import { FrameReader, HELLO, KIND_FRAME, KIND_STATUS, statusText } from '../../../../src/replication/transport/tcp-stream.js';
import { freePort } from '../../../helpers/ports.js';
import { append, closeAll, connect, metric, startNode, until, type Node } from './harness.js';

afterEach(closeAll);

const codec = loadRaftCodec();
const indexes = (ms: readonly Message[]): number[] => ms.map((m) => m.entries[0]!.index);
const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);
const tcp = { stream: 'tcp' } as const;

function wire(kind: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(body.length, 0);
  h[4] = kind;
  return Buffer.concat([h, body]);
}

async function upPair(...nodes: Node[]): Promise<void> {
  connect(...nodes);
  await until(() => nodes.every((a) => nodes.every((b) => a === b || a.transport.peerUp(b.id))), 'all streams up');
}

/** A raw TCP client speaking the stream's wire; collects what the receiver sends back. */
async function rawTcp(port: number): Promise<{ socket: net.Socket; frames: { kind: number; body: Buffer }[]; closed: Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const frames: { kind: number; body: Buffer }[] = [];
  const reader = new FrameReader(1 << 20, (kind, body) => frames.push({ kind, body: Buffer.from(body) }), () => {});
  socket.on('data', (c: Buffer) => reader.push(c));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, frames, closed };
}

function batch(fromNode: number, toNode: number, sequence: number, messages: Message[] = [], clusterId = 'test-cluster'): Buffer {
  return codec.encodeBatch({ fromNode, toNode, clusterId, sequence, messages, quiescedGroups: [], wokenGroups: [] });
}

describe('tcp stream: framing', () => {
  it('reassembles frames cut at every byte, several per chunk, and hands whole-chunk frames over as views', () => {
    const bodies = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(300, 7), Buffer.alloc(5, 1)];
    const bytes = Buffer.concat(bodies.map((b, i) => wire(i % 2, b)));
    for (let cut = 1; cut < bytes.length; cut++) {
      const got: { kind: number; body: string }[] = [];
      const r = new FrameReader(1000, (kind, body) => got.push({ kind, body: body.toString('hex') }), (e) => {
        throw new Error(e);
      });
      r.push(bytes.subarray(0, cut));
      r.push(bytes.subarray(cut));
      expect(got).toEqual(bodies.map((b, i) => ({ kind: i % 2, body: b.toString('hex') })));
    }
    const views: Buffer[] = [];
    const whole = wire(0, Buffer.alloc(64, 9));
    new FrameReader(1000, (_k, body) => views.push(body), () => {}).push(whole);
    expect(views[0]!.buffer).toBe(whole.buffer);
  });

  it('refuses a frame over the limit and delivers nothing after it', () => {
    const errors: string[] = [];
    const got: number[] = [];
    const r = new FrameReader(100, (k) => got.push(k), (e) => errors.push(e));
    r.push(Buffer.concat([wire(0, Buffer.alloc(10)), wire(0, Buffer.alloc(101)), wire(0, Buffer.alloc(1))]));
    expect(got).toEqual([0]);
    expect(errors).toEqual(['a frame of 101 bytes exceeds the limit of 100']);
  });

  it('names a status frame like a gRPC status', () => {
    expect(statusText(Buffer.concat([Buffer.from([9]), Buffer.from('sender is in cluster "x"')]))).toBe('FAILED_PRECONDITION: sender is in cluster "x"');
  });
});

describe('tcp stream: delivery', () => {
  it('three transports over tcp: every pair, every direction, in order', async () => {
    const nodes = [await startNode(1, tcp), await startNode(2, tcp), await startNode(3, tcp)];
    await upPair(...nodes);
    for (let i = 1; i <= 300; i++) for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.send(b.id, [append(a.id, i, 700, a.id, b.id)]);
    for (const b of nodes) {
      for (const a of nodes) {
        if (a === b) continue;
        await until(() => b.received(a.id).length === 300, `${a.id} -> ${b.id}`);
        expect(indexes(b.received(a.id))).toEqual(range(300));
      }
    }
  });

  it('a tcp sender and a grpc sender share one receiver; frames larger than a socket read arrive whole', async () => {
    const a = await startNode(1, tcp);
    const b = await startNode(2);
    const c = await startNode(3, { stream: 'grpc' });
    await upPair(a, b, c);
    for (let i = 1; i <= 40; i++) {
      a.transport.send(2, [append(1, i, 256 * 1024)]);
      c.transport.send(2, [append(1, i, 1024, 3, 2)]);
    }
    await until(() => b.received(1).length === 40 && b.received(3).length === 40, 'both delivered');
    expect(indexes(b.received(1))).toEqual(range(40));
    expect(b.received(1).every((m, i) => m.entries[0]!.data.length === 256 * 1024 && m.entries[0]!.data[100] === ((i + 1) & 0xff))).toBe(true);
    expect(indexes(b.received(3))).toEqual(range(40));
  });

  it('queues for a peer that is down, delivers when it comes up, reports down and up again', async () => {
    const port = await freePort();
    const a = await startNode(1, tcp);
    a.peers.set(2, { host: '127.0.0.1', port });
    for (let i = 1; i <= 20; i++) expect(a.transport.send(2, [append(1, i)])).toBe(true);
    await until(() => a.logs.some((l) => /cannot open a raft stream to broker 2 .*UNAVAILABLE/.test(l.msg)), 'a failed dial');
    const b = await startNode(2, { ...tcp, listenPort: port });
    b.peers.set(1, { host: '127.0.0.1', port: a.port });
    await until(() => b.received(1).length === 20, 'queued messages delivered after the peer came up');
    expect(indexes(b.received(1))).toEqual(range(20));
    await b.transport.close();
    await until(() => a.peerStates.length === 2, 'down reported');
    const b2 = await startNode(2, { ...tcp, listenPort: port });
    b2.peers.set(1, { host: '127.0.0.1', port: a.port });
    await until(() => a.transport.peerUp(2), 'up again');
    a.transport.send(2, [append(1, 21)]);
    await until(() => b2.received(1).length === 1, 'delivered to the restarted peer');
    expect(a.peerStates).toEqual([
      { node: 2, up: true },
      { node: 2, up: false },
      { node: 2, up: true },
    ]);
  });

  it('a peer that accepts and then goes quiet is reported down after the peer timeout', async () => {
    const a = await startNode(1, { ...tcp, beatIntervalMs: 20, peerTimeoutMs: 300 });
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      connections++;
      sockets.add(s);
      s.on('error', () => {});
      // Answers the opening beat (after the hello), then nothing.
      s.once('data', () => s.write(wire(KIND_FRAME, codec.encodeAck(1))));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      a.peers.set(5, { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
      await until(() => a.peerStates.some((s) => s.node === 5 && !s.up), 'silent peer reported down');
      expect(a.peerStates).toEqual([
        { node: 5, up: true },
        { node: 5, up: false },
      ]);
      expect(a.logs.some((l) => /raft stream to broker 5 lost: nothing acknowledged for \d+ ms/.test(l.msg))).toBe(true);
      await until(() => connections >= 2, 'redialled');
    } finally {
      a.peers.delete(5);
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('tcp stream: refusals', () => {
  it('refuses another cluster with a status the sender logs, and counts garbage, bad hellos and mute connections', async () => {
    const b = await startNode(2, { peerTimeoutMs: 400, beatIntervalMs: 50 });
    const good = await startNode(1, tcp);
    await upPair(good, b);
    const other = await startNode(3, { ...tcp, clusterId: 'another-cluster' });
    other.peers.set(2, { host: '127.0.0.1', port: b.port });
    b.peers.set(3, { host: '127.0.0.1', port: other.port });
    await until(() => other.logs.some((l) => /cannot open a raft stream to broker 2 .*FAILED_PRECONDITION: sender is in cluster "another-cluster"/.test(l.msg)), 'sender told why');

    // Refusal logs are one per reason per 10 s: the bad hello is the first 'malformed'.
    const stranger = await rawTcp(b.port);
    stranger.socket.write('CHRAFT-v9');
    await stranger.closed;
    expect(b.logs.some((l) => /refusing connection from .*: not a raft stream \(first bytes 4348524146542d76\)/.test(l.msg))).toBe(true);

    const garbage = await rawTcp(b.port);
    garbage.socket.write(Buffer.concat([HELLO, wire(KIND_FRAME, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))]));
    await garbage.closed;
    expect(garbage.frames.map((f) => f.kind)).toEqual([KIND_STATUS]);
    expect(statusText(garbage.frames[0]!.body)).toMatch(/^INVALID_ARGUMENT: corrupt frame \(6 bytes\)/);

    const oversize = await rawTcp(b.port);
    const h = Buffer.alloc(5);
    h.writeUInt32BE(0x7fffffff, 0);
    oversize.socket.write(Buffer.concat([HELLO, h]));
    await oversize.closed;
    expect(statusText(oversize.frames[0]!.body)).toMatch(/^RESOURCE_EXHAUSTED: a frame of 2147483647 bytes exceeds the limit/);

    const mute = await rawTcp(b.port);
    mute.socket.write(HELLO);
    await mute.closed;
    expect(statusText(mute.frames[0]!.body)).toBe('DEADLINE_EXCEEDED: no frame within the peer timeout');

    const silent = await rawTcp(b.port);
    await silent.closed;

    const wrong = await rawTcp(b.port);
    wrong.socket.write(Buffer.concat([HELLO, wire(KIND_FRAME, batch(1, 7, 1))]));
    await wrong.closed;
    expect(statusText(wrong.frames[0]!.body)).toBe('FAILED_PRECONDITION: addressed to broker 7, this is broker 2');

    expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'cluster_id' })).toBeGreaterThan(0);
    expect(await metric(b, 'chronik_transport_refused_frames_total', { reason: 'malformed' })).toBeGreaterThanOrEqual(2);
    // The good peer never noticed.
    good.transport.send(2, [append(1, 1)]);
    await until(() => b.received(1).length === 1, 'good peer still delivers');
    expect(good.peerStates).toEqual([{ node: 2, up: true }]);
  });

  it('close() over tcp releases every socket', async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const before = sockets();
    const a = await startNode(1, tcp);
    const b = await startNode(2, tcp);
    await upPair(a, b);
    a.transport.send(2, [append(1, 1)]);
    await closeAll();
    await until(() => sockets() <= before, 'sockets closed');
  });
});
