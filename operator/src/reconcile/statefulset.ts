import type { ChronikCluster } from '../api/types.js';
import { brokerProperties, renderProperties } from './configmap.js';
import { shortHash } from './hash.js';
import {
  ADMIN_PORT,
  ADMIN_TOKEN_DIR,
  ADMIN_TOKEN_KEY,
  CONFIG_DIR,
  CONFIG_HASH_ANNOTATION,
  DATA_DIR,
  EXTERNAL_PORT,
  HTTP_PORT,
  KAFKA_PORT,
  PODINFO_DIR,
  RAFT_PORT,
  names,
  objectMeta,
  selectorLabels,
} from './names.js';
import { brokerStartScript } from './start-script.js';

export interface StatefulSetInput {
  cluster: ChronikCluster;
  /** The broker image after defaulting. */
  image: string;
  /** Owned by the step machines: only they change how many pods exist. */
  replicas: number;
}

const BROKER_UID = 10001;

function podSpec(c: ChronikCluster, image: string): Record<string, unknown> {
  const pt = c.spec.podTemplate ?? {};
  const kafkaPort = c.spec.listeners?.internal?.port ?? KAFKA_PORT;
  const ports: Record<string, unknown>[] = [
    { name: 'kafka', containerPort: kafkaPort, protocol: 'TCP' },
    { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
    { name: 'admin', containerPort: ADMIN_PORT, protocol: 'TCP' },
    { name: 'raft', containerPort: RAFT_PORT, protocol: 'TCP' },
  ];
  if (c.spec.listeners?.external) ports.push({ name: 'external', containerPort: c.spec.listeners.external.port ?? EXTERNAL_PORT, protocol: 'TCP' });

  const container: Record<string, unknown> = {
    name: 'broker',
    image,
    imagePullPolicy: c.spec.imagePullPolicy ?? 'IfNotPresent',
    // The image's entrypoint (tini) stays; only the command it supervises is given here.
    args: ['/bin/sh', '-c', brokerStartScript(c)],
    env: [
      { name: 'CHRONIK_LOG_FORMAT', value: 'json' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ],
    ports,
    readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    // Crash recovery of a large log may take a while; liveness must not kill it meanwhile.
    startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5, failureThreshold: 120 },
    volumeMounts: [
      { name: 'data', mountPath: DATA_DIR },
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'podinfo', mountPath: PODINFO_DIR, readOnly: true },
      { name: 'admin-token', mountPath: ADMIN_TOKEN_DIR, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: pt.containerSecurityContext ?? {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
  };
  if (c.spec.resources) container.resources = c.spec.resources;

  const spec: Record<string, unknown> = {
    serviceAccountName: names.serviceAccount(c),
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: pt.terminationGracePeriodSeconds ?? 120,
    securityContext: pt.securityContext ?? {
      runAsNonRoot: true,
      runAsUser: BROKER_UID,
      runAsGroup: BROKER_UID,
      fsGroup: BROKER_UID,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [container],
    volumes: [
      { name: 'config', configMap: { name: names.configMap(c) } },
      // Created by the operator before the StatefulSet; the broker reads it once at start.
      { name: 'admin-token', secret: { secretName: names.adminSecret(c), defaultMode: 0o440, items: [{ key: ADMIN_TOKEN_KEY, path: ADMIN_TOKEN_KEY }] } },
      { name: 'podinfo', downwardAPI: { items: [{ path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }] } },
      { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
    ],
    affinity: pt.affinity ?? {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(c) } } },
        ],
      },
    },
  };
  if (pt.nodeSelector) spec.nodeSelector = pt.nodeSelector;
  if (pt.tolerations) spec.tolerations = pt.tolerations;
  if (pt.priorityClassName) spec.priorityClassName = pt.priorityClassName;
  if (c.spec.imagePullSecrets?.length) spec.imagePullSecrets = c.spec.imagePullSecrets;
  return spec;
}

/**
 * The hash of everything that needs a broker restart to take effect: the pod template and the
 * broker settings. Pods carry the hash they were created with; a pod whose hash differs is
 * out of date and the roll machine restarts it.
 */
export function configHash(c: ChronikCluster, image: string): string {
  const pt = c.spec.podTemplate ?? {};
  return shortHash({ pod: podSpec(c, image), labels: pt.labels ?? {}, annotations: pt.annotations ?? {}, props: renderProperties(brokerProperties(c)) });
}

export function buildStatefulSet(input: StatefulSetInput): Record<string, unknown> {
  const c = input.cluster;
  const pt = c.spec.podTemplate ?? {};
  const hash = configHash(c, input.image);
  const claim: Record<string, unknown> = {
    metadata: { name: 'data', labels: selectorLabels(c) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: c.spec.storage.size } },
      ...(c.spec.storage.storageClassName ? { storageClassName: c.spec.storage.storageClassName } : {}),
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(c, names.statefulSet(c)),
    spec: {
      replicas: input.replicas,
      serviceName: names.headlessService(c),
      podManagementPolicy: 'Parallel',
      // The operator alone decides when a broker restarts, after draining it.
      updateStrategy: { type: 'OnDelete' },
      // Claims of removed brokers are handled by the scale-down machine after decommission.
      persistentVolumeClaimRetentionPolicy: {
        whenScaled: 'Retain',
        whenDeleted: c.spec.storage.reclaimPolicy === 'Delete' ? 'Delete' : 'Retain',
      },
      selector: { matchLabels: selectorLabels(c) },
      template: {
        metadata: {
          labels: { ...(pt.labels ?? {}), ...selectorLabels(c) },
          annotations: { ...(pt.annotations ?? {}), [CONFIG_HASH_ANNOTATION]: hash },
        },
        spec: podSpec(c, input.image),
      },
      volumeClaimTemplates: [claim],
    },
  };
}
