/**
 * Online migration between the classic and the consumer (KIP-848) group protocols on a
 * replicated cluster of three real broker processes, with the Java client from Maven Central: a
 * classic consumer (group.protocol=classic) reads a six-partition topic; a consumer-protocol
 * member joins the same group, which becomes a consumer group with the classic member still in
 * it; both get partitions, and nothing committed is read again. The coordinator's broker is
 * killed: the new coordinator reloads the mixed group from __consumer_offsets and both go on.
 * Then the consumer-protocol member leaves, the group is classic again, and the classic member
 * takes everything and keeps reading. The same with a cooperative (incremental) classic member,
 * which keeps the partitions it is not asked to give up, and with a kafkajs classic consumer.
 */
import { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithJava, prepareJavaClient, startJavaMember, type JavaClient, type JavaDescription, type JavaMember } from '../clients/java-driver.js';
import { startCluster, type ProcessCluster } from '../helpers/cluster-process.js';
import { eventually, kafkaOf } from '../helpers/kafka-load.js';
import { explainMembers, groupCoordinator, liveBootstrap, produceValues, range, sorted, untilMembers, valuesOf } from '../helpers/java-group.js';
import { RawKafkaClient, type RawBody } from '../helpers/raw-kafka-client.js';

let java: JavaClient;
let cluster: ProcessCluster;
let admin: Admin;
const members: JavaMember[] = [];

const live = (): string => liveBootstrap(cluster);

function member(name: string, topic: string, group: string, protocol: 'consumer' | 'classic', assignor?: 'cooperative-sticky'): JavaMember {
  const m = startJavaMember(java, { name, bootstrap: live(), topic, group, protocol, ...(assignor ? { assignor } : {}) });
  members.push(m);
  return m;
}

const coordinatorOf = (group: string): Promise<number> => groupCoordinator(cluster, group);
const produce = (topic: string, partitions: number, from: number, count: number): Promise<void> => produceValues(cluster, topic, partitions, from, count);

async function committedOffsets(group: string, topic: string): Promise<number[]> {
  const a = kafkaOf(cluster).admin();
  await a.connect();
  try {
    const [t] = await a.fetchOffsets({ groupId: group, topics: [topic] });
    return (t?.partitions ?? []).sort((x, y) => x.partition - y.partition).map((p) => Number(p.offset));
  } finally {
    await a.disconnect();
  }
}

/**
 * Fails when a record was read twice, with each member's non-message events (assignments,
 * commits, commit errors) and which member read each duplicate, so a failure says how.
 */
function expectNothingReadTwice(ms: readonly JavaMember[], from: ReadonlyMap<JavaMember, number> = new Map()): void {
  const twice = readTwice(ms, from);
  if (twice.length === 0) return;
  const who = ms.map((m) => `${m.name} read ${m.events.filter((e) => e.event === 'message' && twice.includes(`${e.partition}@${e.offset}`)).map((e) => (e.event === 'message' ? `${e.partition}@${e.offset}` : '')).join(' ')}`);
  expect.fail(`read twice: ${twice.join(' ')}\n${who.join('\n')}\n${explainMembers(ms, 40)}`);
}

/** Records (partition@offset) read more than once by the members, from event index `from` of each. */
function readTwice(ms: readonly JavaMember[], from: ReadonlyMap<JavaMember, number> = new Map()): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const m of ms) {
    for (const e of m.events.slice(from.get(m) ?? 0)) {
      if (e.event !== 'message') continue;
      const k = `${e.partition}@${e.offset}`;
      if (seen.has(k)) twice.push(k);
      seen.add(k);
    }
  }
  return twice;
}

