import type { ChronikCluster } from '../api/types.js';
import { names, objectMeta, selectorLabels } from './names.js';

export function pdbEnabled(c: ChronikCluster): boolean {
  return c.spec.podDisruptionBudget?.enabled ?? true;
}

/** Voluntary evictions (node drains) take at most one broker down at a time. */
export function buildPodDisruptionBudget(c: ChronikCluster): Record<string, unknown> {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(c, names.pdb(c)),
    spec: { maxUnavailable: c.spec.podDisruptionBudget?.maxUnavailable ?? 1, selector: { matchLabels: selectorLabels(c) } },
  };
}

/** Brokers need no Kubernetes API access; the account exists so policies can target it. */
export function buildServiceAccount(c: ChronikCluster): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(c, names.serviceAccount(c)),
    automountServiceAccountToken: false,
  };
}

export function serviceMonitorEnabled(c: ChronikCluster): boolean {
  return c.spec.metrics?.serviceMonitor?.enabled ?? false;
}

export function buildServiceMonitor(c: ChronikCluster): Record<string, unknown> {
  const sm = c.spec.metrics?.serviceMonitor ?? {};
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: objectMeta(c, names.serviceMonitor(c), { labels: sm.labels ?? {} }),
    spec: {
      selector: { matchLabels: selectorLabels(c) },
      endpoints: [{ port: 'http', path: '/metrics', interval: sm.interval ?? '30s' }],
      namespaceSelector: { matchNames: [c.metadata.namespace] },
    },
  };
}

