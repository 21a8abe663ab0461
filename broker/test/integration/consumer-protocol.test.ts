/**
 * The KIP-848 consumer group protocol on a replicated cluster of real broker processes, with the
 * Java client from Maven Central (group.protocol=consumer): members join and leave and the
 * server-side assignor rebalances them, they commit, and the group goes on, with its committed
 * offsets, after kill -9 of its coordinator's broker. Classic groups work beside consumer groups,
 * and a group with members of another protocol type refuses a consumer-protocol member as Kafka
 * does (online migration of classic consumer groups: group-migration.test.ts). Bad heartbeats get
 * Kafka's error codes and leave every broker serving.
 */
import { connect } from 'node:net';
import { type Admin, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithJava, prepareJavaClient, startJavaMember, type JavaClient, type JavaMember } from '../clients/java-driver.js';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { eventually, kafkaOf } from '../helpers/kafka-load.js';
import { explainMembers, groupCoordinator, liveBootstrap, produceValues, range, sorted, untilMembers, valuesOf } from '../helpers/java-group.js';
import { RawKafkaClient, type RawBody } from '../helpers/raw-kafka-client.js';

let java: JavaClient;
let cluster: ProcessCluster;
let kafka: Kafka;
let admin: Admin;
const members: JavaMember[] = [];

const live = (): string => liveBootstrap(cluster);

function member(name: string, topic: string, group: string, protocol: 'consumer' | 'classic' = 'consumer', assignor?: 'uniform' | 'range'): JavaMember {
  const m = startJavaMember(java, { name, bootstrap: live(), topic, group, protocol, ...(assignor ? { assignor } : {}) });
  members.push(m);
  return m;
}

function rawTo(nodeId: number): Promise<RawKafkaClient> {
  return RawKafkaClient.open(cluster.member(nodeId).process.kafkaPort);
}

async function withRaw<T>(nodeId: number, f: (c: RawKafkaClient) => Promise<T>): Promise<T> {
  const c = await rawTo(nodeId);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

const coordinatorOf = (group: string): Promise<number> => groupCoordinator(cluster, group);
const produce = (topic: string, partitions: number, from: number, count: number): Promise<void> => produceValues(cluster, topic, partitions, from, count);

/** The group's committed offsets as kafkajs's admin reads them (OffsetFetch without a member). */
async function committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
  const a = kafkaOf(cluster).admin();
  await a.connect();
  try {
    const [t] = await a.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await a.disconnect();
  }
}


const explain = (ms: readonly JavaMember[]): string => explainMembers(ms, 10);
const until = (what: string, ms: readonly JavaMember[], cond: () => boolean | Promise<boolean>, timeoutMs = 180_000): Promise<void> => untilMembers(what, ms, cond, timeoutMs, 10);

beforeAll(async () => {
  java = prepareJavaClient();
  cluster = await startCluster({
    brokers: 3,
    args: [
      '--config', 'offsets.topic.num.partitions=3',
      '--config', 'group.initial.rebalance.delay.ms=0',
      '--config', 'group.consumer.heartbeat.interval.ms=500',
      '--config', 'group.consumer.session.timeout.ms=10000',
    ],
  });
  kafka = kafkaOf(cluster);
  admin = kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill()));
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

