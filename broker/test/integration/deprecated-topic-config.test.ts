/**
 * The deprecated topic config message.format.version (and its broker default,
 * log.message.format.version) through real clients against real broker processes: kafka-topics
 * (Kafka 3.9's TopicCommand), the Java Admin client of Kafka 3.9, kafkajs, confluent-kafka and
 * kafka-python. Chronik accepts and ignores what Kafka 3.x accepts and ignores, refuses the rest
 * with INVALID_CONFIG naming the config, and describes it as Kafka 3.9.1 does: the value as
 * given, else 3.0-IV1 from DEFAULT_CONFIG, type STRING, documented as deprecated.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareKafkaTools, runJava, topicConfigWithJava, type JavaClient } from '../clients/java-driver.js';
import { runOnce } from '../clients/python-driver.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

const NAME = 'message.format.version';
const TOPIC = 2;
const BROKER = 4;
const SOURCE = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
let tools: JavaClient;

beforeAll(async () => {
  tools = prepareKafkaTools();
  broker = await startBrokerProcess();
  kafka = new Kafka({ clientId: 'deprecated-config', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  admin = kafka.admin();
  await admin.connect();
}, 600_000);

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

async function described(a: Admin, topic: string): Promise<{ configValue: string; configSource: number; isDefault: boolean; readOnly: boolean }> {
  const r = await a.describeConfigs({ resources: [{ type: TOPIC, name: topic, configNames: [NAME] }], includeSynonyms: false });
  const e = r.resources[0]?.configEntries.find((c) => c.configName === NAME);
  if (!e) throw new Error(`${NAME} of ${topic} is not described`);
  return e;
}

/** The error type a kafkajs admin call failed with (kafkajs wraps CreateTopics errors). */
async function kafkajsError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { type?: string; errors?: Array<{ type?: string }> };
    return e.type ?? e.errors?.[0]?.type ?? String(err);
  }
  return 'no error';
}

describe('kafka-topics (Kafka 3.9 TopicCommand)', () => {
  it('creates a topic with --config message.format.version and describes it', async () => {
    const tool = (args: string[]) => runJava(tools, 'org.apache.kafka.tools.TopicCommand', ['--bootstrap-server', broker.bootstrap, ...args]);
    const created = await tool(['--create', '--topic', 'kt-mfv', '--partitions', '2', '--replication-factor', '1', '--config', `${NAME}=0.10.2`, '--config', 'retention.ms=3600000']);
    expect(created.code, created.stdout + created.stderr).toBe(0);
    // The 3.x tool warns that the config is ignored, then the broker takes it.
    expect(created.stdout).toContain(`The configuration ${NAME}=0.10.2 is specified`);
    expect(created.stdout).toContain('Created topic kt-mfv.');
    const shown = await tool(['--describe', '--topic', 'kt-mfv']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.split('\n')[0]).toMatch(/PartitionCount: 2\tReplicationFactor: 1\tConfigs: (.*,)?message\.format\.version=0\.10\.2/);
    expect(await described(admin, 'kt-mfv')).toMatchObject({ configValue: '0.10.2', configSource: SOURCE.DYNAMIC_TOPIC_CONFIG, isDefault: false });
  });
});

describe('the Java Admin client (Kafka 3.9)', () => {
  it('sets, refuses, describes, deletes and replaces message.format.version', async () => {
    await admin.createTopics({ topics: [{ topic: 'java-mfv' }], waitForLeaders: true });
    const java = (...args: string[]) => topicConfigWithJava(tools, [args[0]!, broker.bootstrap, 'java-mfv', NAME, ...args.slice(1)]);

    expect(await java('set', '2.8-IV1')).toEqual({ ok: true });
    const refused = await java('set', 'nope');
    expect(refused.error).toBe('InvalidConfigurationException');
    expect(refused.message).toContain(NAME);
    const set = await java('describe');
    expect(set).toMatchObject({
      value: '2.8-IV1',
      source: 'DYNAMIC_TOPIC_CONFIG',
      isDefault: false,
      readOnly: false,
      type: 'STRING',
      synonyms: [
        { name: NAME, value: '2.8-IV1', source: 'DYNAMIC_TOPIC_CONFIG' },
        { name: 'log.message.format.version', value: '3.0-IV1', source: 'DEFAULT_CONFIG' },
      ],
    });
    expect(set.documentation).toMatch(/^\[DEPRECATED\] /);

    expect(await java('delete')).toEqual({ ok: true });
    expect(await java('describe')).toMatchObject({
      value: '3.0-IV1',
      source: 'DEFAULT_CONFIG',
      isDefault: true,
      synonyms: [{ name: 'log.message.format.version', value: '3.0-IV1', source: 'DEFAULT_CONFIG' }],
    });

    expect(await java('alter', '3.0-IV1')).toEqual({ ok: true });
    const badAlter = await java('alter', '0.10');
    expect(badAlter.error).toBe('InvalidConfigurationException');
    expect(badAlter.message).toContain(NAME);
    expect(await java('describe')).toMatchObject({ value: '3.0-IV1', source: 'DYNAMIC_TOPIC_CONFIG' });
  });
});

