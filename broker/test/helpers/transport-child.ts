/**
 * A Raft transport in a process of its own, for tests that pause, stop or watch the process.
 *
 *   node --import tsx broker/test/helpers/transport-child.ts <nodeId> <peerId> <peerPort>
 *
 * Prints `{"port":N}` once listening. Every message received is sent back to its sender; requests
 * are answered with their payload. The line `close` on stdin closes the transport and prints
 * `closed`; the process must then exit on its own (nothing left open).
 */
import { createInterface } from 'node:readline';
import pino from 'pino';
import { createRaftTransport } from '../../src/replication/transport/index.js';

const [nodeId, peerId, peerPort] = process.argv.slice(2).map(Number) as [number, number, number];
const peers = new Map([[peerId, { host: '127.0.0.1', port: peerPort }]]);
const transport = createRaftTransport({
  nodeId,
  clusterId: 'test-cluster',
  listenHost: '127.0.0.1',
  listenPort: 0,
  beatIntervalMs: 50,
  peerTimeoutMs: 500,
  reconnectMinMs: 20,
  reconnectMaxMs: 200,
  peers: () => peers,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  onMessages: (from, messages) => transport.send(from, messages),
  onRequest: async (_kind, payload) => payload,
});
const port = await transport.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() !== 'close') return;
  rl.close();
  process.stdin.destroy();
  void transport.close().then(() => process.stdout.write('closed\n'));
});
