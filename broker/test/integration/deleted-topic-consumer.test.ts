/**
 * A cooperative-sticky librdkafka consumer whose subscribed topic is deleted under it, then
 * closed, against a real broker process: close() must return (the bound is the test's timeout),
 * having left the group.
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