const explain = (ms: readonly JavaMember[]): string => explainMembers(ms, 12);
const until = (what: string, ms: readonly JavaMember[], cond: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> => untilMembers(what, ms, cond, timeoutMs, 12);

/** Admin.describeConsumerGroups, polled (each is a JVM) until `ok`. */
async function describedUntil(what: string, group: string, ms: readonly JavaMember[], ok: (d: JavaDescription) => boolean): Promise<JavaDescription> {
  let last: JavaDescription | null = null;
  try {
    await eventually(what, async () => {
      last = await describeWithJava(java, live(), group);
      return ok(last);
    }, 120_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last described: ${JSON.stringify(last)}\n${explain(ms)}`);
  }
  return last as unknown as JavaDescription;
}

beforeAll(async () => {
  java = prepareJavaClient();
  cluster = await startCluster({
    brokers: 3,
    args: [
      '--config', 'offsets.topic.num.partitions=3',
      '--config', 'group.initial.rebalance.delay.ms=0',
      '--config', 'group.consumer.heartbeat.interval.ms=500',
      '--config', 'group.consumer.session.timeout.ms=10000',
      '--config', 'group.consumer.migration.policy=bidirectional',
    ],
  });
  admin = kafkaOf(cluster).admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill()));
  await admin?.disconnect().catch(() => undefined);
  await cluster?.stop();
});

describe('online migration between the classic and the consumer group protocols (Java and kafkajs clients)', () => {
  it('a consumer-protocol member joins a live classic group, both survive a coordinator kill, and the group goes back to classic when it leaves', async () => {
    const topic = 'migrate';
    const group = 'migrate-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] });
    await produce(topic, 6, 0, 60);

    // A classic group: one Java classic member owning everything, everything read is committed.
    const classic = member('classic', topic, group, 'classic');
    await until('the classic member read 60', [classic], () => sorted(classic.assignment()).join() === range(6).join() && valuesOf([classic]).size === 60);
    await until('the classic member committed 60', [classic], async () => (await committedOffsets(group, topic)).join() === Array(6).fill(10).join());
    await describedUntil('a classic group', group, [classic], (d) => 'type' in d && d.type === 'Classic' && d.state === 'Stable');

    // A consumer-protocol member joins: the group is upgraded online, the classic member stays.
    const modern = member('modern', topic, group, 'consumer');
    await until('both own partitions, together all six', [classic, modern], () => {
      const [pc, pm] = [classic.assignment(), modern.assignment()];
      return pc.length > 0 && pm.length > 0 && sorted([...pc, ...pm]).join() === range(6).join();
    });
    const mixed = await describedUntil('a consumer group of two', group, [classic, modern], (d) => 'type' in d && d.type === 'Consumer' && d.members.length === 2);
    if (!('members' in mixed)) throw new Error('unreachable');
    expect(sorted(mixed.members.flatMap((m) => m.partitions))).toEqual(range(6));
    await produce(topic, 6, 60, 60);
    await until('the two read all 120', [classic, modern], () => valuesOf([classic, modern]).size === 120);
    // Committed offsets carried over: the new member read none of the first 60 records.
    expect(modern.messages().filter((m) => m.offset < 10)).toEqual([]);
    // Every handover waited for the classic member's revocation, after its commit: nothing read twice.
    expectNothingReadTwice([classic, modern]);
    await until('the offsets of 120 committed', [classic, modern], async () => (await committedOffsets(group, topic)).join() === Array(6).fill(20).join());

    // kill -9 of the coordinator's broker: the new one reloads the mixed group from the log.
    const coordinator = await coordinatorOf(group);
    const atKill = new Map(members.map((m) => [m, m.events.length]));
    await cluster.kill(coordinator);
    expect(await coordinatorOf(group)).not.toBe(coordinator);
    expect(await committedOffsets(group, topic)).toEqual(Array(6).fill(20));
    await produce(topic, 6, 120, 60);
    await until('the two read all 180 after the failover', [classic, modern], () => valuesOf([classic, modern]).size === 180);
    await until('both own partitions again', [classic, modern], () => classic.assignment().length > 0 && modern.assignment().length > 0);
    const reloaded = await describedUntil('still a consumer group of two', group, [classic, modern], (d) => 'type' in d && d.type === 'Consumer' && d.members.length === 2);
    if (!('members' in reloaded)) throw new Error('unreachable');
    // The same two members, taken over from the log, not new ones that joined a group the new
    // coordinator did not know; and the consumer-protocol member was not fenced (which takes its
    // partitions away: an empty assignment).
    expect(sorted(reloaded.members.map((m) => m.memberId).map((id) => mixed.members.findIndex((x) => x.memberId === id)))).toEqual([0, 1]);
    expect(modern.events.slice(atKill.get(modern)).filter((e) => e.event === 'assignment' && e.partitions.length === 0)).toEqual([]);
    // Nothing committed before the kill is read again (records after it may be: at least once).
    const reread = [classic, modern].flatMap((m) => m.events.slice(atKill.get(m)).filter((e) => e.event === 'message' && e.offset < 20));
    expect(reread).toEqual([]);
    console.log(`records read twice after the coordinator kill (at least once): ${readTwice([classic, modern], atKill).length}`);
    await cluster.start(coordinator);

    // The consumer-protocol member leaves: the group is classic again and rebalances.
    await until('the offsets of 180 committed', [classic, modern], async () => (await committedOffsets(group, topic)).join() === Array(6).fill(30).join());
    await modern.close();
    expect(modern.exitCode()).toBe(0);
    await until('the classic member owns all six', [classic], () => sorted(classic.assignment()).join() === range(6).join());
    await describedUntil('a classic group again', group, [classic], (d) => 'type' in d && d.type === 'Classic' && d.state === 'Stable');
    const afterLeave = new Map(members.map((m) => [m, m.events.length]));
    await produce(topic, 6, 180, 30);
    await until('the classic member read the last 30', [classic], () => valuesOf([classic, modern]).size === 210);
    // It starts from the committed offsets: nothing below 30 again.
    expect(classic.events.slice(afterLeave.get(classic)).filter((e) => e.event === 'message' && e.offset < 30)).toEqual([]);
    await until('every offset committed', [classic], async () => (await committedOffsets(group, topic)).join() === Array(6).fill(35).join());
    await classic.close();
    expect(classic.exitCode()).toBe(0);
    expect([classic, modern].flatMap((m) => m.events.filter((e) => e.event === 'error'))).toEqual([]);
  }, 600_000);

  it('a cooperative classic member keeps what it is not asked to give up while a consumer-protocol member takes its share', async () => {
    const topic = 'migrate-coop';
    const group = 'migrate-coop-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] });
    await produce(topic, 6, 0, 30);
    const coop = member('coop', topic, group, 'classic', 'cooperative-sticky');
    await until('the cooperative member read 30', [coop], () => sorted(coop.assignment()).join() === range(6).join() && valuesOf([coop]).size === 30);
    await until('the cooperative member committed 30', [coop], async () => (await committedOffsets(group, topic)).join() === Array(6).fill(5).join());
    const atJoin = coop.events.length;

    const modern = member('modern-coop', topic, group, 'consumer');
    await until('both own partitions, together all six', [coop, modern], () => {
      const [pc, pm] = [coop.assignment(), modern.assignment()];
      return pc.length > 0 && pm.length > 0 && sorted([...pc, ...pm]).join() === range(6).join();
    });
    // Incremental: the cooperative member never gave up everything on the way.
    expect(coop.events.slice(atJoin).filter((e) => e.event === 'assignment' && e.partitions.length === 0)).toEqual([]);
    await produce(topic, 6, 30, 30);
    await until('the two read all 60', [coop, modern], () => valuesOf([coop, modern]).size === 60);
    expect(modern.messages().filter((m) => m.offset < 5)).toEqual([]);
    expectNothingReadTwice([coop, modern]);

    await until('the offsets of 60 committed', [coop, modern], async () => (await committedOffsets(group, topic)).join() === Array(6).fill(10).join());
    await modern.close();
    await until('the cooperative member owns all six', [coop], () => sorted(coop.assignment()).join() === range(6).join());
    await describedUntil('a classic group again', group, [coop], (d) => 'type' in d && d.type === 'Classic' && d.state === 'Stable');
    await produce(topic, 6, 60, 12);
    await until('the cooperative member read the last 12', [coop], () => valuesOf([coop, modern]).size === 72);
    await coop.close();
    expect(coop.exitCode()).toBe(0);
    expect([coop, modern].flatMap((m) => m.events.filter((e) => e.event === 'error'))).toEqual([]);
  }, 300_000);

  it('a kafkajs classic consumer is upgraded the same way, and owns everything again after the downgrade', async () => {
    const topic = 'migrate-kafkajs';
    const group = 'migrate-kafkajs-group';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }] });
    await produce(topic, 4, 0, 20);
    const consumer = kafkaOf(cluster).consumer({ groupId: group, maxWaitTimeInMs: 200, heartbeatInterval: 1000 });
    const read: Array<{ partition: number; offset: number; value: string }> = [];
    let owns: number[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (e) => void (owns = sorted(e.payload.memberAssignment[topic] ?? [])));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ partition, message }) => void read.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '' }) });
      await eventually('kafkajs read 20', () => read.length >= 20 && owns.length === 4, 60_000);
      await eventually('kafkajs committed 20', async () => (await committedOffsets(group, topic)).join() === Array(4).fill(5).join(), 60_000);

      const modern = member('modern-kafkajs', topic, group, 'consumer');
      await until('kafkajs and the Java member share the partitions', [modern], () => {
        const pm = modern.assignment();
        return owns.length > 0 && pm.length > 0 && sorted([...owns, ...pm]).join() === range(4).join();
      });
      await describedUntil('a consumer group of two', group, [modern], (d) => 'type' in d && d.type === 'Consumer' && d.members.length === 2);
      await produce(topic, 4, 20, 20);
      await until('the two read all 40', [modern], () => new Set([...read.map((r) => r.value), ...valuesOf([modern])]).size === 40);
      expect(modern.messages().filter((m) => m.offset < 5)).toEqual([]);

      await modern.close();
      await until('kafkajs owns all four again', [modern], () => owns.length === 4);
      await describedUntil('a classic group again', group, [modern], (d) => 'type' in d && d.type === 'Classic' && d.state === 'Stable');
      await produce(topic, 4, 40, 8);
      await until('kafkajs read the last 8', [modern], () => new Set([...read.map((r) => r.value), ...valuesOf([modern])]).size === 48);
    } finally {
      await consumer.disconnect();
    }
  }, 300_000);
});
