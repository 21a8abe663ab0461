/**
 * A cooperative-sticky librdkafka consumer whose subscribed topic is deleted under it, then
 * closed, against a real broker process: close() must return (the bound is the test's timeout),
 * having left the group. The broker's answers to such a consumer, request by request at the
 * versions librdkafka 2.0.2 sends, are the ones Apache Kafka 3.9.1 gave to the same requests.
 * And, as with Kafka, a deleted topic's committed offsets go with it.
 *
 * Why these clients and not Debian's librdkafka 2.0.2, which the other client tests use: 2.0.2
 * itself hangs here, against Apache Kafka 3.9.1 just as against Chronik. Once Metadata stops
 * listing the topic, 2.0.2 drops its partitions, and closing then leaves version-barrier ops in
 * the dropped partitions' fetch queues; they hold the partitions, which hold the broker handle,
 * so rd_kafka_destroy() waits for that broker thread forever. librdkafka fixed it in 2.1.0
 * ("a reference count issue was blocking the consumer from closing ... if the corresponding
 * topic is deleted", confluentinc/librdkafka#4187). So this runs 2.1.0, the first fixed
 * release, which takes the same path as 2.0.2 up to the leak, and a current one; both come from
 * PyPI's confluent-kafka wheels, which bundle their librdkafka.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { confluentKafkaPython } from '../clients/python-venv.js';
import { startDeletionWatcher, type DeletionWatcher } from '../clients/python-driver.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { eventually } from '../helpers/kafka-load.js';
import { RawKafkaClient, type RawBody } from '../helpers/raw-kafka-client.js';

/** confluent-kafka releases and the librdkafka each bundles. */
const CLIENTS = [
  { release: '2.1.0', librdkafka: '2.1.0' },
  { release: '2.16.1', librdkafka: '2.16.0' },
];

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
const pythons = new Map<string, string>();
const watchers: DeletionWatcher[] = [];

