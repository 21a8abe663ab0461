import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChronikCluster } from '../src/api/types.js';
import { isNotFound, KubeApiError } from '../src/kube/rest.js';
import type { OperatorHandle } from '../src/operator.js';
import { clusterPath } from '../src/reconcile/reconciler.js';
import { kubectl } from '../../e2e/lib/tools.js';
import { FakeBrokers } from './support/fake-brokers.js';
import {
  chronikCluster,
  createNamespace,
  getCluster,
  type KubeEnv,
  settled,
  simulateKubelet,
  startKubeEnv,
  startTestOperator,
  waitFor,
} from './support/kube-env.js';

/**
 * The operator against a real kube-apiserver + controller-manager (StatefulSet controller and
 * garbage collector run; there is no kubelet, so a loop reports broker pods Ready). The
 * brokers' admin API is a gRPC stand-in on 127.0.0.1.
 */
type Sts = { metadata: { ownerReferences?: { uid: string; kind: string }[] }; spec: { replicas: number; updateStrategy: { type: string }; template: { metadata: { annotations: Record<string, string> } } } };
type Pod = { metadata: { name: string; uid: string; annotations?: Record<string, string> } };

describe('operator controller on a real API server', () => {
  let env: KubeEnv;
  const fakes = new Map<string, { fake: FakeBrokers; endpoint: string }>();
  const endpoint = (cluster: string): string => {
    const f = fakes.get(cluster);
    if (!f) throw new Error(`no broker stand-in for cluster ${cluster}`);
    return f.endpoint;
  };
  let brokers: FakeBrokers;
  const ns = 'ctl';
  let op: OperatorHandle;
  /** alpha's admin token as first created: it must never change under running brokers. */
  let alphaToken = '';
  let kubelet: ReturnType<typeof simulateKubelet>;

  beforeAll(async () => {
    env = await startKubeEnv();
    for (const name of ['alpha', 'beta', 'gamma', 'racked', 'resume']) {
      const fake = new FakeBrokers();
      fakes.set(name, { fake, endpoint: await fake.start() });
    }
    brokers = fakes.get('alpha')!.fake;
    await createNamespace(env.rest, ns);
    kubelet = simulateKubelet(env.rest, ns);
    op = await startTestOperator(env, ns, 'op-a', endpoint, 6);
  }, 1_800_000);

  afterAll(async () => {
    kubelet?.stop();
    await op?.stop();
    for (const f of fakes.values()) await f.fake.stop();
    await env?.stop();
  });

  const sts = (name: string) => env.rest.get<Sts>(`/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`);
  const pods = async (name: string) =>
    (await env.rest.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: `app.kubernetes.io/instance=${name}` })).items;
  const untilSettled = (name: string, what: string, extra: (c: ChronikCluster) => boolean = () => true, timeoutMs = 90_000) =>
    waitFor(what, async () => {
      const c = await getCluster(env.rest, ns, name);
      return settled(c) && extra(c) ? c : undefined;
    }, timeoutMs);
  const events = async () =>
    (await env.rest.get<{ items: { reason: string; involvedObject: { name: string } }[] }>(`/api/v1/namespaces/${ns}/events`)).items;

  it('CEL rules reject nonsense with a clear message', async () => {
    const bad = async (spec: Record<string, unknown>) => {
      try {
        await env.rest.request('POST', clusterPath(ns), chronikCluster(ns, 'bad', spec as never));
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(KubeApiError);
        return (err as Error).message;
      }
    };
    expect(await bad({ replicas: 0 })).toMatch(/spec.replicas/);
    expect(await bad({ replicas: 2, topicDefaults: { replicationFactor: 3 } })).toMatch(/replicationFactor must not exceed spec.replicas/);
    expect(await bad({ topicDefaults: { replicationFactor: 2, minInsyncReplicas: 3 } })).toMatch(/minInsyncReplicas must not exceed replicationFactor/);
    expect(await bad({ storage: { size: 'lots' } })).toMatch(/positive quantity/);
    // Transition rules: storage may grow, never shrink; its class never changes.
    await env.rest.request('POST', clusterPath(ns), chronikCluster(ns, 'cel', { paused: true, storage: { size: '2Gi', storageClassName: 'fast' } }));
    // Paused: reported, nothing created.
    const paused = await waitFor('cel paused', async () => {
      const x = await getCluster(env.rest, ns, 'cel');
      return x.status?.phase === 'Paused' ? x : undefined;
    });
    expect(paused.status?.conditions?.find((x) => x.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
    await expect(sts('cel')).rejects.toSatisfy(isNotFound);
    const patch = async (storage: Record<string, unknown>) => {
      try {
        await env.rest.mergePatch(clusterPath(ns, 'cel'), { spec: { storage } });
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(await patch({ size: '1Gi' })).toMatch(/may grow but never shrink/);
    expect(await patch({ storageClassName: 'slow' })).toMatch(/storageClassName is immutable/);
    expect(await patch({ size: '3Gi' })).toBe('accepted');
    await env.rest.delete(clusterPath(ns, 'cel'));
  });

  it('create: owned objects with owner references, explicit broker ids, Settled status', async () => {
    // A short replica.lag.time.max.ms: a roll waits that long after each broker is back.
    await env.rest.request(
      'POST',
      clusterPath(ns),
      chronikCluster(ns, 'alpha', { replicas: 3, topicDefaults: { replicationFactor: 3, minInsyncReplicas: 2 }, brokerConfig: { 'replica.lag.time.max.ms': '2000' } }),
    );
    const c = await untilSettled('alpha', 'alpha settled after create');
    expect(c.status?.phase).toBe('Running');
    expect(c.status?.readyReplicas).toBe(3);
    expect(c.status?.brokers?.map((b) => [b.pod, b.brokerId])).toEqual([
      ['alpha-0', 0],
      ['alpha-1', 1],
      ['alpha-2', 2],
    ]);
    for (const t of ['Ready', 'Progressing', 'Degraded', 'Settled']) {
      const cond = c.status?.conditions?.find((x) => x.type === t);
      expect(cond, t).toBeDefined();
      expect(cond!.observedGeneration).toBe(c.metadata.generation);
    }
    expect(c.status?.conditions?.find((x) => x.type === 'Degraded')?.status).toBe('False');
    const s = await sts('alpha');
    expect(s.spec.replicas).toBe(3);
    expect(s.spec.updateStrategy.type).toBe('OnDelete');
    expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ChronikCluster', uid: c.metadata.uid });
    const headless = await env.rest.get<{ spec: { publishNotReadyAddresses: boolean; clusterIP: string } }>(`/api/v1/namespaces/${ns}/services/alpha-headless`);
    expect(headless.spec).toMatchObject({ publishNotReadyAddresses: true, clusterIP: 'None' });
    await env.rest.get(`/api/v1/namespaces/${ns}/services/alpha`);
    await env.rest.get(`/api/v1/namespaces/${ns}/serviceaccounts/alpha-broker`);
    const pdb = await env.rest.get<{ spec: { maxUnavailable: number } }>(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/alpha`);
    expect(pdb.spec.maxUnavailable).toBe(1);
    const cm = await env.rest.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/alpha-config`);
    expect(cm.data['broker-ids']).toBe('alpha-0=0\nalpha-1=1\nalpha-2=2\n');
    expect(cm.data['broker.properties']).toContain('min.insync.replicas=2');
    // The founding voters, fixed at creation, in the ConfigMap the brokers read and in status.
    const host = (o: number) => `alpha-${o}.alpha-headless.${ns}.svc.cluster.local:9646`;
    expect(cm.data['initial-voters']).toBe(`0@${host(0)},1@${host(1)},2@${host(2)}`);
    expect(c.status?.initialVoters).toBe(cm.data['initial-voters']);
    // The brokers' admin token: a Secret owned by the cluster, mounted into every broker.
    const secret = await env.rest.get<{ data: { token: string }; metadata: { ownerReferences?: { uid: string }[] } }>(`/api/v1/namespaces/${ns}/secrets/alpha-admin-token`);
    alphaToken = Buffer.from(secret.data.token, 'base64').toString('utf8');
    expect(alphaToken.length).toBeGreaterThanOrEqual(32);
    expect(secret.metadata.ownerReferences?.[0]?.uid).toBe(c.metadata.uid);
    const container = (s.spec.template as unknown as { spec: { containers: { args: string[] }[] } }).spec.containers[0]!;
    expect(container.args.join(' ')).toContain('--admin-token-file /etc/chronik-admin/token');
    expect(container.args.join(' ')).toContain(`--cluster-id ${c.metadata.uid}`);
    expect((await events()).some((e) => e.reason === 'AdminTokenCreated' && e.involvedObject.name === 'alpha')).toBe(true);
    expect((await events()).some((e) => e.reason === 'Created' && e.involvedObject.name === 'alpha')).toBe(true);
    const base = `http://127.0.0.1:${op.health.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, (await ready.text()).trim()]).toEqual([200, 'leader, synced']);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/chronik_operator_reconciles_total\{result="success"\} [1-9]/);
    expect(metrics).toContain('chronik_operator_workqueue_depth');
    expect(metrics).toMatch(/chronik_operator_leader 1/);
    const table = await kubectl(env.api.kubeconfigPath, ['-n', ns, 'get', 'ck']);
    expect(table).toMatch(/NAME\s+REPLICAS\s+READY\s+PHASE\s+AGE/);
    expect(table).toMatch(/alpha\s+3\s+3\s+Running/);
  });

  it('rack awareness and external listeners: node label becomes the rack, one NodePort per broker', async () => {
    await env.rest.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-z1', labels: { 'topology.kubernetes.io/zone': 'z1' } } });
    await env.rest.request(
      'POST',
      clusterPath(ns),
      chronikCluster(ns, 'racked', {
        replicas: 2,
        rackAwareness: { topologyKey: 'topology.kubernetes.io/zone' },
        listeners: { external: { type: 'NodePort', nodePortBase: 31090, advertisedHosts: ['a.example:31090', 'b.example:31091'] } },
      }),
    );
    // Play the scheduler: bind each broker pod to the node.
    const bound = new Set<string>();
    await waitFor('pods bound', async () => {
      for (const p of await pods('racked')) {
        if (bound.has(p.metadata.name)) continue;
        await env.rest.request('POST', `/api/v1/namespaces/${ns}/pods/${p.metadata.name}/binding`, {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: p.metadata.name },
          target: { apiVersion: 'v1', kind: 'Node', name: 'node-z1' },
        });
        bound.add(p.metadata.name);
      }
      return bound.size === 2 ? true : undefined;
    });
    const c = await untilSettled('racked', 'racked settled with racks', (x) => (x.status?.brokers ?? []).every((b) => b.rack === 'z1'));
    expect(c.status?.brokers?.map((b) => b.rack)).toEqual(['z1', 'z1']);
    for (const p of await pods('racked')) expect(p.metadata.annotations?.['chronik.io/rack']).toBe('z1');
    const svc = await env.rest.get<{ spec: { type: string; ports: { nodePort: number }[]; selector: Record<string, string> } }>(`/api/v1/namespaces/${ns}/services/racked-1-external`);
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports[0]!.nodePort).toBe(31091);
    expect(svc.spec.selector['statefulset.kubernetes.io/pod-name']).toBe('racked-1');
    const cm = await env.rest.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/racked-config`);
    expect(cm.data['external-hosts']).toBe('racked-0=a.example:31090\nracked-1=b.example:31091\n');
    await env.rest.delete(clusterPath(ns, 'racked'));
  });

  it('an operator stopped mid-operation resumes at the recorded step in a new process', async () => {
    const brokers = fakes.get('resume')!.fake;
    await env.rest.request('POST', clusterPath(ns), chronikCluster(ns, 'resume', { replicas: 3 }));
    await untilSettled('resume', 'resume created');
    brokers.holdDecommission = true;
    try {
      await kubectl(env.api.kubeconfigPath, ['-n', ns, 'scale', 'chronikcluster/resume', '--replicas=2']);
      await waitFor('resume waiting on decommission', async () => ((await getCluster(env.rest, ns, 'resume')).status?.operation?.step === 'WaitDecommissioned' ? true : undefined));
      await op.stop();
      op = await startTestOperator(env, ns, 'op-a2', endpoint, 6);
      await waitFor('new operator leads', async () => (op.controller.isLeader ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 1_500));
      const mid = await getCluster(env.rest, ns, 'resume');
      expect(mid.status?.operation).toMatchObject({ type: 'ScaleDown', step: 'WaitDecommissioned', brokerId: 2 });
      expect((await sts('resume')).spec.replicas).toBe(3);
    } finally {
      brokers.holdDecommission = false;
    }
    const c = await untilSettled('resume', 'resume at 2', (x) => x.status?.brokers?.length === 2);
    expect(c.status?.brokers?.map((b) => b.brokerId)).toEqual([0, 1]);
    expect(brokers.callsOf('DecommissionBroker').filter((x) => x.request.brokerId === 2).length).toBeGreaterThanOrEqual(1);
    await env.rest.delete(clusterPath(ns, 'resume'));
  });

  it('kubectl scale (scale subresource): up adds brokers one at a time, down decommissions first', async () => {
    await kubectl(env.api.kubeconfigPath, ['-n', ns, 'scale', 'chronikcluster/alpha', '--replicas=5']);
    let c = await untilSettled('alpha', 'alpha at 5', (x) => x.status?.readyReplicas === 5 && x.status?.brokers?.length === 5);
    expect(c.status?.brokers?.map((b) => b.brokerId)).toEqual([0, 1, 2, 3, 4]);
    expect(brokers.callsOf('AddBroker').map((x) => x.request.brokerId)).toEqual([3, 4]);
    expect((await sts('alpha')).spec.replicas).toBe(5);

    brokers.holdDecommission = true;
    try {
      await env.rest.mergePatch(`${clusterPath(ns, 'alpha')}/scale`, { spec: { replicas: 3 } });
      c = await waitFor('decommission of broker 4 under way', async () => {
        const x = await getCluster(env.rest, ns, 'alpha');
        return x.status?.operation?.step === 'WaitDecommissioned' ? x : undefined;
      });
      expect(c.status?.operation).toMatchObject({ type: 'ScaleDown', brokerId: 4 });
      expect(c.status?.phase).toBe('Scaling');
      expect(c.status?.conditions?.find((x) => x.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'ScaleDown' });
      expect(c.status?.conditions?.find((x) => x.type === 'Settled')?.status).toBe('False');
      // No positive answer from the brokers: the pod must stay.
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await sts('alpha')).spec.replicas).toBe(5);
    } finally {
      brokers.holdDecommission = false;
    }
    c = await untilSettled('alpha', 'alpha back at 3', (x) => x.status?.brokers?.length === 3 && x.status.readyReplicas === 3);
    expect(brokers.callsOf('DecommissionBroker').map((x) => x.request.brokerId)).toEqual([4, 3]);
    expect((await sts('alpha')).spec.replicas).toBe(3);
    expect(c.status?.nextBrokerId).toBe(5);
    const reasons = new Set((await events()).map((e) => e.reason));
    for (const r of ['ScaleUpStarted', 'ScaleUpCompleted', 'ScaleDownStarted', 'ScaleDownDecommission', 'ScaleDownCompleted']) expect(reasons, r).toContain(r);
  });

  it('edit: a config change rolls every broker once, each drained first', async () => {
    const before = await pods('alpha');
    const oldHash = (await sts('alpha')).spec.template.metadata.annotations['chronik.io/config-hash'];
    brokers.calls.length = 0;
    await env.rest.mergePatch(clusterPath(ns, 'alpha'), { spec: { brokerConfig: { 'log.retention.ms': '3600000' } } });
    const c = await untilSettled(
      'alpha',
      'alpha rolled',
      (x) => x.status?.configHash !== undefined && x.status.configHash !== oldHash && (x.status.brokers ?? []).every((b) => b.configHash === x.status?.configHash),
      120_000,
    );
    const after = await pods('alpha');
    expect(after.map((p) => p.metadata.uid).filter((u) => before.some((b) => b.metadata.uid === u))).toEqual([]);
    for (const p of after) expect(p.metadata.annotations?.['chronik.io/config-hash']).toBe(c.status?.configHash);
    const maint = brokers.callsOf('SetMaintenanceMode').filter((x) => x.request.enabled).map((x) => x.request.brokerId);
    expect(new Set(maint)).toEqual(new Set([0, 1, 2]));
    const cm = await env.rest.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/alpha-config`);
    expect(cm.data['broker.properties']).toContain('log.retention.ms=3600000');
    // Many passes later the token is the one the brokers were first started with.
    const secret = await env.rest.get<{ data: { token: string } }>(`/api/v1/namespaces/${ns}/secrets/alpha-admin-token`);
    expect(Buffer.from(secret.data.token, 'base64').toString('utf8')).toBe(alphaToken);
  });

  it('storage growth never touches the immutable claim templates; claims are asked to grow', async () => {
    await env.rest.mergePatch(clusterPath(ns, 'alpha'), { spec: { storage: { size: '2Gi' } } });
    // Claims here are unbound (no storage provisioner), so the API server refuses to resize them:
    // the operator reports that and keeps reconciling instead of failing every pass.
    await waitFor('storage event', async () => ((await events()).some((e) => e.involvedObject.name === 'alpha' && /^StorageExpan/.test(e.reason)) ? true : undefined), 30_000);
    const c = await untilSettled('alpha', 'alpha settled after storage change');
    expect(c.status?.observedGeneration).toBe(c.metadata.generation);
    const s = await env.rest.get<{ spec: { volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] } }>(`/apis/apps/v1/namespaces/${ns}/statefulsets/alpha`);
    expect(s.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe('1Gi');
  });

  it('drift: deleted and edited owned objects are repaired', async () => {
    await env.rest.delete(`/api/v1/namespaces/${ns}/services/alpha-headless`);
    await env.rest.mergePatch(`/api/v1/namespaces/${ns}/configmaps/alpha-config`, { data: { 'broker-ids': 'alpha-0=99\n' } });
    await env.rest.mergePatch(`/apis/apps/v1/namespaces/${ns}/statefulsets/alpha`, { spec: { replicas: 7 } });
    await waitFor('headless service restored', async () => ((await env.rest.get(`/api/v1/namespaces/${ns}/services/alpha-headless`)) ? true : undefined), 30_000);
    await waitFor('configmap restored', async () => {
      const cm = await env.rest.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/alpha-config`);
      return cm.data['broker-ids'] === 'alpha-0=0\nalpha-1=1\nalpha-2=2\n' ? true : undefined;
    }, 30_000);
    await waitFor('replicas restored', async () => ((await sts('alpha')).spec.replicas === 3 ? true : undefined), 30_000);
  });

  it('invalid spec that slipped past admission is reported, not acted on', async () => {
    // metadata.name is capped by the CRD, so use a spec the operator itself must refuse.
    await env.rest.request('POST', clusterPath(ns), chronikCluster(ns, 'beta', { replicas: 1, brokerConfig: { 'bad key!': 'x' } }));
    const c = await waitFor('beta reported invalid', async () => {
      const x = await getCluster(env.rest, ns, 'beta');
      return x.status?.phase === 'Failed' ? x : undefined;
    });
    expect(c.status?.conditions?.find((x) => x.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(c.status?.conditions?.find((x) => x.type === 'Degraded')?.message).toMatch(/spec.brokerConfig.bad key!/);
    await expect(sts('beta')).rejects.toSatisfy(isNotFound);
  });

  it('delete: owned objects are garbage-collected through their owner references', async () => {
    await env.rest.delete(clusterPath(ns, 'alpha'), { propagationPolicy: 'Foreground' });
    await waitFor(
      'statefulset collected',
      async () => {
        try {
          await sts('alpha');
          return undefined;
        } catch (err) {
          return isNotFound(err) ? true : undefined;
        }
      },
      60_000,
    );
    await waitFor('cluster gone', async () => {
      try {
        await getCluster(env.rest, ns, 'alpha');
        return undefined;
      } catch (err) {
        return isNotFound(err) ? true : undefined;
      }
    });
  });

  it('two operator replicas: exactly one leads; the other takes over and keeps reconciling', async () => {
    const second = await startTestOperator(env, ns, 'op-b', endpoint, 6);
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      expect([op.controller.isLeader, second.controller.isLeader]).toEqual([true, false]);
      const lease = await env.rest.get<{ spec: { holderIdentity: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/chronik-operator-leader`);
      expect(['op-a', 'op-a2']).toContain(lease.spec.holderIdentity);
      // The standby must not touch anything: create a cluster and stop the leader at once.
      await op.stop();
      await waitFor('op-b leads', async () => (second.controller.isLeader ? true : undefined), 30_000);
      await env.rest.request('POST', clusterPath(ns), chronikCluster(ns, 'gamma', { replicas: 2 }));
      const c = await untilSettled('gamma', 'gamma settled under op-b');
      expect(c.status?.brokers?.map((b) => b.brokerId)).toEqual([0, 1]);
      const l2 = await env.rest.get<{ spec: { holderIdentity: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/chronik-operator-leader`);
      expect(l2.spec.holderIdentity).toBe('op-b');
      // Someone else holds a fresh lease: op-b must notice and stop acting on its own.
      const cur = await env.rest.get<{ metadata: Record<string, unknown>; spec: Record<string, unknown> }>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/chronik-operator-leader`);
      await env.rest.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/chronik-operator-leader`, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: cur.metadata,
        spec: { ...cur.spec, holderIdentity: 'intruder', renewTime: new Date().toISOString().replace('Z', '000Z'), leaseDurationSeconds: 60 },
      });
      await waitFor('op-b steps down', async () => (second.controller.isLeader ? undefined : true), 15_000);
    } finally {
      await second.stop();
    }
  });
});
