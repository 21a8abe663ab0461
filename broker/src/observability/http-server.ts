import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

/** One named readiness condition, e.g. "kafka-listener" or "storage-recovered". */
export interface ReadinessCheck {
  readonly name: string;
  ready(): boolean;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly checks: () => readonly ReadinessCheck[];
}

export interface ObservabilityServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<ObservabilityServer> {
  const { registry, logger } = options;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'text/plain', 'ok\n');
    } else if (path === '/readyz') {
      const results = options.checks().map((c) => ({ name: c.name, ready: safeReady(c) }));
      const ready = results.every((r) => r.ready);
      send(res, ready ? 200 : 503, 'application/json', JSON.stringify({ ready, checks: results }) + '\n');
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(res, 200, registry.contentType, text),
        (err: unknown) => {
          logger.error({ err }, 'collecting metrics failed');
          send(res, 500, 'text/plain', 'metrics collection failed\n');
        },
      );
    } else {
      send(res, 404, 'text/plain', 'not found\n');
    }
  });
  // Probes must not be held open by keep-alive when the broker stops.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'http server error'));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function safeReady(check: ReadinessCheck): boolean {
  try {
    return check.ready();
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
