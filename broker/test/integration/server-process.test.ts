/**
 * The real broker process: probes, metrics, a real Kafka client, bad input from raw sockets,
 * and graceful SIGTERM. Frames here are written by hand from the protocol specification so they
 * also check the codec independently.
 */
import { connect, type Socket } from 'node:net';
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../helpers/index.js';
import { apiVersionsApi } from '../../src/kafka/apis/api-versions.js';

function header(apiKey: number, apiVersion: number, correlationId: number, clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const out = Buffer.alloc(10 + id.length);
  out.writeInt16BE(apiKey, 0);
  out.writeInt16BE(apiVersion, 2);
  out.writeInt32BE(correlationId, 4);
  out.writeInt16BE(id.length, 8);
  id.copy(out, 10);
  return out;
}

function frame(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/** ApiVersions v0 request: header v1 and an empty body. */
const apiVersionsV0 = (correlationId: number) => frame(header(18, 0, correlationId, 'raw'));

/** Metadata v0 request for one topic: header v1, then [topics] as int32 count + int16 strings. */
function metadataV0(correlationId: number, topic: string): Buffer {
  const name = Buffer.from(topic);
  const body = Buffer.alloc(6 + name.length);
  body.writeInt32BE(1, 0);
  body.writeInt16BE(name.length, 4);
  name.copy(body, 6);
  return frame(header(3, 0, correlationId, 'raw'), body);
}

class RawConnection {
  private buffered = Buffer.alloc(0);
  readonly frames: Buffer[] = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        this.frames.push(this.buffered.subarray(4, 4 + size));
        this.buffered = this.buffered.subarray(4 + size);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }
  async until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${this.frames.length} frames, closed=${this.closed}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Parses an ApiVersions v0 response body (after the size): correlationId, errorCode, [apiKey min max]. */
function parseApiVersionsV0(f: Buffer) {
  const correlationId = f.readInt32BE(0);
  const errorCode = f.readInt16BE(4);
  const n = f.readInt32BE(6);
  const apis: { apiKey: number; min: number; max: number }[] = [];
  for (let i = 0; i < n; i++) apis.push({ apiKey: f.readInt16BE(10 + i * 6), min: f.readInt16BE(12 + i * 6), max: f.readInt16BE(14 + i * 6) });
  return { correlationId, errorCode, apis };
}

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBrokerProcess({ args: ['--config', 'num.partitions=2', '--node-id', '3'] });
});
afterAll(async () => {
  await broker?.kill();
});

