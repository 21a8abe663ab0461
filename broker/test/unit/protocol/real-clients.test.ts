/**
 * Real clients against a tiny fake broker: the frames kafkajs and @platformatic/kafka send are
 * decoded with our engine, and our encoded ApiVersions/Metadata responses must satisfy them
 * (the client only moves on to Metadata, and only resolves, if it accepted our answers).
 */
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { execFile, spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeResponseFrame } from '../../../src/kafka/protocol/headers.js';
import { SERVED_APIS, apiByKey } from '../../../src/kafka/apis/registry.js';
import type { ApiDef } from '../../../src/kafka/protocol/schema.js';

interface Captured {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  body: Record<string, unknown>;
}

class FakeBroker {
  readonly captured: Captured[] = [];
  readonly failures: string[] = [];
  private readonly server = net.createServer((s) => this.serve(s));
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        const frame = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        this.answer(socket, frame);
      }
    });
  }

  private answer(socket: net.Socket, frame: Buffer): void {
    const req = decodeRequestFrame(frame, apiByKey);
    if (!req.ok) {
      this.failures.push(`${req.reason}: ${req.message}`);
      socket.destroy();
      return;
    }
    this.captured.push({ ...req });
    const api = apiByKey(req.apiKey) as ApiDef;
    const body = this.respond(req.apiKey, req.body);
    if (body === null) {
      socket.destroy();
      return;
    }
    socket.write(encodeResponseFrame(api, req.apiVersion, req.correlationId, body));
  }

  private respond(apiKey: number, _request: Record<string, unknown>): Record<string, unknown> | null {
    if (apiKey === 18) {
      return {
        errorCode: 0,
        apiKeys: SERVED_APIS.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
        throttleTimeMs: 0,
      };
    }
    if (apiKey === 3) {
      // A null topic list (v1+) asks for every topic.
      const requested = (_request.topics as Array<{ name: string | null }> | null) ?? [{ name: PROBE_TOPIC }];
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: this.port, rack: null }],
        clusterId: 'chronik-test',
        controllerId: 1,
        topics: requested
          .filter((t) => t.name === PROBE_TOPIC)
          .map(() => ({
            errorCode: 0,
            name: PROBE_TOPIC,
            topicId: PROBE_TOPIC_ID,
            isInternal: false,
            partitions: [
              { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] },
            ],
          })),
      };
    }
    if (apiKey === 22) return { throttleTimeMs: 0, errorCode: 0, producerId: 4000, producerEpoch: 0 };
    if (apiKey === 0) {
      const topics = _request.topicData as Array<{ name: string; partitionData: Array<{ index: number }> }>;
      return {
        responses: topics.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 41, logAppendTimeMs: -1, logStartOffset: 0 })),
        })),
        throttleTimeMs: 0,
      };
    }
    return null;
  }
}

const PROBE_TOPIC = 'probe';
const PROBE_TOPIC_ID = '6c1e8b0a-5f3d-4c2b-9a11-0123456789ab';

/** Checks the raw record batch a client produced: v2 header fields sit at fixed offsets. */
function expectRecordBatch(records: unknown, recordCount: number): void {
  expect(Buffer.isBuffer(records)).toBe(true);
  const batch = records as Buffer;
  expect(batch.readInt32BE(8) + 12).toBe(batch.length); // batchLength covers everything after itself
  expect(batch.readInt8(16)).toBe(2); // magic
  expect(batch.readInt32BE(57)).toBe(recordCount);
}

