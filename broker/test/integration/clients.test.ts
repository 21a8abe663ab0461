/**
 * Every mainstream Kafka client against a real Chronik process: produce/consume round trips
 * with every codec the client has, a three-member consumer group rebalancing as members come
 * and go and resuming from committed offsets after a broker restart, and admin operations.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import type { ClientDriver, GroupMember } from '../clients/driver.js';
import { kafkajsDriver, platformaticDriver } from '../clients/js-drivers.js';
import { kcatDriver } from '../clients/kcat-driver.js';
import { pythonDriver } from '../clients/python-driver.js';

const drivers: ClientDriver[] = [kafkajsDriver, platformaticDriver, kcatDriver, pythonDriver('confluent'), pythonDriver('kafka-python')];
const PARTITIONS = 6;

async function eventually(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function slug(name: string): string {
  return name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
}

describe.each(drivers)('client $name', (driver) => {
  let broker: BrokerProcess;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startBrokerProcess({ args: ['--config', 'group.initial.rebalance.delay.ms=0'] });
    kafka = new Kafka({ clientId: 'setup', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  async function createTopic(topic: string, partitions: number): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
  }

  test.each(driver.compressions)('round trip with compression %s', async (codec) => {
    const topic = `rt-${slug(driver.name)}-${codec}`;
    await createTopic(topic, 3);
    const sent = Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 10}`, value: `${codec}-value-${i}` }));
    await driver.produce(broker.bootstrap, topic, sent, { compression: codec });
    const got = await driver.consume(broker.bootstrap, topic, `g-${topic}`, sent.length, 60_000);
    expect(new Set(got.map((m) => m.value))).toEqual(new Set(sent.map((m) => m.value)));
    // Per key, order is preserved: one key maps to one partition, read in offset order.
    for (let k = 0; k < 10; k++) {
      const mine = got.filter((m) => m.key === `k${k}`).map((m) => Number(m.value.split('-').pop()));
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
      expect(new Set(got.filter((m) => m.key === `k${k}`).map((m) => m.partition)).size).toBe(1);
    }
  });

  test('a group of three rebalances as members come and go, and resumes from committed offsets after a restart', async () => {
    const topic = `grp-${slug(driver.name)}`;
    const group = `group-${slug(driver.name)}`;
    await createTopic(topic, PARTITIONS);
    const all = new Set(Array.from({ length: PARTITIONS }, (_, i) => i));
    const union = (ms: GroupMember[]): Set<number> => new Set(ms.flatMap((m) => [...m.owned()]));
    const covered = (ms: GroupMember[]): boolean => union(ms).size === PARTITIONS && ms.every((m) => m.owned().size > 0) &&
      ms.reduce((n, m) => n + m.owned().size, 0) === PARTITIONS;
    const seen = (ms: GroupMember[]): Set<string> => new Set(ms.flatMap((m) => m.messages().map((x) => x.value)));

    const m1 = await driver.joinGroup(broker.bootstrap, topic, group);
    await eventually('first member owns every partition', () => covered([m1]));
    const m2 = await driver.joinGroup(broker.bootstrap, topic, group);
    const m3 = await driver.joinGroup(broker.bootstrap, topic, group);
    await eventually('three members split the partitions', () => covered([m1, m2, m3]));
    expect(union([m1, m2, m3])).toEqual(all);

    const first = Array.from({ length: 60 }, (_, i) => ({ key: `key-${i}`, value: `first-${i}` }));
    await driver.produce(broker.bootstrap, topic, first, { compression: 'none' });
    await eventually('the group consumes every message', () => first.every((m) => seen([m1, m2, m3]).has(m.value)));

    await m3.stop();
    await eventually("two members take over the third one's partitions", () => covered([m1, m2]));
    const second = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `second-${i}` }));
    await driver.produce(broker.bootstrap, topic, second, { compression: 'none' });
    await eventually('the remaining members consume the new messages', () => second.every((m) => seen([m1, m2]).has(m.value)));
    await m1.stop();
    await m2.stop();

    await broker.restart();

    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    await admin.disconnect();
    const total = committed[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    expect(total).toBe(first.length + second.length);

    const m4 = await driver.joinGroup(broker.bootstrap, topic, group);
    await eventually('a new member owns every partition after the restart', () => covered([m4]));
    const third = Array.from({ length: 10 }, (_, i) => ({ key: `key-${i}`, value: `third-${i}` }));
    await driver.produce(broker.bootstrap, topic, third, { compression: 'none' });
    await eventually('the new member reads what was produced after the restart', () => third.every((m) => seen([m4]).has(m.value)));
    const reread = m4.messages().filter((m) => !m.value.startsWith('third-'));
    expect(reread).toEqual([]);
    await m4.stop();
  }, 240_000);

  test.runIf(driver.admin !== undefined)('admin: create, describe configs, add partitions, delete', async () => {
    const outcome = await driver.admin!(broker.bootstrap, `adm-${slug(driver.name)}`, 2);
    expect(outcome).toEqual({ partitionsAfterCreate: 2, retentionMs: '3600000', partitionsAfterGrow: 4, deleted: true });
  });
});
