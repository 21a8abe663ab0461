import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../observability/logger.js';
import type { BrokerMetrics } from '../../observability/metrics.js';
import type { ApiDef } from '../protocol/schema.js';
import { API_VERSIONS_KEY, createApiVersionsHandler } from '../apis/api-versions.js';
import { Connection } from './connection.js';
import type { FrameCodec } from './frame-codec.js';
import type { ApiHandler } from './handler.js';

import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT } from './limits.js';

export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT };

export interface KafkaServerOptions {
  readonly host: string;
  /** 0 picks a free port; read it back from `port` after `start()`. */
  readonly port: number;
  readonly handlers: readonly ApiHandler[];
  /** The ApiVersions definition; the server answers ApiVersions itself from `handlers`. */
  readonly apiVersionsApi: ApiDef;
  readonly codec: FrameCodec;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  /** socket.request.max.bytes */
  readonly maxFrameBytes?: number;
  readonly maxInFlightPerConnection?: number;
  readonly idleTimeoutMs?: number;
}

export interface KafkaServer {
  /** The bound port (valid after start()). */
  readonly port: number;
  readonly listening: boolean;
  readonly connectionCount: number;
  start(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish for up to `timeoutMs`, closes every socket. */
  stop(timeoutMs?: number): Promise<void>;
}

export function createKafkaServer(options: KafkaServerOptions): KafkaServer {
  const handlers = new Map<number, ApiHandler>();
  for (const h of options.handlers) {
    if (handlers.has(h.api.apiKey)) throw new Error(`two handlers registered for api key ${h.api.apiKey} (${h.api.name})`);
    handlers.set(h.api.apiKey, h);
  }
  if (!handlers.has(API_VERSIONS_KEY)) {
    handlers.set(API_VERSIONS_KEY, createApiVersionsHandler(options.apiVersionsApi, () => [...handlers.values()].map((h) => h.api)));
  }
  const { logger, metrics } = options;
  const connections = new Set<Connection>();
  let nextConnectionId = 1;
  let listening = false;
  let stopping: Promise<void> | null = null;
  let port = 0;

  const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    socket.setTimeout(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, () => {
      logger.debug({ remote: socket.remoteAddress }, 'closing idle connection');
      socket.destroy();
    });
    const connection = new Connection({
      id: nextConnectionId++,
      socket,
      codec: options.codec,
      handlers,
      logger,
      metrics,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxInFlight: options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT,
      onClose: (c) => {
        if (connections.delete(c)) metrics.connections.dec();
        logger.debug({ conn: c.id, remote: c.remoteAddress }, 'connection closed');
      },
    });
    connections.add(connection);
    logger.debug({ conn: connection.id, remote: connection.remoteAddress }, 'connection opened');
    metrics.connections.inc();
    metrics.connectionsTotal.inc();
  });
  server.on('error', (err) => logger.error({ err }, 'kafka listener error'));

  return {
    get port() {
      return port;
    },
    get listening() {
      return listening;
    },
    get connectionCount() {
      return connections.size;
    },
    async start() {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen(options.port, options.host, () => {
          server.off('error', onError);
          resolve();
        });
      });
      port = (server.address() as AddressInfo).port;
      listening = true;
      logger.info({ host: options.host, port, apis: handlers.size }, 'kafka listener started');
    },
    stop(timeoutMs = 10_000) {
      stopping ??= (async () => {
        listening = false;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.drainAndClose(timeoutMs)));
        await closed;
        logger.info('kafka listener stopped');
      })();
      return stopping;
    },
  };
}