beforeAll(async () => {
  for (const c of CLIENTS) pythons.set(c.release, confluentKafkaPython(c.release));
  broker = await startBrokerProcess({ args: ['--config', 'group.initial.rebalance.delay.ms=0'] });
  kafka = new Kafka({ clientId: 'deleted-topic', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
}, 600_000);

afterEach(async (ctx) => {
  for (const w of watchers.splice(0)) {
    if (ctx.task.result?.state === 'fail') console.log(`consumer stderr:\n${w.stderr()}\nevents: ${JSON.stringify(w.events)}`);
    await w.kill();
  }
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

describe.each(CLIENTS)('librdkafka $librdkafka (confluent-kafka $release)', ({ release }) => {
  it('closes a cooperative-sticky consumer after its topic was deleted, and leaves the group', async () => {
    const slug = release.replaceAll('.', '-');
    const topic = `deleted-${slug}`;
    const group = `g-deleted-${slug}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `v${p}` })) });
    await producer.disconnect();

    // A short propagation allowance makes current clients drop the partitions within a second
    // of Metadata losing the topic, as 2.0.x and 2.1 do at once.
    const w = startDeletionWatcher(pythons.get(release)!, { bootstrap: broker.bootstrap, topic, group, propagation_ms: 1000 });
    watchers.push(w);
    await w.until('all three partitions are assigned', (e) => e.event === 'assigned' && e.partitions.length === 3);
    await w.until('one record of each partition is read', () => new Set(w.events.flatMap((e) => (e.event === 'message' ? [e.partition] : []))).size === 3);

    await admin.deleteTopics({ topics: [topic] });
    await w.until('the client drops the deleted topic from its metadata', (e) => e.event === 'topic-gone');

    expect(await w.close()).toBe(0);
    expect(w.events.map((e) => e.event)).toContain('closed');
    // The close left the group (LeaveGroup), so nothing waits out a session timeout.
    const described = await admin.describeGroups([group]);
    expect(described.groups[0]).toMatchObject({ groupId: group, state: 'Empty', members: [] });
  }, 120_000);
});

describe('committed offsets of a deleted topic', () => {
  it('are deleted with it, stay deleted across a restart, and a topic created again under its name starts without them', async () => {
    const topic = 'offsets-of-deleted';
    const group = 'g-offsets-of-deleted';
    // The wire itself: kafkajs refuses to ask for the offsets of a topic Metadata does not list.
    const wire = async <T>(fn: (w: RawKafkaClient) => Promise<T>): Promise<T> => {
      const w = await RawKafkaClient.open(broker.kafkaPort);
      try {
        return await fn(w);
      } finally {
        w.close();
      }
    };
    const commit = (name: string, offsets: number[]): Promise<boolean> =>
      wire(async (w) => {
        const r = await w.call(8, 7, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [{ name, partitions: offsets.map((o, i) => ({ partitionIndex: i, committedOffset: o, committedLeaderEpoch: -1, committedMetadata: '' })) }],
        });
        return (r.topics[0].partitions as Array<{ errorCode: number }>).every((p) => p.errorCode === 0);
      });
    const committed = (name: string, partitions: number): Promise<number[]> =>
      wire(async (w) => {
        const r = await w.call(9, 7, { groupId: group, topics: [{ name, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }], requireStable: true });
        if (r.errorCode !== 0) throw new Error(`OffsetFetch: error ${r.errorCode}`);
        return (r.topics[0].partitions as Array<{ committedOffset: bigint | number }>).map((p) => Number(p.committedOffset));
      });
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: 'offsets-kept' }], waitForLeaders: true });
    // As clients do, find the coordinator first: the first such request creates __consumer_offsets.
    await eventually('the group has a coordinator', () => wire(async (w) => (await w.call(10, 2, { key: group, keyType: 0 })).errorCode === 0));
    await eventually('the offsets are committed', () => commit(topic, [5, 7]));
    // Another topic's offsets in the same group are not the deleted topic's business.
    expect(await commit('offsets-kept', [3])).toBe(true);
    expect(await committed(topic, 2)).toEqual([5, 7]);

    await admin.deleteTopics({ topics: [topic] });
    // The coordinator hears of the deletion from the metadata image, after DeleteTopics answered.
    await eventually('the offsets are gone', async () => (await committed(topic, 2)).every((o) => o === -1));

    await admin.disconnect();
    await broker.restart();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await eventually('the coordinator has loaded the group again', async () => (await committed('offsets-kept', 1)).length === 1);
    expect(await committed(topic, 2)).toEqual([-1, -1]);
    expect(await committed('offsets-kept', 1)).toEqual([3]);
  }, 120_000);
});

/** ConsumerProtocolSubscription v1: one topic, no user data, no owned partitions. */
function subscription(topic: string): Buffer {
  const t = Buffer.from(topic);
  const b = Buffer.alloc(2 + 4 + 2 + t.length + 4 + 4);
  let o = b.writeInt16BE(1, 0);
  o = b.writeInt32BE(1, o);
  o = b.writeInt16BE(t.length, o);
  o += t.copy(b, o);
  o = b.writeInt32BE(-1, o);
  b.writeInt32BE(0, o);
  return b;
}

/** ConsumerProtocolAssignment v1: these partitions of one topic, no user data. */
function assignment(topic: string, partitions: readonly number[]): Buffer {
  const t = Buffer.from(topic);
  const b = Buffer.alloc(2 + 4 + 2 + t.length + 4 + 4 * partitions.length + 4);
  let o = b.writeInt16BE(1, 0);
  o = b.writeInt32BE(1, o);
  o = b.writeInt16BE(t.length, o);
  o += t.copy(b, o);
  o = b.writeInt32BE(partitions.length, o);
  for (const p of partitions) o = b.writeInt32BE(p, o);
  b.writeInt32BE(-1, o);
  return b;
}

describe('the answers around a deletion', () => {
  it("are Kafka 3.9.1's for the requests a librdkafka 2.0.2 consumer sends", async () => {
    const T = 'deleted-wire';
    const G = 'g-deleted-wire';
    const w = await RawKafkaClient.open(broker.kafkaPort, 'rdkafka');
    try {
      const metadata = async () => {
        const t = (await w.call(3, 4, { topics: [{ name: T }], allowAutoTopicCreation: false })).topics[0];
        return { errorCode: t.errorCode as number, partitions: (t.partitions as Array<{ partitionIndex: number; errorCode: number }>).map((p) => [p.partitionIndex, p.errorCode]).sort() };
      };
      const codes = (r: RawBody): number[] => (r.topics as Array<{ partitions: Array<{ errorCode: number }> }>).flatMap((t) => t.partitions.map((p) => p.errorCode));
      await admin.createTopics({ topics: [{ topic: T, numPartitions: 3 }], waitForLeaders: true });
      await eventually('the group has a coordinator', async () => (await w.call(10, 2, { key: G, keyType: 0 })).errorCode === 0);
      const join = (memberId: string) =>
        w.call(11, 5, {
          groupId: G, sessionTimeoutMs: 10000, rebalanceTimeoutMs: 300000, memberId, groupInstanceId: null, protocolType: 'consumer',
          protocols: [{ name: 'cooperative-sticky', metadata: subscription(T) }],
        }, 60_000);
      const first = await join('');
      expect(first.errorCode).toBe(79); // MEMBER_ID_REQUIRED
      const joined = await join(first.memberId);
      const memberId = joined.memberId as string;
      expect(joined).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'cooperative-sticky', leader: memberId });
      const sync = (generationId: number, partitions: number[]) =>
        w.call(14, 3, { groupId: G, generationId, memberId, groupInstanceId: null, assignments: [{ memberId, assignment: assignment(T, partitions) }] }, 60_000);
      expect((await sync(1, [0, 1, 2])).errorCode).toBe(0);
      const commit = () =>
        w.call(8, 7, {
          groupId: G, generationIdOrMemberEpoch: 1, memberId, groupInstanceId: null,
          topics: [{ name: T, partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: '' })) }],
        });
      expect(codes(await commit())).toEqual([0, 0, 0]);
      const heartbeat = async () => (await w.call(12, 3, { groupId: G, generationId: 1, memberId, groupInstanceId: null })).errorCode as number;
      expect(await heartbeat()).toBe(0);

      await admin.deleteTopics({ topics: [T] });
      await eventually('Metadata no longer lists the topic', async () => (await metadata()).errorCode !== 0);
      // UNKNOWN_TOPIC_OR_PARTITION (3) with no partitions; the group is not disturbed.
      expect(await metadata()).toEqual({ errorCode: 3, partitions: [] });
      expect(await heartbeat()).toBe(0);
      const fetched = await w.call(1, 11, {
        replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic: T, partitions: [0, 1, 2].map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 })) }],
      });
      expect(fetched.errorCode).toBe(0);
      expect(fetched.responses.flatMap((t: { partitions: Array<{ errorCode: number; highWatermark: bigint | number }> }) => t.partitions.map((p) => [p.errorCode, Number(p.highWatermark)]))).toEqual([[3, -1], [3, -1], [3, -1]]);
      const listed = await w.call(2, 2, { replicaId: -1, isolationLevel: 0, topics: [{ name: T, partitions: [0, 1, 2].map((p) => ({ partitionIndex: p, timestamp: -2 })) }] });
      expect(listed.topics.flatMap((t: { partitions: Array<{ errorCode: number; offset: bigint | number }> }) => t.partitions.map((p) => [p.errorCode, Number(p.offset)]))).toEqual([[3, -1], [3, -1], [3, -1]]);
      const offsetFetch = async () => {
        const r = await w.call(9, 7, { groupId: G, topics: [{ name: T, partitionIndexes: [0, 1, 2] }], requireStable: true });
        return [r.errorCode, ...r.topics.flatMap((t: { partitions: Array<{ errorCode: number; committedOffset: bigint | number }> }) => t.partitions.map((p) => [p.errorCode, Number(p.committedOffset)]))];
      };
      await eventually('the committed offsets are gone', async () => JSON.stringify(await offsetFetch()) === JSON.stringify([0, [0, -1], [0, -1], [0, -1]]));
      // The commit of a revoke: UNKNOWN_TOPIC_OR_PARTITION per partition.
      expect(codes(await commit())).toEqual([3, 3, 3]);
      const rejoined = await join(memberId);
      expect(rejoined).toMatchObject({ errorCode: 0, generationId: 2, protocolName: 'cooperative-sticky' });
      expect((await sync(2, [])).errorCode).toBe(0);
      expect((await w.call(13, 1, { groupId: G, memberId })).errorCode).toBe(0);
      const group = (await w.call(15, 5, { groups: [G], includeAuthorizedOperations: false })).groups[0];
      expect(group).toMatchObject({ errorCode: 0, groupState: 'Empty', members: [] });
    } finally {
      w.close();
    }
  }, 120_000);
});
