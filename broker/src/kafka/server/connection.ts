import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../observability/logger.js';
import type { BrokerMetrics } from '../../observability/metrics.js';
import { KafkaError } from '../protocol/errors.js';
import type { ApiDef } from '../protocol/schema.js';
import { inVersions } from '../protocol/versions.js';
import { API_VERSIONS_KEY, unsupportedApiVersionsBody } from '../apis/api-versions.js';
import type { FrameCodec } from './frame-codec.js';
import { FrameReader, FrameTooLargeError } from './framing.js';
import type { ApiHandler, MessageBody, RequestContext } from './handler.js';

export interface ConnectionOptions {
  readonly id: number;
  readonly socket: Socket;
  readonly codec: FrameCodec;
  readonly handlers: ReadonlyMap<number, ApiHandler>;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly onClose: (connection: Connection) => void;
}

/** An encoded response: one buffer, or pieces to write in order (large payloads by reference). */
type Encoded = Buffer | Buffer[];

/** One request's place in the response order; `response` stays undefined until it is known. */
interface Slot {
  done: boolean;
  response: Encoded | null;
}

/**
 * One client connection. Requests are dispatched to their handlers in arrival order and may
 * run concurrently; responses are written strictly in request order. A handler is invoked
 * synchronously as its frame is read, so work it does before its first await happens in
 * request order (Produce relies on this to append pipelined batches in order).
 */
export class Connection {
  readonly remoteAddress: string;
  private readonly reader: FrameReader;
  private readonly slots: Slot[] = [];
  /** Whole frames read but not yet dispatched because the in-flight window is full. */
  private readonly waiting: Buffer[] = [];
  private readonly abort = new AbortController();
  private closed = false;
  private pumping = false;
  private draining = false;
  private pausedForDrain = false;
  private pausedForInFlight = false;
  private idleWaiters: (() => void)[] = [];
  private readonly log: Logger;
  private readonly traceEnabled: boolean;
  private readonly socket: Socket;

