/** Linearizable reads with ReadIndex (thesis §6.4). */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/raft/types.js';
import { TestCluster, text } from './cluster.js';

const read = (s: string): Uint8Array => text(s);

describe('ReadIndex', () => {
  it('the leader answers with its commit index once a quorum acknowledges a heartbeat', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, 'a');
    const heartbeatsBefore = c.delivered.filter((m) => m.type === MessageType.Heartbeat).length;
    expect(c.raft(1).readIndex(read('r1'))).toBe(true);
    c.settle();
    const heartbeats = c.delivered.filter((m) => m.type === MessageType.Heartbeat).length;
    expect(heartbeats).toBeGreaterThan(heartbeatsBefore);
    expect(c.get(1).readStates).toEqual([{ index: c.raft(1).commitIndex, context: read('r1') }]);
  });

  it('a follower forwards the read to the leader and gets the leader commit index back', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.propose(1, 'a');
    c.heal();
    expect(c.raft(3).readIndex(read('r2'))).toBe(true);
    c.settle();
    expect(c.get(3).readStates).toEqual([{ index: c.raft(1).commitIndex, context: read('r2') }]);
  });

  it('a leader cut off from the majority cannot answer (it may already be deposed)', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(1);
    c.raft(1).readIndex(read('r3'));
    c.settle();
    c.tick(1, 3);
    expect(c.get(1).readStates).toEqual([]);
  });

  it('a new leader answers only after committing an entry of its own term', () => {
    const c = new TestCluster([1, 2, 3]);
    c.filter = (m) => m.type !== MessageType.AppendResponse;
    c.elect(1);
    c.raft(1).readIndex(read('r4'));
    c.settle();
    c.tick(1);
    expect(c.get(1).readStates).toEqual([]);
    c.filter = null;
    c.tick(1);
    c.tick(1);
    expect(c.get(1).readStates).toHaveLength(1);
    expect(c.get(1).readStates[0]?.index).toBe(c.raft(1).commitIndex);
  });

  it('a single-voter leader answers immediately', () => {
    const c = new TestCluster([1]);
    c.elect(1);
    c.raft(1).readIndex(read('r5'));
    c.settle();
    expect(c.get(1).readStates.map((r) => r.index)).toEqual([1]);
  });

  it('a follower that knows no leader refuses the read', () => {
    const c = new TestCluster([1, 2, 3]);
    expect(c.raft(2).readIndex(read('r6'))).toBe(false);
  });
});
