/** Test harness for the Raft transport: real transports on 127.0.0.1, recorded callbacks. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { MessageType, type Message } from '../../../../src/raft/types.js';
import { createRaftTransport, type GroupSignals, type PeerAddress, type RaftTransport, type RaftTransportOptions } from '../../../../src/replication/transport/index.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [k: string]: unknown;
}

export interface Node {
  readonly id: number;
  readonly transport: RaftTransport;
  readonly registry: Registry;
  readonly peers: Map<number, PeerAddress>;
  /** Every onMessages call, in order. */
  readonly deliveries: { from: number; messages: Message[] }[];
  readonly signals: { from: number; signals: GroupSignals }[];
  /** onMessages and onSignals calls interleaved as they happened. */
  readonly order: ('messages' | 'signals')[];
  readonly peerStates: { node: number; up: boolean }[];
  readonly snapshotFailures: { to: number; group: number; reason: string }[];
  readonly logs: LogLine[];
  port: number;
  received(from: number): Message[];
}

export type NodeOptions = Partial<Omit<RaftTransportOptions, 'peers' | 'logger' | 'registry' | 'onMessages' | 'onSignals' | 'onPeerState' | 'onSnapshotFailed'>>;

/** Transports created by `makeNode`; `closeAll` closes them (call it in afterEach). */
const open: RaftTransport[] = [];

export function makeNode(id: number, options: NodeOptions = {}): Node {
  const registry = new Registry();
  const peers = new Map<number, PeerAddress>();
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const node: Node = {
    id,
    registry,
    peers,
    deliveries: [],
    signals: [],
    order: [],
    peerStates: [],
    snapshotFailures: [],
    logs,
    port: 0,
    received: (from) => node.deliveries.filter((d) => d.from === from).flatMap((d) => d.messages),
    transport: undefined as unknown as RaftTransport,
  };
  const transport = createRaftTransport({
    nodeId: id,
    clusterId: 'test-cluster',
    listenHost: '127.0.0.1',
    listenPort: 0,
    beatIntervalMs: 50,
    peerTimeoutMs: 2000,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
    ...options,
    peers: () => peers,
    logger: pino({ level: 'debug' }, sink),
    registry,
    onMessages: (from, messages) => {
      node.deliveries.push({ from, messages });
      node.order.push('messages');
    },
    onSignals: (from, signals) => {
      node.signals.push({ from, signals });
      node.order.push('signals');
    },
    onPeerState: (n, up) => node.peerStates.push({ node: n, up }),
    onSnapshotFailed: (to, m, reason) => node.snapshotFailures.push({ to, group: m.group, reason }),
  });
  (node as { transport: RaftTransport }).transport = transport;
  open.push(transport);
  return node;
}

export async function startNode(id: number, options: NodeOptions = {}): Promise<Node> {
  const node = makeNode(id, options);
  node.port = await node.transport.start();
  return node;
}

/** Makes every node a peer of every other. */
export function connect(...nodes: Node[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.peers.set(b.id, { host: '127.0.0.1', port: b.port });
}

export async function closeAll(): Promise<void> {
  const all = open.splice(0);
  await Promise.all(all.map((t) => t.close()));
}

/** Polls `cond` until it holds; fails with `what` after a generous bound (this is no timing check). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

export function append(group: number, index: number, size = 16, from = 1, to = 2): Message {
  return {
    type: MessageType.Append,
    group,
    from,
    to,
    term: 1,
    logTerm: 1,
    index: index - 1,
    commit: 0,
    entries: [{ term: 1, index, type: 0, data: Buffer.alloc(size, index & 0xff) }],
    snapshot: null,
    reject: false,
    hint: 0,
    transfer: false,
    context: null,
  };
}

/** The value of a metric sample (0 if absent). */
export async function metric(node: Node, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = node.registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  let sum = 0;
  for (const v of values) {
    if (Object.entries(labels).every(([k, x]) => String((v.labels as Record<string, unknown>)[k]) === x)) sum += v.value;
  }
  return sum;
}