describe('broker process', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    const base = `http://127.0.0.1:${broker.httpPort}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('chronik_kafka_connections');
    expect(metrics).toContain('chronik_process_resident_memory_bytes');
    expect(metrics).toMatch(/chronik_log_flush_rounds \d+/);
  });

  it('answers a hand-written ApiVersions v0 and error 35 (in v0 form) for a future version', async () => {
    const conn = await RawConnection.open(broker.kafkaPort);
    conn.socket.write(Buffer.concat([apiVersionsV0(11), frame(header(18, 99, 12, 'raw'))]));
    await conn.until(() => conn.frames.length === 2);
    const ok = parseApiVersionsV0(conn.frames[0] as Buffer);
    expect(ok.correlationId).toBe(11);
    expect(ok.errorCode).toBe(0);
    const keys = ok.apis.map((a) => a.apiKey);
    expect(keys).toContain(18);
    expect(keys).toContain(3);
    expect(ok.apis.find((a) => a.apiKey === 18)).toEqual({ apiKey: 18, min: apiVersionsApi.api.minVersion, max: apiVersionsApi.api.maxVersion });
    const unsupported = parseApiVersionsV0(conn.frames[1] as Buffer);
    expect(unsupported).toMatchObject({ correlationId: 12, errorCode: 35 });
    expect(unsupported.apis).toEqual(ok.apis);
    conn.socket.destroy();
  });

  it('survives bad input: each bad connection is closed, a healthy one keeps being served', async () => {
    const healthy = await RawConnection.open(broker.kafkaPort);
    const valid = apiVersionsV0(1);
    const badInputs: Buffer[] = [
      Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0]),                      // 2 GiB frame size
      Buffer.from([0xff, 0xff, 0xff, 0xf0]),                            // negative frame size
      frame(header(9999, 0, 1, 'raw')),                                 // unknown api key
      frame(header(3, 999, 1, 'raw')),                                  // unsupported Metadata version
      frame(Buffer.from([0, 3, 0])),                                    // header cut short
      frame(header(3, 1, 1, 'raw'), Buffer.from([0, 0, 0, 5, 0, 200])), // topics count 5, string runs past the end
      frame(header(3, 9, 1, 'raw'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), // flexible header with a garbage varint
      frame(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),          // not Kafka at all
    ];
    for (const [i, bytes] of badInputs.entries()) {
      const bad = await RawConnection.open(broker.kafkaPort);
      bad.socket.write(bytes);
      await bad.until(() => bad.closed);
      expect(bad.frames, `bad input #${i}`).toEqual([]);
      healthy.socket.write(valid);
      await healthy.until(() => healthy.frames.length === i + 1);
    }
    // Truncated frame then hang-up: the broker just drops the connection.
    const truncated = await RawConnection.open(broker.kafkaPort);
    truncated.socket.end(valid.subarray(0, valid.length - 3));
    await truncated.until(() => truncated.closed);
    expect(healthy.closed).toBe(false);
    expect(broker.exited).toBe(false);
    healthy.socket.destroy();
  });

  it('answers Metadata v0 for an unknown-but-valid topic by auto-creating it', async () => {
    const conn = await RawConnection.open(broker.kafkaPort);
    conn.socket.write(metadataV0(5, 'raw-topic'));
    await conn.until(() => conn.frames.length === 1);
    const f = conn.frames[0] as Buffer;
    expect(f.readInt32BE(0)).toBe(5);
    // brokers: [nodeId int32, host string, port int32]
    expect(f.readInt32BE(4)).toBe(1);
    expect(f.readInt32BE(8)).toBe(3);
    conn.socket.destroy();
  });

  it('serves kafkajs: connect, describe the cluster, fetch topic metadata', async () => {
    const kafka = new Kafka({ clientId: 'server-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toEqual([{ nodeId: 3, host: '127.0.0.1', port: broker.kafkaPort }]);
      expect(cluster.controller).toBe(3);
      expect(typeof cluster.clusterId).toBe('string');
      await admin.createTopics({ topics: [{ topic: 'kjs-topic', numPartitions: 3 }] });
      const meta = await admin.fetchTopicMetadata({ topics: ['kjs-topic'] });
      expect(meta.topics[0]?.name).toBe('kjs-topic');
      expect(meta.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
      expect(meta.topics[0]?.partitions.every((p) => p.leader === 3)).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/chronik_kafka_requests_total\{api="Metadata",version="\d+"\} [1-9]/);
    expect(metrics).toMatch(/chronik_kafka_requests_total\{api="CreateTopics",version="\d+"\} 1/);
    expect(metrics).toMatch(/chronik_kafka_bytes_out_total [1-9]/);
    expect(metrics).toMatch(/chronik_kafka_protocol_failures_total\{reason="frame-size"\} [1-9]/);
  });

  it('serves @platformatic/kafka: metadata with auto-creation', async () => {
    const admin = new Admin({ clientId: 'server-test-pk', bootstrapBrokers: [broker.bootstrap], retries: 3 });
    try {
      const meta = await admin.metadata({ topics: ['pk-topic'], autocreateTopics: true });
      expect(meta.controllerId).toBe(3);
      expect([...meta.brokers.keys()]).toEqual([3]);
      expect(meta.brokers.get(3)).toMatchObject({ host: '127.0.0.1', port: broker.kafkaPort });
      const topic = meta.topics.get('pk-topic');
      expect(topic?.partitionsCount).toBe(2);
    } finally {
      await admin.close();
    }
  });

  it('exits 0 on SIGTERM, promptly even with a consumer long-polling, and restarts on the same data', async () => {
    const own = await startBrokerProcess();
    const kafka = new Kafka({ clientId: 'sigterm-test', brokers: [own.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'sigterm', messages: [{ value: 'one' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'sigterm', maxWaitTimeInMs: 25_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'sigterm', fromBeginning: true });
    const first = new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async () => resolve() });
    });
    await first;
    // The consumer is now parked in a 25 s Fetch long poll.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const status = await own.stop('SIGTERM');
    // Well below the 10 s drain bound: the long poll is cut short and nothing waits on the client.
    expect(Date.now() - t0).toBeLessThan(5_000);
    await consumer.disconnect().catch(() => undefined);
    expect(status).toEqual({ code: 0, signal: null });
    expect(own.logs()).toContain('broker stopped');
    await own.restart();
    expect((await fetch(`http://127.0.0.1:${own.httpPort}/readyz`)).status).toBe(200);
    expect(await own.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });
});
