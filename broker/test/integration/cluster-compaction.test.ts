/**
 * Compaction of replicated partitions with three real broker processes on loopback: a compacted
 * topic under idempotent acks=all load whose follower was down while its leader compacted comes
 * back (killed with kill -9 while copying the snapshot's records, and again right after staging
 * them, then started for good) and every replica ends with the same records, each key at its
 * last value; __consumer_offsets (RF 3) is compacted on every replica and a new coordinator
 * loads the live offsets from it after the old one's broker is killed; and __transaction_state
 * (RF 3) after many transactions of one transactional id is compacted alike, and a new
 * coordinator serves that id's state (producer id, epoch, last outcome) and bumps it on the next
 * InitProducerId.
 *
 * Records are read from each broker's segment files, so what is compared is what each replica
 * stores, not what one leader serves.
 */
import path from 'node:path';
import { Kafka, logLevel, type Admin, type ITopicMetadata } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAndKillAt, startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { RawKafkaClient, type RawBody } from '../helpers/raw-kafka-client.js';
import { jsonField, sameEverywhere, storedRecordBytes, storedRecords } from '../helpers/stored-records.js';
import { decodeTxnKey, decodeTxnValue, type TxnValue } from '../../src/coordinator/txn-records.js';

const quiet = { logLevel: logLevel.NOTHING };

function kafkaOf(c: ProcessCluster): Kafka {
  const live = c.members.filter((m) => !m.process.exited).map((m) => m.process.bootstrap);
  return new Kafka({ clientId: 'compaction-test', brokers: live, ...quiet, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 1000 } });
}

async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function topicMetadata(admin: Admin, topic: string): Promise<ITopicMetadata> {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const t = md.topics.find((x) => x.name === topic);
  if (!t) throw new Error(`no metadata for ${topic}`);
  return t;
}

