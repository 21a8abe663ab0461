import type { BrokerStatus, ChronikCluster } from '../api/types.js';
import { ADMIN_PORT, EXTERNAL_PORT, HTTP_PORT, KAFKA_PORT, RAFT_PORT, names, objectMeta, selectorLabels } from './names.js';

function internalPorts(c: ChronikCluster): Record<string, unknown>[] {
  const kafkaPort = c.spec.listeners?.internal?.port ?? KAFKA_PORT;
  return [
    { name: 'kafka', port: kafkaPort, targetPort: 'kafka', protocol: 'TCP' },
    { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
    { name: 'admin', port: ADMIN_PORT, targetPort: 'admin', protocol: 'TCP' },
  ];
}

/** Per-pod DNS for brokers, including ones not ready yet: peers must find a recovering broker. */
export function buildHeadlessService(c: ChronikCluster): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(c, names.headlessService(c)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(c),
      ports: [...internalPorts(c), { name: 'raft', port: RAFT_PORT, targetPort: 'raft', protocol: 'TCP' }],
    },
  };
}

/** Bootstrap address for clients inside the cluster. */
export function buildClientService(c: ChronikCluster): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(c, names.clientService(c)),
    spec: { type: 'ClusterIP', selector: selectorLabels(c), ports: internalPorts(c) },
  };
}

/** One Service per broker so every broker is reachable at its own advertised external address. */
export function buildExternalServices(c: ChronikCluster, brokers: readonly BrokerStatus[]): Record<string, unknown>[] {
  const ext = c.spec.listeners?.external;
  if (!ext) return [];
  const port = ext.port ?? EXTERNAL_PORT;
  return brokers.map((b) => {
    const svcPort: Record<string, unknown> = { name: 'external', port, targetPort: 'external', protocol: 'TCP' };
    if (ext.type === 'NodePort' && ext.nodePortBase !== undefined) svcPort.nodePort = ext.nodePortBase + b.ordinal;
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: objectMeta(c, names.externalService(c, b.ordinal), {
        labels: { 'chronik.io/listener': 'external' },
        annotations: ext.annotations,
      }),
      spec: {
        type: ext.type,
        externalTrafficPolicy: 'Local',
        selector: { ...selectorLabels(c), 'statefulset.kubernetes.io/pod-name': b.pod },
        ports: [svcPort],
      },
    };
  });
}
