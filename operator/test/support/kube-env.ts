import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startApiServer, type ApiServer } from '../../../e2e/lib/apiserver.js';
import { kubectl } from '../../../e2e/lib/tools.js';
import type { ChronikCluster } from '../../src/api/types.js';
import { GrpcBrokerAdmin } from '../../src/brokers/admin-client.js';
import type { OperatorConfig } from '../../src/config.js';
import { isNotFound, KubeRest } from '../../src/kube/rest.js';
import { startOperator, type OperatorHandle } from '../../src/operator.js';
import { clusterPath } from '../../src/reconcile/reconciler.js';

/**
 * A real etcd + kube-apiserver + kube-controller-manager (from the e2e tooling) with the CRD
 * installed. If it cannot start, the error propagates and the tests fail: they never skip.
 */
export interface KubeEnv {
  api: ApiServer;
  rest: KubeRest;
  stop(): Promise<void>;
}

export async function startKubeEnv(): Promise<KubeEnv> {
  const api = await startApiServer({ controllerManager: true });
  const rest = KubeRest.fromDefault(api.kubeconfigPath);
  // Installed exactly as a user would, with kubectl, from the one CRD file.
  await kubectl(api.kubeconfigPath, ['apply', '--server-side', '-f', fileURLToPath(new URL('../../../crds/chronik.io_chronikclusters.yaml', import.meta.url))]);
  await waitFor('CRD established', async () => {
    const c = await rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/chronikclusters.chronik.io',
    );
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
  });
  // The first create right after Established can still race discovery; wait until the collection serves.
  await waitFor('CRD served', async () => {
    try {
      await rest.get('/apis/chronik.io/v1alpha1/chronikclusters');
      return true;
    } catch {
      return undefined;
    }
  });
  return { api, rest, stop: () => api.stop() };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function createNamespace(rest: KubeRest, name: string): Promise<void> {
  await rest.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // The controller-manager creates the default ServiceAccount; pods need it to be admitted.
  await waitFor(`namespace ${name} ready`, async () => {
    try {
      await rest.get(`/api/v1/namespaces/${name}/serviceaccounts/default`);
      return true;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  });
}

export function operatorConfig(namespace: string, identity: string): OperatorConfig {
  return {
    watchNamespaces: [namespace],
    leaseNamespace: namespace,
    leaseName: 'chronik-operator-leader',
    identity,
    defaultBrokerImage: 'chronik/broker:test',
    httpHost: '127.0.0.1',
    httpPort: 0,
    logLevel: 'warn',
    clusterDomain: 'cluster.local',
    workers: 2,
  };
}

/** adminEndpoint: the brokers' admin address for a cluster (each test cluster has its own stand-in). */
export async function startTestOperator(env: KubeEnv, namespace: string, identity: string, adminEndpoint: (cluster: string) => string, leaseDurationSec?: number): Promise<OperatorHandle> {
  return startOperator({
    config: operatorConfig(namespace, identity),
    rest: env.rest,
    log: pino({ level: process.env.CHRONIK_TEST_LOG ?? 'silent', base: { identity } }),
    adminFor: (c) => new GrpcBrokerAdmin({ endpoints: [adminEndpoint(c.metadata.name)], deadlineMs: 3000 }),
    resyncMs: 15_000,
    leaseDurationSec,
  });
}

/**
 * Plays the kubelet, which this environment has none of: every broker pod the StatefulSet
 * controller creates is reported Ready (after `delayMs`), as a healthy broker would be.
 */
export function simulateKubelet(rest: KubeRest, namespace: string, delayMs = 300): { stop(): void; hold: Set<string> } {
  const hold = new Set<string>();
  let stopped = false;
  const seen = new Map<string, number>();
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const pods = await rest.get<{ items: { metadata: { name: string; uid: string; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(
          `/api/v1/namespaces/${namespace}/pods`,
          { labelSelector: 'app.kubernetes.io/component=broker' },
        );
        for (const p of pods.items) {
          if (p.metadata.deletionTimestamp || hold.has(p.metadata.name)) continue;
          if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
          const first = seen.get(p.metadata.uid) ?? Date.now();
          seen.set(p.metadata.uid, first);
          if (Date.now() - first < delayMs) continue;
          const now = new Date().toISOString();
          await rest.mergePatch(`/api/v1/namespaces/${namespace}/pods/${p.metadata.name}/status`, {
            status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }] },
          });
        }
      } catch {
        // Pods come and go under us; the next pass sees the current set.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  void loop();
  return { stop: () => (stopped = true), hold };
}

export function chronikCluster(namespace: string, name: string, spec: Partial<ChronikCluster['spec']> = {}): Record<string, unknown> {
  return { apiVersion: 'chronik.io/v1alpha1', kind: 'ChronikCluster', metadata: { name, namespace }, spec: { replicas: 3, storage: { size: '1Gi' }, ...spec } };
}

export function getCluster(rest: KubeRest, namespace: string, name: string): Promise<ChronikCluster> {
  return rest.get<ChronikCluster>(clusterPath(namespace, name));
}

export function settled(c: ChronikCluster): boolean {
  const s = c.status?.conditions?.find((x) => x.type === 'Settled');
  return s?.status === 'True' && s.observedGeneration === c.metadata.generation && c.status?.observedGeneration === c.metadata.generation;
}