describe('compaction on a three-broker cluster', () => {
  let cluster: ProcessCluster;
  let admin: Admin;

  beforeAll(async () => {
    cluster = await startCluster({
      brokers: 3,
      args: [
        '--config', 'group.initial.rebalance.delay.ms=0',
        // Frequent retention passes (they compact the raft logs) and cleaner passes.
        '--config', 'log.retention.check.interval.ms=300',
        '--config', 'log.cleaner.backoff.ms=100',
        // A killed follower leaves the ISR soon: a leader compacts no further than its in-sync followers.
        '--config', 'replica.lag.time.max.ms=1500',
        '--config', 'offsets.topic.num.partitions=1',
        '--config', 'offsets.topic.segment.bytes=4096',
        '--config', 'transaction.state.log.num.partitions=1',
        '--config', 'transaction.state.log.segment.bytes=4096',
        // Replicas clean on their own: with Kafka's 0.5 one that cleaned a moment before the bound
        // moved may find too little dirty to clean again once writes stop, and keep superseded
        // records another replica dropped. Nearly any dirt makes every replica clean to the end.
        '--config', 'log.cleaner.min.cleanable.ratio=0.01',
      ],
    });
    admin = kafkaOf(cluster).admin();
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(cluster.logs().slice(-30_000));
    for (const m of cluster.members) await cluster.start(m.nodeId);
  });

  it('a compacted topic under load, a follower restarted after the leader compacted (and killed during the snapshot install): all replicas converge to the same records', async () => {
    const topic = 'changelog';
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: String(256 * 1024) },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          ],
        },
      ],
    });
    // Leadership settles on the preferred replica (a hand-back may follow the first election).
    await eventually('the preferred replica leading with a full ISR', async () => {
      const p = (await topicMetadata(admin, topic)).partitions[0]!;
      return p.leader === p.replicas[0] && p.isr.length === 3;
    });
    const leader = (await topicMetadata(admin, topic)).partitions[0]!.leader;
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    await cluster.kill(follower);

    const producer = kafkaOf(cluster).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const KEYS = 6000;
    const value = (round: number, k: number): string => `r${round}-k${k}-`.padEnd(300, 'x');
    let sendFailures = 0;
    // A send failing beyond the client's retries (a leader moving) is sent again: a key may then
    // be stored twice with the same value, which changes no key's last value.
    const round = async (r: number): Promise<void> => {
      for (let k = 0; k < KEYS; k += 500) {
        for (;;) {
          try {
            await producer.send({ topic, acks: -1, messages: Array.from({ length: 500 }, (_, j) => ({ key: `k${k + j}`, value: value(r, k + j) })) });
            break;
          } catch {
            sendFailures++;
            await new Promise((res) => setTimeout(res, 200));
          }
        }
      }
    };
    for (let r = 0; r < 4; r++) await round(r);
    const endAtKill = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
    const leaderDir = path.join(cluster.member(leader).process.dataDir, `${topic}-0`);
    await eventually('the leader compacted its raft log past what the follower has, and cleaned below it', () => {
      return jsonField(path.join(leaderDir, 'raft-snapshot.json'), 'offset') > endAtKill / 2 && jsonField(path.join(leaderDir, 'cleaner.checkpoint'), 'firstDirtyOffset') > endAtKill / 2;
    });
    expect(storedRecords(cluster.member(leader).process.dataDir, topic, 0).length).toBeLessThan(endAtKill);

    // Load goes on while the follower comes back.
    let loading = true;
    let loadRound = 4;
    const load = (async () => {
      while (loading) {
        await round(loadRound++);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    // Killed while it copies the snapshot's records, then right after it staged them (the
    // install moves them into the log next), then started for good.
    await startAndKillAt(cluster, follower, 'copying the records of a snapshot');
    await startAndKillAt(cluster, follower, 'staged the records of a snapshot');
    await cluster.start(follower);
    const logs = cluster.member(follower).process.logs();
    console.log(
      `follower killed while copying a snapshot's records, then after staging them; on the last start recovery ${logs.includes('finishing a snapshot install interrupted') ? 'finished the interrupted install' : 'found no install in progress'} and ${logs.split('staged the records of a snapshot').length - 1} more copies were needed`,
    );
    await eventually('the follower back in the ISR', async () => (await topicMetadata(admin, topic)).partitions[0]!.isr.includes(follower), 90_000);

    loading = false;
    await load;
    // A last round for every key: what each key must end with.
    const last = loadRound;
    await round(last);
    await producer.disconnect();

    let state: ReturnType<typeof sameEverywhere> = { same: false, records: [], counts: [] };
    await eventually('every replica holding the same records', () => (state = sameEverywhere(cluster, topic, 0)).same, 90_000);
    console.log(`changelog: ${Number((await admin.fetchTopicOffsets(topic))[0]!.high)} offsets written in ${last + 1} rounds (${sendFailures} sends retried), ${state.counts.join('/')} records stored per replica`);
    const latest = new Map<string, string | null>();
    const offsets = state.records.map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    for (const r of state.records) if (r.key !== null) latest.set(r.key, r.value);
    expect(latest.size).toBe(KEYS);
    for (let k = 0; k < KEYS; k++) expect(latest.get(`k${k}`)).toBe(value(last, k));
  }, 400_000);

  it('__consumer_offsets (RF 3) is compacted on every replica, and a new coordinator loads the live offsets', async () => {
    const topic = 'offsets-source';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }] });
    const group = 'compacted-group';
    const COMMITS = 600;
    // Plain OffsetCommits (generation -1, as an application managing its own offsets sends them)
    // to the group's coordinator, found again whenever it answers with an error.
    let client: RawKafkaClient | null = null;
    try {
      for (let i = 1; i <= COMMITS; ) {
        if (client === null) {
          const any = await RawKafkaClient.open(cluster.member(0).process.kafkaPort);
          const found = await any.call(10, 1, { key: group, keyType: 0 }).finally(() => any.close());
          if (found['errorCode'] !== 0) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          client = await RawKafkaClient.open(found['port'] as number);
        }
        const res = await client.call(8, 2, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          retentionTimeMs: -1,
          topics: [{ name: topic, partitions: [0, 1, 2, 3].map((p) => ({ partitionIndex: p, committedOffset: i * 10 + p, committedMetadata: '' })) }],
        });
        const codes = (res['topics'] as RawBody[]).flatMap((t) => (t['partitions'] as RawBody[]).map((p) => p['errorCode'] as number));
        if (codes.every((c) => c === 0)) i++;
        else {
          client.close();
          client = null;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      client?.close();
    }
    const offsetsTopic = '__consumer_offsets';
    let state: ReturnType<typeof sameEverywhere> = { same: false, records: [], counts: [] };
    await eventually('__consumer_offsets compacted and the same on every replica', () => {
      state = sameEverywhere(cluster, offsetsTopic, 0);
      return state.same && state.records.length < COMMITS;
    }, 90_000);
    console.log(`__consumer_offsets: ${COMMITS * 4} offset commits, ${state.counts.join('/')} records stored per replica`);
    const coordinator = (await topicMetadata(admin, offsetsTopic)).partitions[0]!.leader;
    await cluster.kill(coordinator);
    const other = new Kafka({ brokers: cluster.members.filter((m) => m.nodeId !== coordinator).map((m) => m.process.bootstrap), ...quiet, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } }).admin();
    await other.connect();
    try {
      await eventually('the new coordinator serving the last committed offsets', async () => {
        const got = await other.fetchOffsets({ groupId: group, topics: [topic] });
        const parts = got[0]!.partitions.sort((a, b) => a.partition - b.partition);
        return parts.every((p) => p.offset === String(COMMITS * 10 + p.partition));
      });
    } finally {
      await other.disconnect();
    }
  }, 300_000);

  it('__transaction_state (RF 3) is compacted on every replica after many transactions of one transactional id, and a new coordinator serves its state', async () => {
    const topic = 'txn-source';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const transactionalId = 'compacted-txn';
    const TXNS = 150;
    const committed: string[] = [];
    const producer = kafkaOf(cluster).producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < TXNS; i++) {
        const txn = await producer.transaction();
        await txn.send({ topic, messages: [{ key: 'k', value: `t${i}` }] });
        // Every tenth is aborted; the last one commits.
        if (i % 10 === 4) {
          await txn.abort();
        } else {
          await txn.commit();
          committed.push(`t${i}`);
        }
      }
    } finally {
      await producer.disconnect();
    }

    const stateTopic = '__transaction_state';
    const states = (dataDir: string): TxnValue[] =>
      storedRecordBytes(dataDir, stateTopic, 0)
        .filter((r) => r.key !== null && r.value !== null && decodeTxnKey(r.key) === transactionalId)
        .map((r) => decodeTxnValue(r.value!));
    // Every transaction wrote its id's state at least three times (ongoing, preparing, complete).
    let state: ReturnType<typeof sameEverywhere> = { same: false, records: [], counts: [] };
    // The last transaction completes after its EndTxn was answered (the markers go first).
    await eventually('__transaction_state compacted, the last transaction complete, the same on every replica', () => {
      state = sameEverywhere(cluster, stateTopic, 0);
      return state.same && state.records.length < TXNS && states(cluster.member(0).process.dataDir).at(-1)?.state === 'CompleteCommit';
    }, 90_000);
    const written = Number((await admin.fetchTopicOffsets(stateTopic))[0]!.high);
    expect(written).toBeGreaterThanOrEqual(3 * TXNS);
    console.log(`__transaction_state: ${TXNS} transactions of one transactional id, ${written} offsets written, ${state.counts.join('/')} records stored per replica`);
    const last = states(cluster.member(0).process.dataDir).at(-1)!;

    // What its coordinator says, asked by FindCoordinator first (NOT_COORDINATOR and
    // COORDINATOR_LOAD_IN_PROGRESS while a new one takes over).
    const describe = async (): Promise<RawBody> => {
      const live = cluster.members.find((m) => !m.process.exited)!;
      const any = await RawKafkaClient.open(live.process.kafkaPort);
      const found = ((await any.call(10, 4, { keyType: 1, coordinatorKeys: [transactionalId] }).finally(() => any.close()))['coordinators'] as RawBody[])[0]!;
      if (found['errorCode'] !== 0) throw new Error(`FindCoordinator: error ${found['errorCode']}`);
      const c = await RawKafkaClient.open(found['port'] as number);
      try {
        const d = ((await c.call(65, 0, { transactionalIds: [transactionalId] }))['transactionStates'] as RawBody[])[0]!;
        if (d['errorCode'] !== 0) throw new Error(`DescribeTransactions: error ${d['errorCode']}`);
        return { ...d, coordinator: found['nodeId'] };
      } finally {
        c.close();
      }
    };
    let before: RawBody = {};
    await eventually('the coordinator describing the transactional id', async () => {
      before = await describe();
      return true;
    });
    expect(before).toMatchObject({ transactionState: 'CompleteCommit', producerId: last.producerId, producerEpoch: last.producerEpoch });
    const coordinator = (await topicMetadata(admin, stateTopic)).partitions[0]!.leader;
    expect(before['coordinator']).toBe(coordinator);

    await cluster.kill(coordinator);
    let after: RawBody = {};
    await eventually('a new coordinator describing the transactional id', async () => {
      after = await describe();
      return after['coordinator'] !== coordinator;
    }, 90_000);
    expect(after).toMatchObject({ transactionState: 'CompleteCommit', producerId: last.producerId, producerEpoch: last.producerEpoch });

    // The id goes on from that state: the next producer gets the same producer id, one epoch up.
    const kafka = new Kafka({ brokers: cluster.members.filter((m) => !m.process.exited).map((m) => m.process.bootstrap), ...quiet, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const next = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await next.connect();
    try {
      const txn = await next.transaction();
      await txn.send({ topic, messages: [{ key: 'k', value: 'after-failover' }] });
      await txn.commit();
      committed.push('after-failover');
    } finally {
      await next.disconnect();
    }
    // EndTxn answers once PrepareCommit is durable; the markers, then CompleteCommit, follow.
    let bumped: RawBody = {};
    await eventually('the new epoch described, its transaction complete', async () => {
      bumped = await describe();
      return bumped['producerEpoch'] === last.producerEpoch + 1 && bumped['transactionState'] === 'CompleteCommit';
    });
    expect(bumped['producerId']).toBe(last.producerId);

    const consumer = kafka.consumer({ groupId: 'txn-compaction-reader', maxWaitTimeInMs: 200 });
    const read: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void read.push(message.value?.toString() ?? '') });
      await eventually('read_committed reading every committed record', () => read.length >= committed.length, 60_000);
    } finally {
      await consumer.disconnect();
    }
    expect(read).toEqual(committed);
  }, 300_000);
});
