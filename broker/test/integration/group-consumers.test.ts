/**
 * Consumer groups against a real broker process with kafkajs: members coming and going are
 * rebalanced over all partitions, commits are durable, and a group resumes from its committed
 * offsets after the broker restarts.
 */
import { Kafka, logLevel, type Consumer, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/index.js';

const TOPIC = 'orders';
const PARTITIONS = 6;

let broker: BrokerProcess;

function kafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Member {
  readonly name: string;
  readonly consumer: Consumer;
  /** Partitions from the latest GROUP_JOIN. */
  assigned: number[];
  generation: number;
  readonly seen: Array<{ partition: number; offset: number; value: string }>;
}

async function startMember(name: string, groupId: string): Promise<Member> {
  const consumer = kafka(name).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 300, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200 });
  const m: Member = { name, consumer, assigned: [], generation: -1, seen: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.assigned = [...(e.payload.memberAssignment[TOPIC] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      m.seen.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
    },
  });
  return m;
}

/** Every partition owned by exactly one of `members`, and each member owns some. */
function balanced(members: readonly Member[]): boolean {
  const all = members.flatMap((m) => m.assigned).sort((a, b) => a - b);
  return all.length === PARTITIONS && all.every((p, i) => p === i) && members.every((m) => m.assigned.length > 0);
}

async function produce(values: string[]): Promise<void> {
  const producer = kafka('producer').producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: values.map((v, i) => ({ key: `k${i}`, value: v, partition: i % PARTITIONS })) });
  await producer.disconnect();
}

async function committed(admin: Admin, groupId: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
  return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(Number(p.offset), 0), 0);
}

beforeAll(async () => {
  broker = await startBrokerProcess({
    args: ['--config', 'group.initial.rebalance.delay.ms=200', '--config', 'offsets.topic.num.partitions=8', '--config', 'group.min.session.timeout.ms=1000'],
  });
  const admin = kafka('setup').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  await broker?.stop();
});

describe('consumer groups with kafkajs', () => {
  it('rebalances three members as they come and go, commits, and resumes from committed offsets after a restart', async () => {
    const groupId = 'three-consumers';
    await produce(Array.from({ length: 60 }, (_, i) => `first-${i}`));

    const a = await startMember('a', groupId);
    await waitFor('a owns all partitions', () => balanced([a]));
    const b = await startMember('b', groupId);
    const c = await startMember('c', groupId);
    await waitFor('a, b and c share all partitions', () => balanced([a, b, c]));
    expect(a.assigned.length + b.assigned.length + c.assigned.length).toBe(PARTITIONS);

    const admin = kafka('admin').admin();
    await admin.connect();
    const group = await admin.describeGroups([groupId]);
    expect(group.groups[0]).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer' });
    expect(group.groups[0]!.members).toHaveLength(3);

    // Every message was read (by someone) and the group committed all of it.
    const values = () => new Set([a, b, c].flatMap((m) => m.seen.map((s) => s.value)));
    await waitFor('all 60 messages consumed', () => values().size === 60);
    await waitFor('offsets committed', async () => (await committed(admin, groupId)) === 60);

    // c leaves: a and b take over its partitions.
    await c.consumer.disconnect();
    await waitFor('a and b share all partitions after c left', () => balanced([a, b]));

    // b leaves too: a has everything again.
    await b.consumer.disconnect();
    await waitFor('a owns all partitions after b left', () => balanced([a]));
    await a.consumer.disconnect();
    await waitFor('group empty', async () => (await admin.describeGroups([groupId])).groups[0]!.state === 'Empty');
    await admin.disconnect();

    await broker.restart();

    const admin2 = kafka('admin2').admin();
    await admin2.connect();
    expect(await committed(admin2, groupId)).toBe(60);
    const listed = await admin2.listGroups();
    expect(listed.groups.map((g) => g.groupId)).toContain(groupId);

    await produce(Array.from({ length: 30 }, (_, i) => `second-${i}`));
    const d = await startMember('d', groupId);
    await waitFor('d consumed the 30 new messages', () => d.seen.length >= 30);
    // Give it a moment to show it does not re-read old messages.
    await new Promise((r) => setTimeout(r, 500));
    expect(d.seen.every((s) => s.value.startsWith('second-'))).toBe(true);
    expect(new Set(d.seen.map((s) => s.value)).size).toBe(30);
    await waitFor('offsets committed after restart', async () => (await committed(admin2, groupId)) === 90);
    await d.consumer.disconnect();
    await admin2.disconnect();
  }, 120_000);

  it('kafkajs admin: set, fetch and reset offsets, list groups, refuse deleting an active group, delete an empty one', async () => {
    const groupId = 'admin-ops';
    const admin = kafka('admin-ops').admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId, topic: TOPIC, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '7' }] });
      const [t] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
      const byPartition = new Map(t!.partitions.map((p) => [p.partition, p.offset]));
      expect(byPartition.get(0)).toBe('5');
      expect(byPartition.get(1)).toBe('7');
      expect(byPartition.get(2)).toBe('-1');
      await admin.resetOffsets({ groupId, topic: TOPIC, earliest: true });
      const [reset] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
      // kafkajs commits the EARLIEST sentinel (-2) itself; like Kafka we store what is committed.
      expect(reset!.partitions.map((p) => p.offset)).toEqual(Array(PARTITIONS).fill('-2'));
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId);

      const m = await startMember('admin-member', groupId);
      await waitFor('member owns all partitions', () => balanced([m]));
      const refused = await admin.deleteGroups([groupId]).then(
        () => null,
        (e: unknown) => e as { groups?: Array<{ groupId: string; errorCode: number }> },
      );
      expect(refused?.groups?.[0]).toMatchObject({ groupId, errorCode: 68 }); // NON_EMPTY_GROUP
      await m.consumer.disconnect();
      await waitFor('group empty', async () => (await admin.describeGroups([groupId])).groups[0]!.state === 'Empty');
      const deleted = await admin.deleteGroups([groupId]);
      expect(deleted).toEqual([expect.objectContaining({ groupId, errorCode: 0 })]);
      expect((await admin.describeGroups([groupId])).groups[0]!.state).toBe('Dead');
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});
