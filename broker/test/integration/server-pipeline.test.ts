/**
 * The connection pipeline over real sockets, with a tiny stand-in codec so the framing,
 * ordering, backpressure and failure isolation are tested independently of the real codec:
 * request = apiKey int16, apiVersion int16, correlationId int32, JSON payload;
 * response = size int32, correlationId int32, JSON body.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../src/kafka/protocol/errors.js';
import type { ApiDef, MessageDef } from '../../src/kafka/protocol/schema.js';
import type { FrameCodec } from '../../src/kafka/server/frame-codec.js';
import type { ApiHandler, MessageBody } from '../../src/kafka/server/handler.js';
import { createKafkaServer, type KafkaServer } from '../../src/kafka/server/kafka-server.js';
import { createBrokerMetrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/logger.js';

function def(apiKey: number, name: string, max: number, withErrorCode: boolean): ApiDef {
  const msg = (kind: 'request' | 'response'): MessageDef => ({
    name: `${name}${kind}`,
    apiKey,
    kind,
    validVersions: `0-${max}`,
    flexibleVersions: 'none',
    fields: kind === 'response' && withErrorCode ? [{ name: 'errorCode', type: 'int16', versions: '0+' }] : [],
  });
  return { apiKey, name, minVersion: 0, maxVersion: max, request: msg('request'), response: msg('response') };
}

const ECHO = def(100, 'Echo', 2, true);
const NO_ERROR_FIELD = def(101, 'Bare', 0, false);
const API_VERSIONS = def(18, 'ApiVersions', 3, true);

const fakeCodec: FrameCodec = {
  decodeRequest(frame, lookup) {
    if (frame.length < 8) return { ok: false, reason: 'malformed', message: `frame of ${frame.length} bytes is too short` };
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const api = lookup(apiKey);
    if (!api) return { ok: false, reason: 'unknown-api', apiKey, apiVersion, correlationId, message: `unknown api key ${apiKey}` };
    if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
      return { ok: false, reason: 'unsupported-version', apiKey, apiVersion, correlationId, message: `unsupported version ${apiVersion}` };
    }
    try {
      const body = frame.length > 8 ? (JSON.parse(frame.subarray(8).toString('utf8')) as MessageBody) : {};
      return { ok: true, apiKey, apiVersion, correlationId, clientId: null, body };
    } catch (err) {
      return { ok: false, reason: 'malformed', apiKey, apiVersion, correlationId, message: `bad json: ${(err as Error).message}` };
    }
  },
  encodeResponse(_api, version, correlationId, body) {
    const json = Buffer.from(JSON.stringify({ version, ...body }));
    const out = Buffer.alloc(8 + json.length);
    out.writeInt32BE(4 + json.length, 0);
    out.writeInt32BE(correlationId, 4);
    json.copy(out, 8);
    return out;
  },
};

function request(apiKey: number, version: number, correlationId: number, body?: unknown): Buffer {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  const out = Buffer.alloc(12 + payload.length);
  out.writeInt32BE(8 + payload.length, 0);
  out.writeInt16BE(apiKey, 4);
  out.writeInt16BE(version, 6);
  out.writeInt32BE(correlationId, 8);
  payload.copy(out, 12);
  return out;
}

interface Response {
  correlationId: number;
  body: Record<string, unknown>;
}

/** A raw client that collects responses and notices when the server closes. */
class RawClient {
  readonly responses: Response[] = [];
  closed = false;
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.responses.push({ correlationId: frame.readInt32BE(0), body: JSON.parse(frame.subarray(4).toString('utf8')) });
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.responses.length} responses, closed=${this.closed}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

