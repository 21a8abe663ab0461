/**
 * Partition replica moves: the pure step planner, and the driver moving a real replicated
 * partition (files, host loops, an in-memory network) from brokers 0,1,2 to 1,2,3 while acks=all
 * produces go on, with the leaving broker leading at first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { openReplica } from '../../../src/replication/open-replica.js';
import type { RaftPartition } from '../../../src/replication/raft-partition.js';
import { planMembershipStep, ReassignmentDriver, type CompletedReassignment, type MembershipView } from '../../../src/cluster/reassignment-driver.js';
import type { PartitionImage } from '../../../src/cluster/metadata-state.js';
import { RaftNet } from '../../helpers/raft-net.js';
import { committedValues } from '../../helpers/partition-values.js';

function view(over: Partial<MembershipView> & Pick<MembershipView, 'conf' | 'target'>): MembershipView {
  return { self: 1, inProgress: true, caughtUp: () => true, ...over };
}

describe('planMembershipStep', () => {
  it('adds the new replica as a learner, promotes it once caught up, then removes the old one', () => {
    const target = [2, 3, 4];
    expect(planMembershipStep(view({ conf: { voters: [1, 2, 3], learners: [] }, target, self: 2 }))).toEqual({ kind: 'add-learner', node: 4 });
    const learning = { voters: [1, 2, 3], learners: [4] };
    expect(planMembershipStep(view({ conf: learning, target, self: 2, caughtUp: (id) => id !== 4 }))).toMatchObject({ kind: 'wait' });
    expect(planMembershipStep(view({ conf: learning, target, self: 2 }))).toEqual({ kind: 'promote', node: 4 });
    expect(planMembershipStep(view({ conf: { voters: [1, 2, 3, 4], learners: [] }, target, self: 2 }))).toEqual({ kind: 'remove', node: 1 });
    expect(planMembershipStep(view({ conf: { voters: [2, 3, 4], learners: [] }, target, self: 2 }))).toEqual({ kind: 'complete' });
    expect(planMembershipStep(view({ conf: { voters: [2, 3, 4], learners: [] }, target, self: 2, inProgress: false }))).toEqual({ kind: 'none' });
  });

  it('never removes a voter while a target voter is behind, and a leaving leader hands over first', () => {
    const conf = { voters: [1, 2, 3, 4], learners: [] };
    expect(planMembershipStep(view({ conf, target: [2, 3, 4], self: 1, caughtUp: (id) => id !== 3 }))).toMatchObject({ kind: 'wait' });
    expect(planMembershipStep(view({ conf, target: [4, 2, 3], self: 1 }))).toEqual({ kind: 'transfer', to: 4 });
  });

  it('unwinds a cancelled move: a stray learner goes, a stray voter goes once the target votes again', () => {
    expect(planMembershipStep(view({ conf: { voters: [1, 2, 3], learners: [4] }, target: [1, 2, 3], inProgress: false }))).toEqual({ kind: 'remove', node: 4 });
    // The old replica was already removed: it comes back before the replacement leaves.
    expect(planMembershipStep(view({ conf: { voters: [2, 3, 4], learners: [] }, target: [1, 2, 3], self: 2 }))).toEqual({ kind: 'add-learner', node: 1 });
    expect(planMembershipStep(view({ conf: { voters: [1, 2, 3, 4], learners: [] }, target: [1, 2, 3], self: 2 }))).toEqual({ kind: 'remove', node: 4 });
  });
});

const logConfig: LogConfig = {
  segmentBytes: 64 * 1024,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

let net: RaftNet<RaftPartition> | null = null;
const drivers: ReassignmentDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) d.stop();
  await net?.close();
  net = null;
});

describe('ReassignmentDriver on a real partition', () => {
  it('moves t-0 from brokers 0,1,2 to 1,2,3 under acks=all produce, the leaving leader handing over, then completes', async () => {
    net = new RaftNet<RaftPartition>({
      open: ({ id, host, logs, journal }) =>
        openReplica({
          host,
          logManager: logs,
          journal,
          topic: 't',
          partition: 0,
          group: 7,
          nodeId: id,
          // Broker 3 joins by the move: it starts with no configuration and learns it.
          voters: id === 3 ? [] : [0, 1, 2],
          logConfig,
          limits: () => ({ maxMessageBytes: 1 << 20, timestampType: 'CreateTime', timestampDifferenceMaxMs: Infinity }),
          minInsyncReplicas: () => 1,
          replicaLagTimeMaxMs: 10_000,
          timing: { electionTicks: 10, heartbeatTicks: 1 },
          logger: silentLogger(),
          campaign: id === 0,
        }),
      close: (p) => p.close(),
    });
    for (const id of [0, 1, 2]) await net.start(id);
    const leaderOf = (): RaftPartition | undefined => net?.running().find((b) => b.app.isLeader())?.app;
    // The leaving broker leads, so the move must hand leadership over before removing it.
    await net.until(() => leaderOf() !== undefined, 'a leader');
    const first = leaderOf() as RaftPartition;
    if (first.node.id !== 1) {
      first.node.transferLeadership(1);
      net.brokers.get(first.node.id - 1)?.host.wake(7);
    }
    await net.until(() => leaderOf()?.node.id === 1, 'broker 0 leading');

    const start: PartitionImage = { replicas: [0, 1, 2], leader: 0, leaderEpoch: 1, isr: [0, 1, 2], addingReplicas: [], removingReplicas: [] };
    let image: PartitionImage = start;
    const completed: CompletedReassignment[] = [];
    const startDriver = (id: number): void => {
      const b = net?.brokers.get(id);
      if (!b) throw new Error(`no broker ${id}`);
      const d = new ReassignmentDriver({
        nodeId: id,
        replicas: () => (b.up ? [b.app] : []),
        partitionOf: () => ({ topicId: 'tid', image }),
        wake: (g) => b.host.wake(g),
        complete: async (c) => {
          completed.push(c);
          image = { ...image, replicas: [1, 2, 3], addingReplicas: [], removingReplicas: [] };
        },
        logger: silentLogger(),
        intervalMs: 20,
      });
      d.start();
      drivers.push(d);
    };
    for (const id of [0, 1, 2]) startDriver(id);

    let produced = 0;
    let attempts = 0;
    const acked: string[] = [];
    let producing = true;
    const load = (async () => {
      while (producing) {
        const l = leaderOf();
        if (!l) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        try {
          await l.append(buildRecordBatch({ records: [{ value: `v${attempts++}`, timestamp: 1_700_000_000_000 }] }), -1);
          acked.push(`v${attempts - 1}`);
          produced++;
        } catch {
          // NOT_LEADER_OR_FOLLOWER while leadership moves: the next turn finds the new leader.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    })();
    await net.until(() => produced >= 30, '30 records before the move');

    await net.start(3);
    startDriver(3);
    image = { ...start, replicas: [1, 2, 3, 0], addingReplicas: [3], removingReplicas: [0] };
    await net.until(() => completed.length > 0, 'the move to complete', 30_000);
    producing = false;
    await load;

    expect(completed[0]).toEqual({ topic: 't', topicId: 'tid', partition: 0, replicas: [1, 2, 3] });
    const leader = leaderOf() as RaftPartition;
    expect(leader.node.id).not.toBe(1);
    expect(leader.node.conf).toEqual({ voters: [2, 3, 4], learners: [] });
    // Every acknowledged record is in the log, in order (a send that failed while leadership
    // moved may have landed too), and the new replica holds the same.
    const log = await committedValues(leader);
    expect(log.filter((v) => acked.includes(v))).toEqual(acked);
    const newcomer = net.brokers.get(3)?.app as RaftPartition;
    // A follower learns the high watermark from the leader's next message, which may come a
    // moment after it applied the last entry.
    await net.until(() => newcomer.applied === leader.applied && newcomer.highWatermark() === leader.highWatermark(), 'broker 3 caught up');
  });
});