describe('kafkajs', () => {
  it('creates with it, alters it, and gets INVALID_CONFIG for a version Kafka does not know', async () => {
    await admin.createTopics({ topics: [{ topic: 'js-mfv', configEntries: [{ name: NAME, value: '2.8.1' }] }], waitForLeaders: true });
    expect(await described(admin, 'js-mfv')).toMatchObject({ configValue: '2.8.1', configSource: SOURCE.DYNAMIC_TOPIC_CONFIG, isDefault: false, readOnly: false });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'js-mfv', configEntries: [{ name: NAME, value: '3.0-IV1' }] }] });
    expect((await described(admin, 'js-mfv')).configValue).toBe('3.0-IV1');

    expect(await kafkajsError(admin.createTopics({ topics: [{ topic: 'js-mfv-bad', configEntries: [{ name: NAME, value: '4.0' }] }] }))).toBe('INVALID_CONFIG');
    expect(await admin.listTopics()).not.toContain('js-mfv-bad');
    expect(
      await kafkajsError(admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'js-mfv', configEntries: [{ name: NAME, value: 'latest' }] }] })),
    ).toBe('INVALID_CONFIG');
    expect((await described(admin, 'js-mfv')).configValue).toBe('3.0-IV1');
  });

  it('describes a topic without it at the default 3.0-IV1', async () => {
    await admin.createTopics({ topics: [{ topic: 'js-plain' }], waitForLeaders: true });
    expect(await described(admin, 'js-plain')).toMatchObject({ configValue: '3.0-IV1', configSource: SOURCE.DEFAULT_CONFIG, isDefault: true });
  });
});

describe.each(['confluent', 'kafka-python'] as const)('%s admin', (lib) => {
  it('creates with it, describes it, and gets INVALID_CONFIG naming it for a bad value', async () => {
    const topic = `py-mfv-${lib}`;
    const r = await runOnce(lib, 'topic-config', { bootstrap: broker.bootstrap, topic, name: NAME, value: '0.10.2', bad: '2.8.' }, 90_000);
    expect(r.created).toBeNull();
    expect(r.described).toEqual({ value: '0.10.2', source: SOURCE.DYNAMIC_TOPIC_CONFIG });
    for (const err of [r.create_bad, r.alter_bad] as Array<{ code: string; message: string }>) {
      expect(err.code).toBe(lib === 'confluent' ? 'INVALID_CONFIG' : 'InvalidConfigurationError');
      expect(err.message).toContain(`for configuration ${NAME}`);
    }
  });
});

describe('a broker started with log.message.format.version', () => {
  let other: BrokerProcess;
  let otherAdmin: Admin;

  beforeAll(async () => {
    other = await startBrokerProcess({ args: ['--config', 'log.message.format.version=2.8-IV1'] });
    otherAdmin = new Kafka({ clientId: 'deprecated-config-broker', brokers: [other.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await otherAdmin.connect();
  });
  afterAll(async () => {
    await otherAdmin?.disconnect();
    await other?.stop();
  });

  it('gives topics that default, and shows the setting on the broker', async () => {
    await otherAdmin.createTopics({ topics: [{ topic: 'inherits' }], waitForLeaders: true });
    const r = await otherAdmin.describeConfigs({ resources: [{ type: TOPIC, name: 'inherits', configNames: [NAME] }], includeSynonyms: true });
    expect(r.resources[0]?.configEntries[0]).toMatchObject({
      configName: NAME,
      configValue: '2.8-IV1',
      configSource: SOURCE.STATIC_BROKER_CONFIG,
      isDefault: false,
      configSynonyms: [
        { configName: 'log.message.format.version', configValue: '2.8-IV1', configSource: SOURCE.STATIC_BROKER_CONFIG },
        { configName: 'log.message.format.version', configValue: '3.0-IV1', configSource: SOURCE.DEFAULT_CONFIG },
      ],
    });
    const b = await otherAdmin.describeConfigs({ resources: [{ type: BROKER, name: '0', configNames: ['log.message.format.version'] }], includeSynonyms: false });
    expect(b.resources[0]?.configEntries[0]).toMatchObject({ configValue: '2.8-IV1', readOnly: true, configSource: SOURCE.STATIC_BROKER_CONFIG });
  });
});
