import { connect, type Socket } from 'node:net';
import { decodeResponseFrame, encodeRequestFrame } from '../../src/kafka/protocol/headers.js';
import { apiByKey } from '../../src/kafka/apis/registry.js';
import type { ApiDef } from '../../src/kafka/protocol/schema.js';

/** Decoded bodies in tests are read field by field, so they are loosely typed on purpose. */
export type RawBody = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function resolveApi(api: ApiDef | number): ApiDef {
  if (typeof api !== 'number') return api;
  const def = apiByKey(api);
  if (!def) throw new Error(`no definition for api key ${api}`);
  return def;
}

/**
 * A minimal pipelined Kafka client over a raw socket, for tests that need exact control of the
 * request (versions, field values, malformed bodies). Responses come back in request order.
 */
export class RawKafkaClient {
  private buffered = Buffer.alloc(0);
  private readonly pending: ((frame: Buffer) => void)[] = [];
  private nextId = 1;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.pending.shift()?.(frame);
      }
    });
  }

  static open(port: number, clientId = 'raw-test'): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawKafkaClient(s, clientId)));
      s.once('error', reject);
    });
  }

  async call(apiOrKey: ApiDef | number, version: number, body: RawBody, timeoutMs = 15_000): Promise<RawBody> {
    const api = resolveApi(apiOrKey);
    const correlationId = this.nextId++;
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${api.name} v${version}: no response`)), timeoutMs);
      this.pending.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
      this.socket.write(encodeRequestFrame(api, version, correlationId, this.clientId, body));
    });
    const decoded = decodeResponseFrame(api, version, frame);
    if (decoded.correlationId !== correlationId) {
      throw new Error(`${api.name} v${version}: response correlation id ${decoded.correlationId}, expected ${correlationId}`);
    }
    return decoded.body as RawBody;
  }

  /** Sends without expecting an answer (Produce with acks=0). */
  send(apiOrKey: ApiDef | number, version: number, body: RawBody): void {
    this.socket.write(encodeRequestFrame(resolveApi(apiOrKey), version, this.nextId++, this.clientId, body));
  }

  close(): void {
    this.socket.destroy();
  }
}
