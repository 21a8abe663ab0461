/**
 * A seeded random-frame fuzzer against a real broker process: garbage bytes, truncated and
 * oversized frames, unknown API keys and versions, and valid requests with mutated bytes. The
 * broker may answer with an error or close that one connection, but it must keep serving a
 * bystander connection throughout, never crash, and still serve real clients afterwards.
 * The seed is printed; CHRONIK_FUZZ_SEED=<n> replays a run.
 */
import { Socket, connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { encodeMessage } from '../../src/kafka/protocol/codec.js';
import { SERVED_APIS } from '../../src/kafka/apis/registry.js';
import type { FieldDef, MessageDef } from '../../src/kafka/protocol/schema.js';
import { inVersions } from '../../src/kafka/protocol/versions.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaClient } from '../helpers/raw-kafka-client.js';
import { seededRandom } from '../helpers/random.js';

const FRAMES = Number(process.env.CHRONIK_FUZZ_FRAMES ?? 10_000);
const SEED = Number(process.env.CHRONIK_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A plausible value for every field, so the codec produces a well-formed body to mutate. */
function sampleValue(fields: readonly FieldDef[], version: number, rand: () => number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inVersions(f.versions, version)) continue;
    const one = (): unknown => {
      switch (f.type) {
        case 'bool': return rand() < 0.5;
        case 'int8': return Math.floor(rand() * 8) - 1;
        case 'int16': case 'int32': case 'uint16': case 'uint32': return Math.floor(rand() * 20) - 1;
        case 'int64': return Math.floor(rand() * 1000) - 2;
        case 'float64': return rand();
        case 'uuid': return '00000000-0000-0000-0000-000000000000';
        case 'string': return ['fuzz', '', 'topic-a', '__consumer_offsets', 'x'.repeat(300)][Math.floor(rand() * 5)];
        case 'bytes': case 'records': return Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
        case 'struct': return sampleValue(f.fields ?? [], version, rand);
      }
    };
    out[f.name] = f.array ? Array.from({ length: Math.floor(rand() * 3) }, one) : one();
  }
  return out;
}

function header(apiKey: number, apiVersion: number, correlationId: number, flexible: boolean): Buffer {
  const id = Buffer.from('fuzzer');
  const b = Buffer.alloc(10 + id.length + (flexible ? 1 : 0));
  b.writeInt16BE(apiKey, 0);
  b.writeInt16BE(apiVersion, 2);
  b.writeInt32BE(correlationId, 4);
  b.writeInt16BE(id.length, 8);
  id.copy(b, 10);
  return b; // the trailing byte, when flexible, is the empty tagged-field section (0)
}

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function makeFrame(rand: () => number, correlationId: number): Buffer {
  const kind = rand();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  if (kind < 0.1) {
    // Pure garbage, length prefix included.
    return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
  }
  if (kind < 0.2) {
    // Unknown API key or out-of-range version with an arbitrary body.
    const apiKey = rand() < 0.5 ? 1000 + Math.floor(rand() * 30000) : pick(SERVED_APIS).apiKey;
    const version = rand() < 0.5 ? 200 + Math.floor(rand() * 1000) : -1 - Math.floor(rand() * 5);
    return frame(Buffer.concat([header(apiKey, version, correlationId, false), Buffer.alloc(Math.floor(rand() * 32), 7)]));
  }
  if (kind < 0.25) {
    // A length prefix that lies: negative, huge, or longer than what follows.
    const b = Buffer.alloc(8);
    b.writeInt32BE(pick([-1, -2147483648, 2147483647, 104857601, 50]));
    b.writeInt32BE(Math.floor(rand() * 2 ** 31), 4);
    return b;
  }
  // A valid request for a random API and version, then mutated.
  const api = pick(SERVED_APIS);
  const version = api.minVersion + Math.floor(rand() * (api.maxVersion - api.minVersion + 1));
  const def: MessageDef = api.request;
  const flexible = inVersions(def.flexibleVersions, version);
  let body: Buffer;
  try {
    body = encodeMessage(def, version, sampleValue(def.fields, version, rand));
  } catch {
    body = Buffer.alloc(0);
  }
  const hdr = header(api.apiKey, version, correlationId, flexible);
  const full = Buffer.concat([flexible ? Buffer.concat([hdr, Buffer.from([0])]) : hdr, body]);
  const mutation = rand();
  if (mutation < 0.3 && full.length > 0) {
    for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) full[Math.floor(rand() * full.length)] = Math.floor(rand() * 256);
    return frame(full);
  }
  if (mutation < 0.55) return frame(full.subarray(0, Math.floor(rand() * full.length)));
  if (mutation < 0.7) return frame(Buffer.concat([full, Buffer.alloc(1 + Math.floor(rand() * 16), 0xff)]));
  return frame(full);
}

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBrokerProcess({});
});
afterAll(async () => {
  await broker?.stop();
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

test(`fuzzed frames never take the broker down (seed ${SEED}, ${FRAMES} frames)`, async () => {
  console.log(`fuzz seed ${SEED} (replay with CHRONIK_FUZZ_SEED=${SEED})`);
  const rand = seededRandom(SEED);

  // A bystander keeps asking for metadata on its own connection and must always be answered with
  // a response that decodes. (A raw client: kafkajs's admin turns a failed metadata call into a
  // TypeError that no longer says what failed.)
  const kafka = new Kafka({ clientId: 'bystander', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const bystander = await RawKafkaClient.open(broker.kafkaPort, 'bystander');
  let bystanderOk = 0;
  let bystanderErrors = 0;
  let fuzzing = true;
  const watcher = (async () => {
    while (fuzzing) {
      try {
        const md = await bystander.call(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 10_000);
        if (!Array.isArray(md['brokers']) || md['brokers'].length !== 1) throw new Error(`metadata names ${JSON.stringify(md['brokers'])} as brokers`);
        bystanderOk++;
      } catch (e) {
        bystanderErrors++;
        console.log(`bystander error: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  let sent = 0;
  let closedByBroker = 0;
  const deadline = Date.now() + 120_000;
  while (sent < FRAMES && Date.now() < deadline) {
    const sock = await open(broker.kafkaPort);
    let closed = false;
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    sock.on('data', () => undefined);
    // A burst of frames on this connection until the broker closes it or the burst ends.
    const burst = 1 + Math.floor(rand() * 50);
    for (let i = 0; i < burst && !closed && sent < FRAMES; i++) {
      const ok = sock.write(makeFrame(rand, sent));
      sent++;
      if (!ok) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 5));
    if (closed) closedByBroker++;
    sock.destroy();
  }
  fuzzing = false;
  await watcher;
  bystander.close();
  console.log(`fuzz: ${sent} frames, ${closedByBroker} connections closed by the broker, bystander ${bystanderOk} ok / ${bystanderErrors} errors`);

  expect(sent).toBe(FRAMES);
  expect(broker.exited).toBe(false);
  expect(bystanderErrors).toBe(0);
  expect(bystanderOk).toBeGreaterThan(0);

  // Real clients still work afterwards.
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'after-fuzz', messages: [{ value: 'still alive' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'after-fuzz' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'after-fuzz', fromBeginning: true });
  const got = await new Promise<string>((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
  });
  await consumer.disconnect();
  expect(got).toBe('still alive');
  const health = await fetch(`http://127.0.0.1:${broker.httpPort}/healthz`);
  expect(health.status).toBe(200);
}, 300_000);
