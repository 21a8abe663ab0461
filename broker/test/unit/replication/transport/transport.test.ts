/** The Raft transport over real sockets on 127.0.0.1. */
import { afterEach, describe, expect, it } from 'vitest';
import { append, closeAll, connect, metric, startNode, turn, until } from './harness.js';

afterEach(closeAll);

describe('raft transport: delivery', () => {
  it('two transports exchange messages in order, both ways', async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    connect(a, b);
    await until(() => a.transport.peerUp(2) && b.transport.peerUp(1), 'both streams up');
    for (let i = 1; i <= 500; i++) {
      expect(a.transport.send(2, [append(i % 7, i)])).toBe(true);
      expect(b.transport.send(1, [append(i % 5, i, 16, 2, 1)])).toBe(true);
      if (i % 50 === 0) await turn();
    }
    await until(() => b.received(1).length === 500 && a.received(2).length === 500, 'all messages delivered');
    expect(b.received(1).map((m) => m.entries[0]!.index)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(a.received(2).map((m) => m.entries[0]!.index)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(a.peerStates).toEqual([{ node: 2, up: true }]);
    expect(await metric(a, 'chronik_transport_peer_up', { peer: '2' })).toBe(1);
    expect(await metric(a, 'chronik_transport_bytes_sent_total', { peer: '2' })).toBeGreaterThan(500 * 16);
    expect(await metric(b, 'chronik_transport_bytes_received_total', { peer: '1' })).toBeGreaterThan(500 * 16);
  });
});
