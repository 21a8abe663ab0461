/**
 * A broker restarted after its replicas moved away and back again (a broker added, a
 * rebalance, that broker decommissioned) replays that history from its metadata log. It must
 * come back holding its replicas' data and catch up, every partition fully replicated again;
 * before, the replay closed and deleted such a replica and reopened it empty as one waiting to
 * be added, which never happened again, so it stayed out of the ISR for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/admin/client.js';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { checkNoLoss, eventually, kafkaOf, readAll, type Acked } from '../helpers/kafka-load.js';

const TOPIC = 'moved';
const PARTITIONS = 6;

describe('restart after replicas moved away and back', () => {
  let cluster: ProcessCluster;
  const clients: AdminClient[] = [];
  const admin = (address: string): AdminClient => {
    const c = new AdminClient({ address, token: null, deadlineMs: 20_000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3, args: ['--config', 'offsets.topic.num.partitions=2', '--config', 'group.initial.rebalance.delay.ms=0'] });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  it('every restarted broker catches up on every partition, nothing lost', async () => {
    const kafka = kafkaOf(cluster);
    const ka = kafka.admin();
    await ka.connect();
    await ka.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
    await ka.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const acked: Acked[] = [];
    const produce = async (n: number, tag: string): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const value = `${tag}-${i}`;
        const partition = i % PARTITIONS;
        const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition, value }] });
        acked.push({ partition, offset: Number(meta?.baseOffset), value });
      }
    };
    await produce(60, 'before');

    const added = await cluster.add();
    const c = admin(cluster.member(0).admin);
    await eventually('broker 3 active', async () => (await c.call('GetClusterStatus')).brokers.some((b) => b.brokerId === added.nodeId && b.state === 'BROKER_STATE_ACTIVE'), 60_000);
    await c.call('Rebalance', { maxConcurrentMoves: 6 });
    await eventually('the rebalance done', async () => (await c.call('GetRebalanceStatus')).done, 120_000);
    const spread = (await c.call('ListPartitions', {})).partitions.filter((p) => p.topic === TOPIC && p.replicas.includes(added.nodeId));
    expect(spread.length).toBeGreaterThan(0);
    await produce(30, 'spread');
    await c.call('DecommissionBroker', { brokerId: added.nodeId });
    await eventually('broker 3 decommissioned', async () => (await c.call('GetDecommissionStatus', { brokerId: added.nodeId })).done, 120_000);
    await cluster.kill(added.nodeId);
    // Every partition is on brokers 0, 1 and 2 again; the ones broker 3 held left one of them and came back.
    const back = (await c.call('ListPartitions', {})).partitions.filter((p) => p.topic === TOPIC);
    expect(back.every((p) => [...p.replicas].sort().join() === '0,1,2')).toBe(true);
    await produce(30, 'back');

    for (const id of [0, 1, 2]) {
      await cluster.kill(id);
      await cluster.start(id);
      const other = admin(cluster.member((id + 1) % 3).admin);
      await eventually(
        `every partition fully replicated after broker ${id} restarted`,
        async () => (await other.call('ListPartitions', { underReplicatedOnly: true })).partitions.length === 0 && (await other.call('GetClusterStatus')).brokers.find((b) => b.brokerId === id)?.laggingReplicaCount === 0,
        90_000,
      );
      await produce(12, `after-${id}`);
    }
    await producer.disconnect();
    checkNoLoss(acked, await readAll(kafkaOf(cluster), TOPIC, PARTITIONS, acked.length));
  }, 600_000);
});
