/**
 * An in-process broker spoken to with the real codec over a real socket: every version of
 * ApiVersions, Metadata and DescribeCluster, and the exact set of APIs advertised.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { brokerConfigOf } from '../../src/config/index.js';
import { SERVED_APIS, apiByKey } from '../../src/kafka/apis/registry.js';
import type { ApiDef } from '../../src/kafka/protocol/schema.js';
import { silentLogger } from '../../src/observability/logger.js';
import { tmpDataDir } from '../helpers/index.js';
import { RawKafkaClient as Client, type RawBody } from '../helpers/raw-kafka-client.js';

type Body = RawBody;

const api = (key: number) => apiByKey(key) as ApiDef;
const METADATA = api(3);
const API_VERSIONS = api(18);
const DESCRIBE_CLUSTER = api(60);
const FIND_COORDINATOR = api(10);
const ZERO = '00000000-0000-0000-0000-000000000000';

let broker: Broker;
let client: Client;

beforeAll(async () => {
  const config = brokerConfigOf({
    'node.id': '7',
    'log.dirs': tmpDataDir(),
    'chronik.kafka.listen': '127.0.0.1:0',
    'chronik.http.listen': '127.0.0.1:0',
    'broker.rack': 'rack-a',
    'num.partitions': '2',
    'offsets.topic.num.partitions': '3',
  });
  broker = await startBroker(config, { logger: silentLogger(), withProcessMetrics: false });
  client = await Client.open(broker.kafkaPort, 'protocol-test');
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
});

describe('ApiVersions', () => {
  it('advertises every registered API with the versions the codec serves, in every version', async () => {
    const expected = SERVED_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })).sort((a, b) => a.apiKey - b.apiKey);
    for (let v = 0; v <= 3; v++) {
      const body = await client.call(API_VERSIONS, v, { clientSoftwareName: 'chronik-test', clientSoftwareVersion: '1.0' });
      expect(body['errorCode'], `v${v}`).toBe(0);
      expect(body['apiKeys'], `v${v}`).toEqual(expected);
    }
  });

  it('rejects an invalid client software name in v3 with INVALID_REQUEST', async () => {
    const body = await client.call(API_VERSIONS, 3, { clientSoftwareName: '-bad name', clientSoftwareVersion: '1' });
    expect(body['errorCode']).toBe(42);
  });
});

describe('Metadata', () => {
  it('answers every served version with the fields that version carries', async () => {
    for (let v = METADATA.minVersion; v <= METADATA.maxVersion; v++) {
      const topic = `versions-${v}`;
      const request: Body = { topics: [{ name: topic, topicId: ZERO }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false };
      const body = await client.call(METADATA, v, request);
      const brokers = body['brokers'] as Body[];
      expect(brokers, `v${v}`).toEqual([{ nodeId: 7, host: '127.0.0.1', port: broker.kafkaPort, rack: v >= 1 ? 'rack-a' : null }]);
      if (v >= 1) expect(body['controllerId']).toBe(7);
      if (v >= 2) expect(typeof body['clusterId']).toBe('string');
      const topics = body['topics'] as Body[];
      expect(topics).toHaveLength(1);
      const t = topics[0] as Body;
      expect(t['errorCode'], `v${v}`).toBe(0);
      expect(t['name']).toBe(topic);
      if (v >= 10) expect(t['topicId']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      if (v >= 10) expect(t['topicId']).not.toBe(ZERO);
      if (v >= 8) expect(t['topicAuthorizedOperations']).toBe(-2147483648);
      const partitions = t['partitions'] as Body[];
      expect(partitions.map((p) => p['partitionIndex'])).toEqual([0, 1]);
      for (const p of partitions) {
        expect(p).toMatchObject({ errorCode: 0, leaderId: 7, replicaNodes: [7], isrNodes: [7] });
        if (v >= 7) expect(p['leaderEpoch']).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('does not auto-create when the client says not to (v4+), and flags bad names', async () => {
    const body = await client.call(METADATA, 12, {
      topics: [
        { name: 'not-created', topicId: ZERO },
        { name: 'bad/name', topicId: ZERO },
        { name: 'x'.repeat(250), topicId: ZERO },
      ],
      allowAutoTopicCreation: false,
    });
    const topics = body['topics'] as Body[];
    expect(topics.map((t) => t['errorCode'])).toEqual([3, 17, 17]);
    const all = await client.call(METADATA, 12, { topics: null });
    const names = (all['topics'] as Body[]).map((t) => t['name']);
    expect(names).not.toContain('not-created');
    expect(names).toContain('versions-0');
    // The offsets topic exists once a group needs a coordinator, and is reported as internal.
    expect(names).not.toContain('__consumer_offsets');
    await client.call(FIND_COORDINATOR, 3, { key: 'g', keyType: 0 });
    const after = await client.call(METADATA, 12, { topics: null });
    const offsets = (after['topics'] as Body[]).find((t) => t['name'] === '__consumer_offsets');
    expect(offsets?.['isInternal']).toBe(true);
  });

  it('looks topics up by id in v12 and reports unknown ids', async () => {
    const all = await client.call(METADATA, 12, { topics: null });
    const known = (all['topics'] as Body[]).find((t) => t['name'] === 'versions-12') as Body;
    const unknownId = '0badc0de-0000-4000-8000-000000000000';
    const body = await client.call(METADATA, 12, { topics: [{ name: null, topicId: known['topicId'] }, { name: null, topicId: unknownId }] });
    const topics = body['topics'] as Body[];
    expect(topics[0]).toMatchObject({ errorCode: 0, name: 'versions-12', topicId: known['topicId'] });
    expect(topics[1]).toMatchObject({ errorCode: 100, name: null, topicId: unknownId });
  });
});

describe('DescribeCluster', () => {
  it('describes this broker in v0 and v1', async () => {
    for (let v = 0; v <= 1; v++) {
      const body = await client.call(DESCRIBE_CLUSTER, v, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      expect(body).toMatchObject({
        errorCode: 0,
        controllerId: 7,
        brokers: [{ brokerId: 7, host: '127.0.0.1', port: broker.kafkaPort, rack: 'rack-a' }],
        clusterAuthorizedOperations: -2147483648,
      });
    }
    const controllers = await client.call(DESCRIBE_CLUSTER, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 });
    expect(controllers['errorCode']).toBe(114);
  });
});
