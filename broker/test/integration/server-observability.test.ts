import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type ObservabilityServer } from '../../src/observability/http-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { counter, createBrokerMetrics } from '../../src/observability/metrics.js';

let http: ObservabilityServer | null = null;
afterEach(async () => {
  await http?.close();
  http = null;
});

function capture(): { stream: Writable; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, lines: () => chunks.join('') };
}

describe('observability', () => {
  it('serves /healthz always, /readyz per check, /metrics in Prometheus text format', async () => {
    const metrics = createBrokerMetrics(undefined, true);
    let storage = false;
    http = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      logger: createLogger({ format: 'json', destination: capture().stream }),
      checks: () => [
        { name: 'storage', ready: () => storage },
        { name: 'kafka-listener', ready: () => true },
      ],
    });
    const base = `http://127.0.0.1:${http.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      ready: false,
      checks: [
        { name: 'storage', ready: false },
        { name: 'kafka-listener', ready: true },
      ],
    });
    storage = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    metrics.requests.inc({ api: 'Metadata', version: '12' });
    metrics.bytesIn.inc(100);
    metrics.requestLatency.observe({ api: 'Metadata' }, 0.002);
    counter(metrics.registry, 'chronik_test_things_total', 'things', ['kind']).inc({ kind: 'x' });
    // Registering the same name again returns the existing metric instead of throwing.
    counter(metrics.registry, 'chronik_test_things_total', 'things', ['kind']).inc({ kind: 'x' });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('chronik_kafka_requests_total{api="Metadata",version="12"} 1');
    expect(text).toContain('chronik_kafka_bytes_in_total 100');
    expect(text).toContain('chronik_test_things_total{kind="x"} 2');
    expect(text).toContain('chronik_kafka_request_duration_seconds_bucket{le="0.0025",api="Metadata"} 1');
    expect(text).toContain('chronik_process_cpu_user_seconds_total');

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('logs JSON lines, or pretty text when asked', () => {
    const json = capture();
    createLogger({ format: 'json', level: 'debug', destination: json.stream }).debug({ topic: 't' }, 'hello');
    const line = JSON.parse(json.lines().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 20, topic: 't', msg: 'hello' });
    expect(typeof line['time']).toBe('string');

    const json2 = capture();
    createLogger({ format: 'json', level: 'warn', destination: json2.stream }).info('dropped');
    expect(json2.lines()).toBe('');

    const pretty = capture();
    createLogger({ format: 'pretty', destination: pretty.stream }).info({ topic: 't' }, 'hello pretty');
    expect(pretty.lines()).toMatch(/INFO.*hello pretty/);
    expect(pretty.lines()).toContain('topic: "t"');
    expect(() => JSON.parse(pretty.lines())).toThrow();
  });
});