let broker: FakeBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('real clients accept our encoding', () => {
  it('kafkajs 2.2.4: ApiVersions then Metadata', async () => {
    broker = new FakeBroker();
    await broker.start();
    const kafka = new Kafka({
      clientId: 'kafkajs-probe',
      brokers: [`127.0.0.1:${broker.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 2000,
      requestTimeout: 5000,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = await admin.listTopics();
      expect(topics).toEqual([PROBE_TOPIC]);
    } finally {
      await admin.disconnect();
    }
    expect(broker.failures).toEqual([]);
    const [first, second] = broker.captured;
    expect(first?.apiKey).toBe(18);
    expect(first?.clientId).toBe('kafkajs-probe');
    // kafkajs 2.2.4 speaks ApiVersions v2 and Metadata v6 at most (both non-flexible).
    expect(first?.apiVersion).toBe(2);
    expect(second?.apiKey).toBe(3);
    expect(second?.apiVersion).toBe(6);
    expect(second?.clientId).toBe('kafkajs-probe');
    expect(second?.correlationId).toBeGreaterThan(first!.correlationId);
    // listTopics asks for every topic, which from v1 on is a null topic list.
    expect(second?.body.topics).toBeNull();
    expect(second?.body.allowAutoTopicCreation).toBe(false);
  }, 20_000);

  it('@platformatic/kafka: ApiVersions v3 (flexible) then Metadata (flexible)', async () => {
    broker = new FakeBroker();
    await broker.start();
    const admin = new Admin({
      clientId: 'platformatic-probe',
      bootstrapBrokers: [`127.0.0.1:${broker.port}`],
      retries: 0,
    });
    try {
      const metadata = await admin.metadata({ topics: [] });
      expect(metadata.id).toBe('chronik-test');
      expect(metadata.brokers.get(1)?.port).toBe(broker.port);
    } finally {
      await admin.close();
    }
    expect(broker.failures).toEqual([]);
    const [first, second] = broker.captured;
    expect(first?.apiKey).toBe(18);
    expect(first?.apiVersion).toBe(3);
    expect(first?.clientId).toBe('platformatic-probe');
    expect(first?.body.clientSoftwareName).toBe('platformatic-kafka');
    expect(first?.body.clientSoftwareVersion).toMatch(/^2\./);
    expect(second?.apiKey).toBe(3);
    // It picks the highest Metadata version we advertised: v12 is flexible (compact strings, tagged fields).
    expect(second?.apiVersion).toBe(12);
    expect(second?.body.topics).toEqual([]);
    expect(typeof second?.body.allowAutoTopicCreation).toBe('boolean');
  }, 20_000);

  it('kafkajs 2.2.4: Produce v7 request decodes with the raw record batch intact, and the send resolves', async () => {
    broker = new FakeBroker();
    await broker.start();
    const kafka = new Kafka({
      clientId: 'kafkajs-producer',
      brokers: [`127.0.0.1:${broker.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const result = await producer.send({ topic: PROBE_TOPIC, acks: -1, messages: [{ key: 'k', value: 'v1' }, { value: 'v2' }] });
      expect(result).toEqual([expect.objectContaining({ topicName: PROBE_TOPIC, partition: 0, errorCode: 0, baseOffset: '41' })]);
    } finally {
      await producer.disconnect();
    }
    expect(broker.failures).toEqual([]);
    const produce = broker.captured.find((c) => c.apiKey === 0);
    expect(produce?.apiVersion).toBe(7);
    expect(produce?.body.acks).toBe(-1);
    expect(produce?.body.transactionalId).toBeNull();
    const topicData = produce?.body.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: unknown }> }>;
    expect(topicData.map((t) => t.name)).toEqual([PROBE_TOPIC]);
    expect(topicData[0]?.partitionData[0]?.index).toBe(0);
    expectRecordBatch(topicData[0]?.partitionData[0]?.records, 2);
  }, 20_000);

  it('@platformatic/kafka: flexible Produce request decodes and the send resolves with our offset', async () => {
    broker = new FakeBroker();
    await broker.start();
    const producer = new Producer({
      clientId: 'platformatic-producer',
      bootstrapBrokers: [`127.0.0.1:${broker.port}`],
      serializers: stringSerializers,
      retries: 0,
    });
    try {
      const result = await producer.send({ messages: [{ topic: PROBE_TOPIC, key: 'k', value: 'v1', partition: 0 }], acks: -1 });
      expect(result.offsets?.[0]).toMatchObject({ topic: PROBE_TOPIC, partition: 0 });
      expect(String(result.offsets?.[0]?.offset)).toBe('41');
    } finally {
      await producer.close();
    }
    expect(broker.failures).toEqual([]);
    const produce = broker.captured.find((c) => c.apiKey === 0);
    expect(produce?.apiVersion).toBeGreaterThanOrEqual(9);
    const topicData = produce?.body.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: unknown }> }>;
    expect(topicData[0]?.name).toBe(PROBE_TOPIC);
    expectRecordBatch(topicData[0]?.partitionData[0]?.records, 1);
  }, 20_000);

  const hasKcat = spawnSync('kcat', ['-V']).status === 0;
  it.skipIf(!hasKcat)('kcat (librdkafka): metadata listing and a produce go through our codec', async () => {
    broker = new FakeBroker();
    await broker.start();
    const bootstrap = `127.0.0.1:${broker.port}`;
    const run = (args: string[], input?: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile('kcat', args, { timeout: 15_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`kcat ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout),
        );
        child.stdin?.end(input ?? '');
      });
    const listing = JSON.parse(await run(['-b', bootstrap, '-L', '-J', '-m', '10'])) as {
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>;
    };
    expect(listing.brokers).toEqual([{ id: 1, name: bootstrap }]);
    expect(listing.topics.map((t) => t.topic)).toEqual([PROBE_TOPIC]);
    expect(listing.topics[0]?.partitions[0]).toMatchObject({ partition: 0, leader: 1 });
    await run(['-b', bootstrap, '-P', '-t', PROBE_TOPIC, '-p', '0', '-X', 'acks=all', '-m', '10'], 'hello\nworld\n');
    expect(broker.failures).toEqual([]);
    const apiVersions = broker.captured.find((c) => c.apiKey === 18);
    expect(apiVersions?.apiVersion).toBe(3);
    expect(apiVersions?.body.clientSoftwareName).toBe('librdkafka');
    // librdkafka may split the two lines across requests: count the records over all of them.
    let records = 0;
    for (const produce of broker.captured.filter((c) => c.apiKey === 0)) {
      expect(produce.body.acks).toBe(-1);
      const topicData = produce.body.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: unknown }> }>;
      expect(topicData[0]?.name).toBe(PROBE_TOPIC);
      const batch = topicData[0]?.partitionData[0]?.records as Buffer;
      const count = batch.readInt32BE(57);
      expectRecordBatch(batch, count);
      records += count;
    }
    expect(records).toBe(2);
  }, 30_000);
});