describe('the consumer group protocol (KIP-848) with the Java client', () => {
  it('rebalances as members join and leave, commits, and goes on with its offsets after kill -9 of the coordinator', async () => {
    const topic = 'kip848';
    const group = 'kip848-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] });
    await produce(topic, 6, 0, 60);

    const a = member('a', topic, group);
    await until('a owns all six partitions and read the first 60', [a], () => sorted(a.assignment()).join() === range(6).join() && valuesOf([a]).size >= 60);
    const first = await describeWithJava(java, live(), group);
    expect(first).toMatchObject({ state: 'Stable', type: 'Consumer', assignor: 'uniform' });

    const b = member('b', topic, group);
    await until('a and b own three partitions each', [a, b], () => {
      const [pa, pb] = [a.assignment(), b.assignment()];
      return pa.length === 3 && pb.length === 3 && sorted([...pa, ...pb]).join() === range(6).join();
    });
    await produce(topic, 6, 60, 60);
    await until('a and b read all 120', [a, b], () => valuesOf([a, b]).size === 120);
    // What they read is committed: 20 records per partition.
    await until('the offsets of 120 committed', [a, b], async () => [...(await committedOffsets(group, topic)).values()].filter((o) => o === 20).length === 6);
    const described = await describeWithJava(java, live(), group);
    if (!('state' in described)) throw new Error(`describe failed: ${described.error} ${described.message}`);
    expect(described.state).toBe('Stable');
    expect(sorted(described.members.flatMap((m) => m.partitions))).toEqual(range(6));

    // kill -9 of the coordinator's broker: a new leader of the group's __consumer_offsets
    // partition takes the group over from the replicated log.
    const coordinator = await coordinatorOf(group);
    const seenBefore = new Map(members.map((m) => [m, m.events.length]));
    const killedAt = Date.now();
    await cluster.kill(coordinator);
    expect(await coordinatorOf(group)).not.toBe(coordinator);
    const kept = await committedOffsets(group, topic);
    expect(sorted([...kept.values()])).toEqual(Array(6).fill(20));
    await produce(topic, 6, 120, 60);
    await until('a and b read all 180 after the failover', [a, b], () => valuesOf([a, b]).size === 180);
    console.log(`the group read the records produced after kill -9 of its coordinator (broker ${coordinator}) ${Date.now() - killedAt} ms after the kill`);
    await until('a and b own three partitions each again', [a, b], () => a.assignment().length === 3 && b.assignment().length === 3);
    // The new coordinator took the members over from __consumer_offsets: none was fenced (which
    // would have taken its partitions away, an empty assignment) on the way.
    const emptied = [a, b].flatMap((m) => m.events.slice(seenBefore.get(m)).filter((e) => e.event === 'assignment' && e.partitions.length === 0));
    expect(emptied).toEqual([]);
    // Nothing committed before the kill is read again: the members resumed from the kept offsets.
    const reread = [a, b].flatMap((m) => m.events.slice(seenBefore.get(m)).filter((e) => e.event === 'message' && e.offset < 20));
    expect(reread).toEqual([]);

    // b leaves (its consumer closes): a takes everything.
    await b.close();
    expect(b.exitCode()).toBe(0);
    await until('a owns all six again', [a], () => a.assignment().length === 6);
    await produce(topic, 6, 180, 12);
    await until('a reads the last 12', [a], () => valuesOf([a, b]).size === 192);
    await until('every offset committed', [a], async () => [...(await committedOffsets(group, topic)).values()].every((o) => o === 32));
    await a.close();
    expect(a.exitCode()).toBe(0);
    expect(a.events.filter((e) => e.event === 'error')).toEqual([]);
    // The Java client's fetch race on a fenced member (see GroupMember.java) is counted, not failed.
    const raced = [a, b].flatMap((m) => m.events.filter((e) => e.event === 'client-error'));
    console.log(`Java client IllegalStateExceptions from poll after the failover: ${raced.length}`);
    await cluster.start(coordinator);
  }, 600_000);

  it('the range assignor gives each member a contiguous range when they ask for it', async () => {
    const topic = 'kip848-range';
    const group = 'kip848-range-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }] });
    const c = member('c', topic, group, 'consumer', 'range');
    const d = member('d', topic, group, 'consumer', 'range');
    await until('c and d own two partitions each', [c, d], () => c.assignment().length === 2 && d.assignment().length === 2);
    const ranges = [c.assignment().join(), d.assignment().join()].sort();
    expect(ranges).toEqual(['0,1', '2,3']);
    const described = await describeWithJava(java, live(), group);
    expect(described).toMatchObject({ state: 'Stable', assignor: 'range' });
    await Promise.all([c.close(), d.close()]);
  }, 400_000);

  it('classic groups work beside consumer groups; a group with members of another protocol type refuses a consumer member; an empty one converts with its offsets', async () => {
    const topic = 'kip848-mixed';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }] });
    await produce(topic, 2, 0, 10);

    // A classic group (kafkajs), consuming and committing.
    const classic = kafka.consumer({ groupId: 'mixed-classic', maxWaitTimeInMs: 200 });
    const readClassic: string[] = [];
    await classic.connect();
    await classic.subscribe({ topic, fromBeginning: true });
    await classic.run({ eachMessage: async ({ message }) => void readClassic.push(message.value?.toString() ?? '') });
    await eventually('kafkajs read 10', () => readClassic.length >= 10, 60_000);

    // A Java consumer-protocol member cannot join a group whose classic members use another
    // protocol type than "consumer" (no online upgrade possible; group-migration.test.ts has the
    // upgrade of a classic consumer group).
    const connectCoordinator = await coordinatorOf('mixed-connect');
    const connectMember = await withRaw(connectCoordinator, async (c) => {
      const body = { groupId: 'mixed-connect', sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 10_000, groupInstanceId: null, protocolType: 'connect', protocols: [{ name: 'default', metadata: Buffer.from('x') }] };
      const first = await c.call(11, 5, { ...body, memberId: '' });
      expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      const joined = await c.call(11, 5, { ...body, memberId: first.memberId });
      expect(joined.errorCode).toBe(0);
      const synced = await c.call(14, 3, { groupId: 'mixed-connect', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, assignments: [{ memberId: joined.memberId, assignment: Buffer.from('y') }] });
      expect(synced.errorCode).toBe(0);
      return joined.memberId as string;
    });
    const intruder = member('intruder', topic, 'mixed-connect');
    await until('the intruder is refused', [intruder], () => intruder.exited());
    expect(intruder.events.find((e) => e.event === 'error')).toMatchObject({ error: 'GroupIdNotFoundException' });
    expect(intruder.exitCode()).toBe(3);
    await withRaw(connectCoordinator, (c) => c.call(13, 3, { groupId: 'mixed-connect', members: [{ memberId: connectMember, groupInstanceId: null }] }));

    // A consumer group beside it, and a classic JoinGroup to that group refused.
    const modern = member('modern', topic, 'mixed-modern');
    await until('the consumer group reads 10', [modern], () => valuesOf([modern]).size === 10);
    const coordinator = await coordinatorOf('mixed-modern');
    const join = await withRaw(coordinator, (c) =>
      c.call(11, 5, {
        groupId: 'mixed-modern', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null,
        protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      }),
    );
    expect(join.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const listed = await withRaw(coordinator, (c) => c.call(16, 5, { statesFilter: [], typesFilter: ['consumer'] }));
    expect((listed.groups as RawBody[]).map((g) => g.groupId)).toContain('mixed-modern');
    expect((listed.groups as RawBody[]).every((g) => g.groupType === 'consumer')).toBe(true);
    await modern.close();

    // The classic group, once empty, becomes a consumer group and keeps its committed offsets:
    // the Java member starts where kafkajs stopped.
    await eventually('kafkajs committed 10', async () => [...(await committedOffsets('mixed-classic', topic)).values()].reduce((s, o) => s + Math.max(o, 0), 0) === 10, 60_000);
    await classic.disconnect();
    await produce(topic, 2, 10, 4);
    const convert = member('convert', topic, 'mixed-classic');
    await until('the converted group reads the 4 new records', [convert], () => valuesOf([convert]).size === 4);
    expect(sorted(convert.messages().map((m) => Number(m.value.slice(1))))).toEqual([10, 11, 12, 13]);
    const described = await describeWithJava(java, live(), 'mixed-classic');
    expect(described).toMatchObject({ type: 'Consumer' });
    await convert.close();

    // And a Java classic-protocol member still works.
    const old = member('old', topic, 'mixed-java-classic', 'classic');
    await until('the Java classic member reads all 14', [old], () => valuesOf([old]).size === 14);
    expect((await describeWithJava(java, live(), 'mixed-java-classic')) as RawBody).toMatchObject({ type: 'Classic' });
    await old.close();
  }, 600_000);

  it('bad heartbeats and describes get Kafka error codes, and every broker keeps serving', async () => {
    const topic = 'kip848-bad';
    const group = 'kip848-bad-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }] });
    const coordinator = await coordinatorOf(group);
    const other = cluster.members.find((m) => m.nodeId !== coordinator && !m.process.exited)?.nodeId as number;
    const join = { groupId: group, memberId: 'm-1', memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: [topic], topicPartitions: [] };
    const hb = (body: RawBody, node = coordinator, version = 1) => withRaw(node, (c) => c.call(68, version, body));
    const code = async (body: RawBody, node = coordinator, version = 1) => (await hb(body, node, version)).errorCode as number;

    expect(await code({ ...join, groupId: '' })).toBe(ErrorCode.INVALID_GROUP_ID);
    expect(await code({ ...join, memberId: '' })).toBe(ErrorCode.INVALID_REQUEST);
    expect(await code({ ...join, rebalanceTimeoutMs: -1 })).toBe(ErrorCode.INVALID_REQUEST);
    expect(await code({ ...join, subscribedTopicNames: null })).toBe(ErrorCode.INVALID_REQUEST);
    expect(await code({ ...join, topicPartitions: null })).toBe(ErrorCode.INVALID_REQUEST);
    expect(await code({ ...join, memberEpoch: -5 })).toBe(ErrorCode.INVALID_REQUEST);
    expect(await code({ ...join, serverAssignor: 'cooperative-sticky' })).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
    expect(await code({ ...join, subscribedTopicNames: null, subscribedTopicRegex: '([a-z' })).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
    expect(await code({ ...join, memberId: 'ghost', memberEpoch: 7, topicPartitions: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await code(join, other)).toBe(ErrorCode.NOT_COORDINATOR);

    const joined = await hb(join);
    expect(joined).toMatchObject({ errorCode: 0, memberId: 'm-1', heartbeatIntervalMs: 500 });
    const epoch = joined.memberEpoch as number;
    expect(sorted(((joined.assignment as RawBody).topicPartitions as RawBody[]).flatMap((t) => t.partitions as number[]))).toEqual([0, 1]);
    expect(await code({ groupId: group, memberId: 'm-1', memberEpoch: epoch + 3 })).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    // v0: the coordinator names the member.
    const v0 = await hb({ ...join, memberId: '' }, coordinator, 0);
    expect(v0.errorCode).toBe(0);
    expect(v0.memberId).toMatch(/^[0-9a-f-]{36}$/);

    // OffsetCommit v9 with an old member epoch: STALE_MEMBER_EPOCH; an unknown member: UNKNOWN_MEMBER_ID.
    const commit = (memberId: string, epochOf: number) =>
      withRaw(coordinator, (c) =>
        c.call(8, 9, { groupId: group, generationIdOrMemberEpoch: epochOf, memberId, groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] }),
      );
    const current = await hb({ groupId: group, memberId: 'm-1', memberEpoch: epoch, topicPartitions: [] });
    const now = current.memberEpoch as number;
    const partitionCode = (r: RawBody) => (((r.topics as RawBody[])[0] as RawBody).partitions as RawBody[])[0]?.errorCode as number;
    expect(partitionCode(await commit('m-1', now))).toBe(0);
    if (now > 1) expect(partitionCode(await commit('m-1', now - 1))).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(partitionCode(await commit('nobody', now))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    const describe = (groupIds: string[], node = coordinator) => withRaw(node, (c) => c.call(69, 1, { groupIds, includeAuthorizedOperations: false }));
    const d = await describe([group, '']);
    const groups = d.groups as RawBody[];
    expect(groups.map((g) => g.errorCode)).toEqual([0, ErrorCode.INVALID_GROUP_ID]);
    const unknown = await describe(['no-such-group'], await coordinatorOf('no-such-group'));
    expect((unknown.groups as RawBody[])[0]?.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect((groups[0] as RawBody).members.map((m: RawBody) => m.memberId).sort()).toEqual(['m-1', v0.memberId].sort());
    expect(((await describe([group], other)).groups as RawBody[])[0]?.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    // A classic group with a member: not a consumer group for ConsumerGroupDescribe, and closed
    // to consumer-protocol members.
    const classicGroup = 'kip848-bad-classic';
    const classicNode = await coordinatorOf(classicGroup);
    const classicJoin = await withRaw(classicNode, (c) =>
      c.call(11, 3, { groupId: classicGroup, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] }),
    );
    expect(classicJoin.errorCode).toBe(0);
    expect(((await describe([classicGroup], classicNode)).groups as RawBody[])[0]?.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(await code({ ...join, groupId: classicGroup }, classicNode)).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    await withRaw(classicNode, (c) => c.call(13, 0, { groupId: classicGroup, memberId: classicJoin.memberId }));

    // Leaving: -1 for m-1; the v0 member too. Then the group is Empty.
    expect(await code({ groupId: group, memberId: 'm-1', memberEpoch: -1 })).toBe(0);
    expect(await code({ groupId: group, memberId: v0.memberId as string, memberEpoch: -1 })).toBe(0);
    expect(((await describe([group])).groups as RawBody[])[0]?.groupState).toBe('Empty');

    // Truncated and garbage bodies for API 68 and 69: the connection may close, the broker stays.
    for (const apiKey of [68, 69]) await sendGarbage(cluster.member(coordinator).process.kafkaPort, apiKey);
    for (const m of cluster.members.filter((x) => !x.process.exited)) {
      const versions = await withRaw(m.nodeId, (c) => c.call(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' }));
      const keys = (versions.apiKeys as RawBody[]).map((k) => k.apiKey as number);
      expect(keys).toEqual(expect.arrayContaining([68, 69]));
    }
  }, 400_000);
});

/** A request frame for `apiKey` v1 whose body is cut short, then one of random bytes. */
async function sendGarbage(port: number, apiKey: number): Promise<void> {
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(1, 2);
  header.writeInt32BE(77, 4);
  header.writeInt16BE(-1, 8);
  // Flexible header: client id (nullable string above), then an empty tagged-field section.
  const bodies = [Buffer.from([0x00, 0x05, 0x61]), Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + apiKey) & 0xff))];
  for (const body of bodies) {
    const payload = Buffer.concat([header, body]);
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write(frame));
      const done = () => {
        s.destroy();
        resolve();
      };
      s.on('data', done);
      s.on('close', done);
      s.on('error', done);
      s.setTimeout(5000, done);
    });
  }
}
