import type { BrokerStatus, ChronikCluster } from '../api/types.js';
import { buildConfigMap } from './configmap.js';
import { buildPodDisruptionBudget, buildServiceAccount, buildServiceMonitor, pdbEnabled, serviceMonitorEnabled } from './policy.js';
import { buildClientService, buildExternalServices, buildHeadlessService } from './services.js';
import { buildStatefulSet } from './statefulset.js';

export interface DesiredInput {
  cluster: ChronikCluster;
  image: string;
  statefulSetReplicas: number;
  brokers: readonly BrokerStatus[];
  /** id@host:port of the founding metadata voters ('' before the cluster is created). */
  initialVoters: string;
}

export interface DesiredObjects {
  /** Applied in this order: what the StatefulSet's pods mount exists before the pods do. */
  objects: Record<string, unknown>[];
  /** Kinds that may exist from an earlier spec and must go when switched off. */
  absent: { apiVersion: string; kind: string; name: string }[];
}

export function desiredObjects(input: DesiredInput): DesiredObjects {
  const c = input.cluster;
  const objects: Record<string, unknown>[] = [
    buildServiceAccount(c),
    buildConfigMap(c, input.brokers, input.initialVoters),
    buildHeadlessService(c),
    buildClientService(c),
    ...buildExternalServices(c, input.brokers),
    buildStatefulSet({ cluster: c, image: input.image, replicas: input.statefulSetReplicas }),
  ];
  const absent: DesiredObjects['absent'] = [];
  const pdb = buildPodDisruptionBudget(c);
  if (pdbEnabled(c)) objects.push(pdb);
  else absent.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name: (pdb.metadata as { name: string }).name });
  if (serviceMonitorEnabled(c)) objects.push(buildServiceMonitor(c));
  return { objects, absent };
}