  constructor(private readonly options: ConnectionOptions) {
    const { socket } = options;
    this.socket = socket;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.log = options.logger.child({ conn: options.id, remote: this.remoteAddress });
    this.traceEnabled = this.log.isLevelEnabled('trace');
    this.reader = new FrameReader(options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pausedForDrain = false;
      this.pump();
    });
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.onSocketClosed());
  }

  get id(): number {
    return this.options.id;
  }

  get inFlight(): number {
    return this.slots.length;
  }

  /** Stops reading new requests, lets in-flight ones finish (their long polls are aborted), then closes. */
  async drainAndClose(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.draining = true;
    this.options.socket.pause();
    this.abort.abort(new Error('broker shutting down'));
    if (this.slots.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.slots.length > 0) this.log.warn({ inFlight: this.slots.length }, 'closing connection with requests still in flight');
    await new Promise<void>((resolve) => {
      const { socket } = this;
      if (this.closed) return resolve();
      socket.once('close', () => resolve());
      // Once our last response is handed to the kernel we are done; clients need not close first.
      socket.end(() => socket.destroy());
      // A peer that never reads must not hold shutdown forever.
      setTimeout(() => socket.destroy(), Math.max(100, timeoutMs)).unref();
    });
  }

  /** Closes immediately (bad input, handler failure). */
  destroy(): void {
    if (this.closed) return;
    this.options.socket.destroy();
    this.onSocketClosed();
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.abort.signal.aborted) this.abort.abort(new Error('connection closed'));
    this.slots.length = 0;
    this.waiting.length = 0;
    this.notifyIdle();
    this.options.onClose(this);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.options.metrics.bytesIn.inc(chunk.length);
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        this.options.metrics.protocolFailures.inc({ reason: 'frame-size' });
        this.log.warn({ size: err.size, max: err.maxBytes }, `closing connection: ${err.message}`);
      } else {
        this.log.error({ err }, 'closing connection: framing failed');
      }
      this.destroy();
      return;
    }
    for (const frame of frames) this.waiting.push(frame);
    this.pump();
  }

  /** Dispatches waiting frames while the in-flight window has room. */
  private pump(): void {
    // A response completed synchronously inside onFrame re-enters here; the outer loop carries on.
    if (this.pumping) return;
    this.pumping = true;
    try {
      // A client that is not reading its responses gets no more requests handled until it does.
      while (this.waiting.length > 0 && this.slots.length < this.options.maxInFlight && !this.pausedForDrain && !this.closed && !this.draining) {
        this.onFrame(this.waiting.shift() as Buffer);
      }
    } finally {
      this.pumping = false;
    }
    this.updateReading();
  }

  private onFrame(frame: Buffer): void {
    const { codec, handlers, metrics } = this.options;
    const decoded = codec.decodeRequest(frame, (key) => handlers.get(key)?.api);
    if (!decoded.ok) {
      if (decoded.reason === 'unsupported-version' && decoded.apiKey === API_VERSIONS_KEY && decoded.correlationId !== undefined) {
        this.respondUnsupportedApiVersions(decoded.correlationId, decoded.apiVersion);
        return;
      }
      metrics.protocolFailures.inc({ reason: decoded.reason });
      const level = decoded.reason === 'malformed' ? 'warn' : 'info';
      this.log[level](
        { reason: decoded.reason, apiKey: decoded.apiKey, apiVersion: decoded.apiVersion, correlationId: decoded.correlationId },
        `closing connection: ${decoded.message}`,
      );
      this.destroy();
      return;
    }
    const handler = handlers.get(decoded.apiKey);
    if (!handler) {
      // The codec resolved the key through our registry, so this only happens if they disagree.
      this.log.warn({ apiKey: decoded.apiKey }, 'closing connection: no handler for api');
      this.destroy();
      return;
    }
    const ctx: RequestContext = {
      apiKey: decoded.apiKey,
      apiVersion: decoded.apiVersion,
      correlationId: decoded.correlationId,
      clientId: decoded.clientId,
      connectionId: this.options.id,
      remoteAddress: this.remoteAddress,
      signal: this.abort.signal,
    };
    const slot: Slot = { done: false, response: null };
    this.slots.push(slot);
    metrics.requests.inc({ api: handler.api.name, version: String(decoded.apiVersion) });
    metrics.requestsInFlight.inc();
    const started = performance.now();
    const finished = () => {
      const seconds = (performance.now() - started) / 1000;
      metrics.requestsInFlight.dec();
      metrics.requestLatency.observe({ api: handler.api.name }, seconds);
      if (this.traceEnabled) {
        this.log.trace({ api: handler.api.name, apiVersion: ctx.apiVersion, correlationId: ctx.correlationId, clientId: ctx.clientId, ms: seconds * 1000 }, 'request handled');
      }
    };
    let pending: Promise<MessageBody | null>;
    try {
      // Promise.resolve: a handler that breaks the contract and returns a plain value still works.
      pending = Promise.resolve(handler.handle(decoded.body, ctx));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (body) => {
        finished();
        if (body === null) {
          this.complete(slot, null);
          return;
        }
        if (typeof body !== 'object' || body === undefined) {
          this.onHandlerError(slot, handler.api, ctx, new Error(`handler returned ${typeof body} instead of a body or null`));
          return;
        }
        const code = body['errorCode'];
        if (typeof code === 'number' && code !== 0) metrics.errors.inc({ api: handler.api.name, code: String(code) });
        this.complete(slot, this.encode(handler.api, ctx, body));
      },
      (err: unknown) => {
        finished();
        this.onHandlerError(slot, handler.api, ctx, err);
      },
    );
  }

  private encode(api: ApiDef, ctx: Pick<RequestContext, 'apiVersion' | 'correlationId'>, body: MessageBody): Encoded | undefined {
    try {
      const { codec } = this.options;
      if (codec.encodeResponseParts) return codec.encodeResponseParts(api, ctx.apiVersion, ctx.correlationId, body);
      return codec.encodeResponse(api, ctx.apiVersion, ctx.correlationId, body);
    } catch (err) {
      this.log.error({ err, api: api.name, apiVersion: ctx.apiVersion, correlationId: ctx.correlationId }, 'closing connection: response encoding failed');
      this.options.metrics.protocolFailures.inc({ reason: 'encode' });
      this.destroy();
      return undefined;
    }
  }

  private onHandlerError(slot: Slot, api: ApiDef, ctx: RequestContext, err: unknown): void {
    if (this.closed) return;
    const fields = { api: api.name, apiVersion: ctx.apiVersion, correlationId: ctx.correlationId };
    if (err instanceof KafkaError) {
      this.options.metrics.errors.inc({ api: api.name, code: String(err.code) });
      if (hasTopLevelField(api, 'errorCode', ctx.apiVersion)) {
        const body: MessageBody = { errorCode: err.code, throttleTimeMs: 0 };
        if (hasTopLevelField(api, 'errorMessage', ctx.apiVersion)) body['errorMessage'] = err.message;
        this.log.debug({ ...fields, code: err.code, msg: err.message }, 'request failed');
        const encoded = this.encode(api, ctx, body);
        if (encoded) this.complete(slot, encoded);
        return;
      }
      this.log.info({ ...fields, code: err.code }, `closing connection: ${err.message} (response has no top-level errorCode)`);
      this.options.metrics.protocolFailures.inc({ reason: 'kafka-error' });
    } else {
      this.log.error({ ...fields, err }, 'closing connection: handler failed');
      this.options.metrics.protocolFailures.inc({ reason: 'handler' });
    }
    this.destroy();
  }

  private respondUnsupportedApiVersions(correlationId: number, requested: number | undefined): void {
    const handler = this.options.handlers.get(API_VERSIONS_KEY);
    if (!handler) {
      this.destroy();
      return;
    }
    this.log.debug({ requested }, 'ApiVersions version unsupported; answering with v0 and error 35');
    const apis = [...this.options.handlers.values()].map((h) => h.api);
    const encoded = this.encode(handler.api, { apiVersion: 0, correlationId }, unsupportedApiVersionsBody(apis));
    if (!encoded) return;
    const slot: Slot = { done: false, response: null };
    this.slots.push(slot);
    this.complete(slot, encoded);
  }

  private complete(slot: Slot, response: Encoded | null | undefined): void {
    if (this.closed || response === undefined) return;
    slot.done = true;
    slot.response = response;
    this.flush();
  }

  /** Writes every finished response at the head of the queue, in request order. */
  private flush(): void {
    const { socket, metrics } = this.options;
    let written = 0;
    while (this.slots.length > 0 && (this.slots[0] as Slot).done) {
      const slot = this.slots.shift() as Slot;
      if (slot.response === null) continue;
      // Several ready responses leave in one write instead of one syscall each.
      if (written === 0) socket.cork();
      const parts = Array.isArray(slot.response) ? slot.response : [slot.response];
      for (const part of parts) {
        if (part.length === 0) continue;
        written += part.length;
        if (!socket.write(part)) this.pausedForDrain = true;
      }
    }
    if (written > 0) {
      metrics.bytesOut.inc(written);
      process.nextTick(() => socket.uncork());
    }
    if (this.slots.length === 0) this.notifyIdle();
    this.pump();
  }

  private updateReading(): void {
    if (this.closed || this.draining) return;
    this.pausedForInFlight = this.waiting.length > 0 || this.slots.length >= this.options.maxInFlight;
    const { socket } = this.options;
    if (this.pausedForDrain || this.pausedForInFlight) {
      if (!socket.isPaused()) socket.pause();
    } else if (socket.isPaused()) {
      socket.resume();
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function hasTopLevelField(api: ApiDef, name: string, version: number): boolean {
  return api.response.fields.some((f) => f.name === name && inVersions(f.versions, version));
}

