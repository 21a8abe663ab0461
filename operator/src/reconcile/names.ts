import type { ChronikCluster } from '../api/types.js';
import { API_VERSION, KIND } from '../api/types.js';

/** Names and labels of everything the operator creates for one ChronikCluster. */
export const FIELD_MANAGER = 'chronik-operator';
export const KAFKA_PORT = 9092;
export const EXTERNAL_PORT = 9094;
export const HTTP_PORT = 9644;
export const ADMIN_PORT = 9645;
/** Broker-to-broker raft transport (proto/raft.proto). */
export const RAFT_PORT = 9646;
export const DATA_DIR = '/var/lib/chronik';
export const CONFIG_DIR = '/etc/chronik';
export const PODINFO_DIR = '/etc/podinfo';
/** Where the admin token Secret is mounted in broker pods. */
export const ADMIN_TOKEN_DIR = '/etc/chronik-admin';
export const ADMIN_TOKEN_KEY = 'token';
export const CONFIG_HASH_ANNOTATION = 'chronik.io/config-hash';
export const BROKER_ID_LABEL = 'chronik.io/broker-id';
export const RACK_ANNOTATION = 'chronik.io/rack';

export const names = {
  statefulSet: (c: ChronikCluster) => c.metadata.name,
  headlessService: (c: ChronikCluster) => `${c.metadata.name}-headless`,
  clientService: (c: ChronikCluster) => c.metadata.name,
  configMap: (c: ChronikCluster) => `${c.metadata.name}-config`,
  adminSecret: (c: ChronikCluster) => `${c.metadata.name}-admin-token`,
  serviceAccount: (c: ChronikCluster) => `${c.metadata.name}-broker`,
  pdb: (c: ChronikCluster) => c.metadata.name,
  serviceMonitor: (c: ChronikCluster) => c.metadata.name,
  pod: (c: ChronikCluster, ordinal: number) => `${c.metadata.name}-${ordinal}`,
  externalService: (c: ChronikCluster, ordinal: number) => `${c.metadata.name}-${ordinal}-external`,
  claim: (c: ChronikCluster, ordinal: number) => `data-${c.metadata.name}-${ordinal}`,
};

/** The labels that select this cluster's broker pods; never changes for the life of the cluster. */
export function selectorLabels(c: ChronikCluster): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'chronik',
    'app.kubernetes.io/instance': c.metadata.name,
    'app.kubernetes.io/component': 'broker',
  };
}

export function commonLabels(c: ChronikCluster): Record<string, string> {
  return { ...selectorLabels(c), 'app.kubernetes.io/managed-by': 'chronik-operator', 'app.kubernetes.io/part-of': 'chronik' };
}

export function selectorString(c: ChronikCluster): string {
  return Object.entries(selectorLabels(c))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function ownerReference(c: ChronikCluster): Record<string, unknown> {
  if (!c.metadata.uid) throw new Error(`ChronikCluster ${c.metadata.namespace}/${c.metadata.name} has no uid`);
  return { apiVersion: API_VERSION, kind: KIND, name: c.metadata.name, uid: c.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function objectMeta(c: ChronikCluster, name: string, extra?: { labels?: Record<string, string>; annotations?: Record<string, string> }): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    name,
    namespace: c.metadata.namespace,
    labels: { ...commonLabels(c), ...(extra?.labels ?? {}) },
    ownerReferences: [ownerReference(c)],
  };
  if (extra?.annotations && Object.keys(extra.annotations).length > 0) meta.annotations = extra.annotations;
  return meta;
}

/** DNS name of a broker pod inside the cluster (through the headless service). */
export function podHost(c: ChronikCluster, ordinal: number, clusterDomain = 'cluster.local'): string {
  return `${names.pod(c, ordinal)}.${names.headlessService(c)}.${c.metadata.namespace}.svc.${clusterDomain}`;
}
