import { execFileSync } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureHelm } from '../../e2e/lib/tools.js';
import { GrpcBrokerAdmin } from '../src/brokers/admin-client.js';
import { KubeRest } from '../src/kube/rest.js';
import { startOperator, type OperatorHandle } from '../src/operator.js';
import { FakeBrokers } from './support/fake-brokers.js';
import { createNamespace, getCluster, type KubeEnv, operatorConfig, settled, simulateKubelet, startKubeEnv, waitFor } from './support/kube-env.js';

/**
 * `helm install` of the chart on a real API server, then the operator running with exactly
 * the chart's RBAC (a token of the chart's ServiceAccount): least privilege must still be
 * enough to create and settle a cluster.
 */
describe('helm install and the chart RBAC on a real API server', () => {
  let env: KubeEnv;
  let fake: FakeBrokers;
  let endpoint: string;
  let op: OperatorHandle | undefined;
  let kubelet: ReturnType<typeof simulateKubelet> | undefined;

  beforeAll(async () => {
    env = await startKubeEnv();
    fake = new FakeBrokers();
    endpoint = await fake.start();
  }, 1_800_000);

  afterAll(async () => {
    kubelet?.stop();
    await op?.stop();
    await fake?.stop();
    await env?.stop();
  });

  it('installs, and the operator works with only the chart RBAC', async () => {
    const helm = await ensureHelm();
    await createNamespace(env.rest, 'apps');
    const out = execFileSync(
      helm,
      ['install', 'rel', 'charts/chronik', '--kubeconfig', env.api.kubeconfigPath, '--namespace', 'ops', '--create-namespace', '--set', 'watchNamespaces={apps}', '--wait=false'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(out).toMatch(/STATUS: deployed/);
    const dep = await env.rest.get<{ spec: { replicas: number; template: { spec: { serviceAccountName: string } } } }>('/apis/apps/v1/namespaces/ops/deployments/rel-chronik-operator');
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.template.spec.serviceAccountName).toBe('rel-chronik-operator');

    // A token for the chart's ServiceAccount, as the operator pod would mount.
    const tr = await env.rest.request<{ status: { token: string } }>('POST', '/api/v1/namespaces/ops/serviceaccounts/rel-chronik-operator/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    const admin = new KubeConfig();
    admin.loadFromFile(env.api.kubeconfigPath);
    const cluster = admin.getCurrentCluster()!;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: 'operator', token: tr.status.token }],
      contexts: [{ name: 'op', cluster: 'c', user: 'operator' }],
      currentContext: 'op',
    });
    const rest = KubeRest.fromKubeConfig(kc);
    // Least privilege: nothing outside the watched namespace.
    await expect(rest.get('/api/v1/namespaces/default/configmaps')).rejects.toThrow(/403/);
    await expect(rest.get('/api/v1/secrets')).rejects.toThrow(/403/);

    kubelet = simulateKubelet(env.rest, 'apps');
    op = await startOperator({
      config: { ...operatorConfig('apps', 'chart-op'), leaseNamespace: 'ops' },
      rest,
      log: pino({ level: process.env.CHRONIK_TEST_LOG ?? 'silent' }),
      adminFor: () => new GrpcBrokerAdmin({ endpoints: [endpoint], deadlineMs: 3000 }),
      leaseDurationSec: 6,
    });
    await env.rest.request('POST', '/apis/chronik.io/v1alpha1/namespaces/apps/chronikclusters', {
      apiVersion: 'chronik.io/v1alpha1',
      kind: 'ChronikCluster',
      metadata: { name: 'viachart', namespace: 'apps' },
      spec: { replicas: 2, storage: { size: '1Gi' } },
    });
    const c = await waitFor('cluster settled under chart RBAC', async () => {
      const x = await getCluster(env.rest, 'apps', 'viachart');
      return settled(x) ? x : undefined;
    }, 90_000);
    expect(c.status?.brokers?.map((b) => b.brokerId)).toEqual([0, 1]);
  });
});