let server: KafkaServer | null = null;
let metrics = createBrokerMetrics(undefined, false);
afterEach(async () => {
  await server?.stop(1000);
  server = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(handlers: ApiHandler[], opts: { maxInFlight?: number; maxFrameBytes?: number; idleTimeoutMs?: number } = {}): Promise<number> {
  server = createKafkaServer({
    host: '127.0.0.1',
    port: 0,
    handlers,
    apiVersionsApi: API_VERSIONS,
    codec: fakeCodec,
    logger: silentLogger(),
    metrics: (metrics = createBrokerMetrics(undefined, false)),
    ...(opts.maxInFlight !== undefined ? { maxInFlightPerConnection: opts.maxInFlight } : {}),
    ...(opts.maxFrameBytes !== undefined ? { maxFrameBytes: opts.maxFrameBytes } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
  });
  await server.start();
  return server.port;
}

/** Echo: waits body.delay ms, returns null when body.silent (like acks=0), fails as body.fail says. */
async function echoAsync(body: MessageBody, apiVersion: number): Promise<MessageBody | null> {
  if (typeof body['delay'] === 'number') await sleep(body['delay']);
  if (body['fail'] === 'kafka') throw new KafkaError(ErrorCode.INVALID_REQUEST, 'bad request');
  if (body['fail'] === 'crash') throw new Error('handler bug');
  if (body['fail'] === 'undefined') return undefined as unknown as MessageBody;
  if (body['silent'] === true) return null;
  return { value: body['value'] ?? null, seenVersion: apiVersion };
}

const echo: ApiHandler = {
  api: ECHO,
  handle: (body, ctx) => {
    if (body['fail'] === 'sync-throw') throw new TypeError('thrown before returning a promise');
    return echoAsync(body, ctx.apiVersion);
  },
};

describe('kafka server pipeline', () => {
  it('answers pipelined requests strictly in request order, even when later ones finish first', async () => {
    const port = await start([echo]);
    const client = await RawClient.open(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 30; i++) frames.push(request(100, 1, i, { value: i, delay: (30 - i) * 3 }));
    client.socket.write(Buffer.concat(frames));
    await client.until(() => client.responses.length === 30);
    expect(client.responses.map((r) => r.correlationId)).toEqual([...Array(30).keys()]);
    expect(client.responses.map((r) => r.body['value'])).toEqual([...Array(30).keys()]);
    client.socket.destroy();
  });

  it('reassembles frames split at every byte boundary', async () => {
    const port = await start([echo]);
    const client = await RawClient.open(port);
    const bytes = Buffer.concat([request(100, 0, 7, { value: 'a' }), request(100, 2, 8, { value: 'b' })]);
    for (let i = 0; i < bytes.length; i++) {
      client.socket.write(bytes.subarray(i, i + 1));
      if (i % 7 === 0) await sleep(1);
    }
    await client.until(() => client.responses.length === 2);
    expect(client.responses).toEqual([
      { correlationId: 7, body: { version: 0, value: 'a', seenVersion: 0 } },
      { correlationId: 8, body: { version: 2, value: 'b', seenVersion: 2 } },
    ]);
    client.socket.destroy();
  });

  it('sends nothing for a null (acks=0) response and does not stall the ones after it', async () => {
    const port = await start([echo]);
    const client = await RawClient.open(port);
    client.socket.write(
      Buffer.concat([
        request(100, 0, 1, { value: 1, delay: 20 }),
        request(100, 0, 2, { silent: true, delay: 40 }),
        request(100, 0, 3, { value: 3 }),
      ]),
    );
    await client.until(() => client.responses.length === 2);
    await sleep(50);
    expect(client.responses.map((r) => r.correlationId)).toEqual([1, 3]);
    client.socket.destroy();
  });

  it('limits in-flight requests per connection and still answers all of them', async () => {
    let running = 0;
    let maxRunning = 0;
    const slow: ApiHandler = {
      api: ECHO,
      handle: async (body) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(5);
        running--;
        return { value: body['value'] ?? null };
      },
    };
    const port = await start([slow], { maxInFlight: 4 });
    const client = await RawClient.open(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 100; i++) frames.push(request(100, 0, i, { value: i }));
    client.socket.write(Buffer.concat(frames));
    await client.until(() => client.responses.length === 100);
    expect(maxRunning).toBeLessThanOrEqual(4);
    expect(maxRunning).toBeGreaterThan(1);
    expect(client.responses.map((r) => r.correlationId)).toEqual([...Array(100).keys()]);
    client.socket.destroy();
  });

  it('stops handling requests for a client that does not read its responses, without blocking others', async () => {
    let handled = 0;
    const big: ApiHandler = {
      api: ECHO,
      handle: async (body) => {
        handled++;
        return { value: body['value'] ?? null, pad: 'x'.repeat(256 * 1024) };
      },
    };
    const port = await start([big], { maxInFlight: 8 });
    const stalled = await RawClient.open(port);
    stalled.socket.pause();
    const frames: Buffer[] = [];
    for (let i = 0; i < 300; i++) frames.push(request(100, 0, i, { value: i }));
    stalled.socket.write(Buffer.concat(frames));
    await sleep(500);
    // 300 x 256 KiB would be 75 MiB of responses; the server stops once the socket buffers fill.
    expect(handled).toBeLessThan(100);
    const other = await RawClient.open(port);
    other.socket.write(request(100, 0, 1, { value: 'other' }));
    await other.until(() => other.responses.length === 1);
    expect(other.responses[0]?.body['value']).toBe('other');
    // Once the stalled client reads, everything is answered in order.
    stalled.socket.resume();
    await stalled.until(() => stalled.responses.length === 300, 30_000);
    expect(stalled.responses.map((r) => r.correlationId)).toEqual([...Array(300).keys()]);
    stalled.socket.destroy();
    other.socket.destroy();
  });

  it('puts a KafkaError into the top-level errorCode when the response has one', async () => {
    const port = await start([echo]);
    const client = await RawClient.open(port);
    client.socket.write(Buffer.concat([request(100, 0, 1, { fail: 'kafka' }), request(100, 0, 2, { value: 'next' })]));
    await client.until(() => client.responses.length === 2);
    expect(client.responses[0]).toEqual({ correlationId: 1, body: { version: 0, errorCode: ErrorCode.INVALID_REQUEST, throttleTimeMs: 0 } });
    expect(client.responses[1]?.body['value']).toBe('next');
    expect(client.closed).toBe(false);
    client.socket.destroy();
  });

  it('closes only the offending connection for a KafkaError without an errorCode field, a crash, bad input', async () => {
    const bare: ApiHandler = { api: NO_ERROR_FIELD, handle: async () => { throw new KafkaError(ErrorCode.INVALID_REQUEST, 'nope'); } };
    const port = await start([echo, bare]);
    const healthy = await RawClient.open(port);
    const cases: Buffer[] = [
      request(101, 0, 1),                                      // KafkaError, response lacks errorCode
      request(100, 0, 1, { fail: 'crash' }),                   // handler throws a plain Error
      request(100, 0, 1, { fail: 'undefined' }),               // handler breaks the contract
      request(100, 0, 1, { fail: 'sync-throw' }),              // handler throws instead of returning a promise
      request(555, 0, 1),                                      // unknown api key
      request(100, 9, 1),                                      // unsupported version of a non-ApiVersions api
      Buffer.from([0, 0, 0, 3, 1, 2, 3]),                      // frame too short to hold a header
      Buffer.concat([request(100, 0, 1).subarray(0, 12), Buffer.from('{garbage')]), // size matches, body garbage
      Buffer.from([0xff, 0xff, 0xff, 0xfe]),                   // negative size
      Buffer.from([0x7f, 0xff, 0xff, 0xff]),                   // 2 GiB size
    ];
    // The garbage-body case needs its size prefix fixed up.
    const g = cases[7] as Buffer;
    g.writeInt32BE(g.length - 4, 0);
    for (const bytes of cases) {
      const bad = await RawClient.open(port);
      bad.socket.write(bytes);
      await bad.until(() => bad.closed);
      expect(bad.responses).toEqual([]);
      healthy.socket.write(request(100, 0, 42, { value: 'still here' }));
      await healthy.until(() => healthy.responses.length > 0);
      expect(healthy.responses.pop()?.body['value']).toBe('still here');
    }
    expect(healthy.closed).toBe(false);
    healthy.socket.destroy();
  });

  it('closes a connection whose frame exceeds the configured maximum', async () => {
    const port = await start([echo], { maxFrameBytes: 1024 });
    const client = await RawClient.open(port);
    client.socket.write(request(100, 0, 1, { value: 'x'.repeat(2000) }));
    await client.until(() => client.closed);
    expect(client.responses).toEqual([]);
  });

  it('closes connections idle for longer than connections.max.idle.ms, not busy ones', async () => {
    const port = await start([echo], { idleTimeoutMs: 300 });
    const idle = await RawClient.open(port);
    const busy = await RawClient.open(port);
    for (let i = 0; i < 8; i++) {
      busy.socket.write(request(100, 0, i, { value: i }));
      await sleep(100);
    }
    await idle.until(() => idle.closed, 3000);
    expect(busy.closed).toBe(false);
    expect(busy.responses).toHaveLength(8);
    busy.socket.destroy();
  });

  it('answers ApiVersions itself, advertising exactly the registered APIs, and error 35 for an unsupported version', async () => {
    const port = await start([echo]);
    const client = await RawClient.open(port);
    client.socket.write(Buffer.concat([request(18, 2, 1), request(18, 7, 2), request(18, 0, 3)]));
    await client.until(() => client.responses.length === 3);
    const keys = [
      { apiKey: 18, minVersion: 0, maxVersion: 3 },
      { apiKey: 100, minVersion: 0, maxVersion: 2 },
    ];
    expect(client.responses[0]).toEqual({ correlationId: 1, body: { version: 2, errorCode: 0, apiKeys: keys, throttleTimeMs: 0 } });
    // An unsupported ApiVersions version is answered in v0 with UNSUPPORTED_VERSION.
    expect(client.responses[1]).toEqual({ correlationId: 2, body: { version: 0, errorCode: 35, apiKeys: keys, throttleTimeMs: 0 } });
    expect(client.responses[2]?.correlationId).toBe(3);
    expect(client.closed).toBe(false);
    client.socket.destroy();
  });

  it('stops gracefully: in-flight long polls are aborted, answered, then sockets close', async () => {
    const longPoll: ApiHandler = {
      api: ECHO,
      handle: (body, ctx) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve({ value: 'timeout' }), 30_000);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve({ value: 'aborted' });
          });
        }),
    };
    const port = await start([longPoll]);
    const client = await RawClient.open(port);
    client.socket.write(request(100, 0, 9));
    await sleep(50);
    expect((await metrics.requestsInFlight.get()).values[0]?.value).toBe(1);
    expect((await metrics.connections.get()).values[0]?.value).toBe(1);
    const t0 = Date.now();
    await server?.stop(5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    await client.until(() => client.closed);
    expect(client.responses).toEqual([{ correlationId: 9, body: { version: 0, value: 'aborted' } }]);
    expect((await metrics.requestsInFlight.get()).values[0]?.value).toBe(0);
    expect((await metrics.connections.get()).values[0]?.value).toBe(0);
    // No new connections once stopped.
    await expect(RawClient.open(port)).rejects.toThrow();
  });
});
