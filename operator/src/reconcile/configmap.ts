import type { BrokerStatus, ChronikCluster } from '../api/types.js';
import { names, objectMeta } from './names.js';

/** Broker settings in Kafka's names: the user's map, with the topic defaults folded in. */
export function brokerProperties(c: ChronikCluster): Record<string, string> {
  const props: Record<string, string> = {};
  const td = c.spec.topicDefaults ?? {};
  if (td.partitions !== undefined) props['num.partitions'] = String(td.partitions);
  if (td.replicationFactor !== undefined) props['default.replication.factor'] = String(td.replicationFactor);
  if (td.minInsyncReplicas !== undefined) props['min.insync.replicas'] = String(td.minInsyncReplicas);
  for (const [k, v] of Object.entries(c.spec.brokerConfig ?? {})) props[k] = v;
  return props;
}

/** One KEY=VALUE a line, sorted so the content (and so its hash) is stable. */
export function renderProperties(props: Record<string, string>): string {
  return Object.keys(props)
    .sort()
    .map((k) => `${k}=${props[k]!.replace(/\n/g, ' ')}\n`)
    .join('');
}

/** pod-name=broker-id lines: the only place a pod learns its broker id. */
export function renderBrokerIds(brokers: readonly BrokerStatus[]): string {
  return [...brokers]
    .sort((a, b) => a.ordinal - b.ordinal)
    .map((b) => `${b.pod}=${b.brokerId}\n`)
    .join('');
}

export function renderExternalHosts(c: ChronikCluster, brokers: readonly BrokerStatus[]): string {
  const ext = c.spec.listeners?.external;
  if (!ext?.advertisedHosts?.length) return '';
  const port = ext.port ?? 9094;
  return [...brokers]
    .sort((a, b) => a.ordinal - b.ordinal)
    .flatMap((b) => {
      const host = ext.advertisedHosts![b.ordinal];
      if (!host) return [];
      return [`${b.pod}=${host.includes(':') ? host : `${host}:${port}`}\n`];
    })
    .join('');
}

export function buildConfigMap(c: ChronikCluster, brokers: readonly BrokerStatus[], initialVoters: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(c, names.configMap(c)),
    data: {
      'broker.properties': renderProperties(brokerProperties(c)),
      'broker-ids': renderBrokerIds(brokers),
      'initial-voters': initialVoters,
      'external-hosts': renderExternalHosts(c, brokers),
    },
  };
}
