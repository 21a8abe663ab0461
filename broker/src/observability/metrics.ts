import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One prom-client registry per broker (not the global one) so several brokers in one test
 * process never collide. Other modules register their own metrics through the helpers below,
 * which return the existing metric when the name is already taken.
 */
export interface BrokerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'version'>;
  readonly requestLatency: Histogram<'api'>;
  readonly connections: Gauge;
  readonly requestsInFlight: Gauge;
  readonly connectionsTotal: Counter;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly errors: Counter<'api' | 'code'>;
  readonly protocolFailures: Counter<'reason'>;
}

export function createMetricsRegistry(): Registry {
  return new Registry();
}

export function counter<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string = string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets?: readonly number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets: [...buckets] } : {}) });
}

export function createBrokerMetrics(registry: Registry = createMetricsRegistry(), withProcessMetrics = true): BrokerMetrics {
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'chronik_' });
  return {
    registry,
    requests: counter(registry, 'chronik_kafka_requests_total', 'Kafka requests handled, by API and version', ['api', 'version']),
    requestLatency: histogram(
      registry,
      'chronik_kafka_request_duration_seconds',
      'Time from a request being read to its response being queued',
      ['api'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    connections: gauge(registry, 'chronik_kafka_connections', 'Open Kafka client connections'),
    requestsInFlight: gauge(registry, 'chronik_kafka_requests_in_flight', 'Kafka requests whose handler has not finished yet, all connections'),
    connectionsTotal: counter(registry, 'chronik_kafka_connections_total', 'Kafka client connections accepted'),
    bytesIn: counter(registry, 'chronik_kafka_bytes_in_total', 'Bytes read from Kafka clients'),
    bytesOut: counter(registry, 'chronik_kafka_bytes_out_total', 'Bytes written to Kafka clients'),
    errors: counter(registry, 'chronik_kafka_errors_total', 'Request-level Kafka errors returned, by API and error code', ['api', 'code']),
    protocolFailures: counter(
      registry,
      'chronik_kafka_protocol_failures_total',
      'Connections closed for bad input (malformed, unknown api, unsupported version, oversized frame, handler failure)',
      ['reason'],
    ),
  };
}
