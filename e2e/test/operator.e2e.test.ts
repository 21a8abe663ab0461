import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Cluster } from '../lib/cluster/provider.js';
import { log, run, waitFor } from '../lib/exec.js';
import { hostKafka, type HostKafka } from '../lib/kafka.js';
import { Kubectl } from '../lib/kube.js';
import { startLoad, type LoadReport } from '../lib/load.js';
import { attachCluster, REPO_ROOT } from '../lib/suite.js';
import { ensureHelm } from '../lib/tools.js';

// The user's path from the README: helm install the operator, kubectl apply the example
// ChronikCluster (3 brokers, RF 3), then grow, shrink and reconfigure it by editing the
// resource, with the operator and brokers killed along the way. Every change runs under a
// continuous idempotent acks=all producer and a consumer group on the host; each checks that
// every acknowledged record was read exactly once and in order, and prints the longest gap
// between two acknowledgements.
const ns = `chronik-op-${randomBytes(3).toString('hex')}`;
const release = `chronik-${randomBytes(2).toString('hex')}`;
const operatorNs = `${release}-system`;
const selector = 'app.kubernetes.io/name=chronik,app.kubernetes.io/instance=chronik,app.kubernetes.io/component=broker';
const TOPIC = 'e2e-orders';
const PARTITIONS = 3;
const LONG = 900_000;
let cluster: Cluster;
let kube: Kubectl;
let client: HostKafka | undefined;
const reports: string[] = [];

function splitImage(ref: string): { repository: string; tag: string } {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? { repository: ref.slice(0, at), tag: ref.slice(at + 1) } : { repository: ref, tag: 'latest' };
}

async function helm(args: string[]): Promise<string> {
  return (await run(await ensureHelm(), ['--kubeconfig', inject('kubeconfigPath'), ...args])).stdout;
}

interface CkView {
  generation: number;
  observedGeneration: number;
  readyReplicas: number;
  statefulSetReplicas: number;
  phase: string;
  settled: boolean;
  degraded: string;
  operation: { type: string; step: string; brokerId?: number } | null;
  brokers: { pod: string; brokerId: number; state: string; ready: boolean; brokerState?: string; leaders?: number; replicas?: number }[];
  initialVoters: string;
}

async function ck(): Promise<CkView> {
  const o = JSON.parse(await kube.run(['-n', ns, 'get', 'chronikcluster', 'chronik', '-o', 'json'])) as {
    metadata: { generation: number };
    status?: {
      observedGeneration?: number;
      readyReplicas?: number;
      statefulSetReplicas?: number;
      phase?: string;
      conditions?: { type: string; status: string; reason: string; message: string }[];
      operation?: CkView['operation'];
      brokers?: CkView['brokers'];
      initialVoters?: string;
    };
  };
  const st = o.status ?? {};
  const cond = (t: string) => st.conditions?.find((c) => c.type === t);
  const d = cond('Degraded');
  return {
    generation: o.metadata.generation,
    observedGeneration: st.observedGeneration ?? -1,
    readyReplicas: st.readyReplicas ?? 0,
    statefulSetReplicas: st.statefulSetReplicas ?? 0,
    phase: st.phase ?? '',
    settled: cond('Settled')?.status === 'True',
    degraded: d?.status === 'True' ? `${d.reason}: ${d.message}` : '',
    operation: st.operation ?? null,
    brokers: st.brokers ?? [],
    initialVoters: st.initialVoters ?? '',
  };
}

async function diagnostics(): Promise<string> {
  const oplog = await kube.run(['-n', operatorNs, 'logs', '-l', 'app.kubernetes.io/name=chronik-operator', '--tail=40']).catch((err: Error) => err.message);
  const status = await kube.run(['-n', ns, 'get', 'chronikcluster', 'chronik', '-o', 'jsonpath={.status}']).catch((err: Error) => err.message);
  return `status: ${status}\n${await kube.describe(ns)}\n--- operator log ---\n${oplog}`;
}

/** The resource fully applied: generation observed, nothing in progress, `n` brokers ready. */
async function waitSettled(n: number, timeoutMs: number): Promise<CkView> {
  try {
    return await waitFor(
      `ChronikCluster settled with ${n} ready brokers`,
      async () => {
        const v = await ck();
        return v.observedGeneration === v.generation && v.settled && v.readyReplicas === n && v.statefulSetReplicas === n ? v : undefined;
      },
      timeoutMs,
      2000,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await diagnostics()}`);
  }
}

async function waitOperation(pred: (op: NonNullable<CkView['operation']>) => boolean, what: string, timeoutMs: number): Promise<NonNullable<CkView['operation']>> {
  try {
    return await waitFor(what, async () => {
      const op = (await ck()).operation;
      return op && pred(op) ? op : undefined;
    }, timeoutMs, 1000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await diagnostics()}`);
  }
}

async function operatorPods(): Promise<string[]> {
  return (await kube.jsonpath(['-n', operatorNs, 'get', 'pods', '-l', 'app.kubernetes.io/name=chronik-operator'], '{.items[*].metadata.name}')).split(' ').filter(Boolean);
}

async function podUid(pod: string): Promise<string> {
  return kube.jsonpath(['-n', ns, 'get', 'pod', pod], '{.metadata.uid}');
}

/** Runs `scenario` under load and checks what the load saw. */
async function underLoad(name: string, scenario: () => Promise<void>): Promise<LoadReport> {
  if (!client) throw new Error('no client');
  const t0 = Date.now();
  const load = await startLoad(client.kafka, TOPIC, PARTITIONS, `e2e-${name.replace(/\W+/g, '-')}-${randomBytes(2).toString('hex')}`);
  let report: LoadReport | undefined;
  try {
    await load.progress(30, 120_000);
    await scenario();
    await load.progress(30, 180_000);
  } finally {
    report = await load.stop();
  }
  const line = `${name}: ${report.acknowledged} acknowledged, ${report.read} read, longest produce gap ${report.longestGapMs} ms, ${report.failedSends.length} failed sends, ${Math.round((Date.now() - t0) / 1000)} s`;
  reports.push(line);
  log(line);
  expect(report.problems).toEqual([]);
  expect(report.failedSends).toEqual([]);
  return report;
}

describe.skipIf(!inject('operatorImage'))('the operator installed with helm runs a replicated ChronikCluster', () => {
  beforeAll(async () => {
    cluster = await attachCluster();
    kube = new Kubectl(inject('kubeconfigPath'));
  });

  afterAll(async () => {
    for (const r of reports) log(`load: ${r}`);
    await client?.close();
    if (!kube) return;
    await kube.run(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await helm(['uninstall', release, '-n', operatorNs]).catch(() => undefined);
    await kube.run(['delete', 'namespace', operatorNs, '--wait=false']).catch(() => undefined);
  });

  it('helm install charts/chronik brings the operator up', async () => {
    const op = splitImage(inject('operatorImage'));
    const broker = splitImage(inject('brokerImage'));
    await helm([
      'install', release, join(REPO_ROOT, 'charts/chronik'),
      '--namespace', operatorNs, '--create-namespace',
      '--set', `image.repository=${op.repository}`, '--set', `image.tag=${op.tag}`,
      '--set', `brokerImage.repository=${broker.repository}`, '--set', `brokerImage.tag=${broker.tag}`,
      '--set', 'replicaCount=1',
      '--set', 'logLevel=debug',
      '--wait', '--timeout', '180s',
    ]);
    const ready = await kube.jsonpath(['-n', operatorNs, 'get', 'deployments'], '{.items[*].status.readyReplicas}');
    expect(ready).toBe('1');
  });

  it('kubectl apply -f examples/chronikcluster.yaml gives 3 replicated brokers; a host producer and consumer group lose nothing', async () => {
    await kube.run(['create', 'namespace', ns]);
    // The example as a user applies it, with a smaller __consumer_offsets so the scale steps
    // below move tens of replicas rather than 150 on the suite's two shared cores.
    const example = readFileSync(join(REPO_ROOT, 'examples/chronikcluster.yaml'), 'utf8');
    expect(example).toMatch(/replicas: 3/);
    expect(example).toMatch(/replicationFactor: 3/);
    await kube.apply(`${example.trimEnd()}\n  brokerConfig:\n    offsets.topic.num.partitions: "6"\n`, ns);
    const v = await waitSettled(3, 420_000);
    expect(v.phase).toBe('Running');
    expect(v.brokers.map((b) => b.brokerId)).toEqual([0, 1, 2]);
    expect(v.initialVoters.split(',').map((x) => x.split('@')[0])).toEqual(['0', '1', '2']);
    // The brokers' admin service wants the operator's token: the operator's answers above prove
    // it sends it; a call without it is refused.
    const tokenSecret = await kube.jsonpath(['-n', ns, 'get', 'secret', 'chronik-admin-token'], '{.data.token}');
    expect(tokenSecret.length).toBeGreaterThan(20);
    const printed = await kube.run(['-n', ns, 'get', 'ck', 'chronik']);
    expect(printed).toMatch(/REPLICAS\s+READY\s+PHASE/);
    expect(printed).toMatch(/chronik\s+3\s+3\s+Running/);

    client = await hostKafka({ cluster, namespace: ns, service: 'chronik' });
    const admin = client.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
    } catch (e) {
      const inner = (e as { errors?: { type?: string; message?: string }[] }).errors ?? [];
      throw new Error(`CreateTopics failed: ${inner.map((x) => `${x.type ?? ''} ${x.message ?? ''}`).join('; ') || (e as Error).message}`);
    } finally {
      await admin.disconnect();
    }
    await underLoad('create', async () => {
      await new Promise((r) => setTimeout(r, 5000));
    });
  }, LONG);

  it('kubectl scale ck/chronik --replicas 5, then back to 3 by editing the resource', async () => {
    await underLoad('scale 3->5->3', async () => {
      await kube.run(['-n', ns, 'scale', 'ck/chronik', '--replicas', '5']);
      const up = await waitSettled(5, 600_000);
      expect(up.brokers.map((b) => b.brokerId)).toEqual([0, 1, 2, 3, 4]);
      // The rebalance after the scale-up gave the new brokers replicas.
      expect(up.brokers.filter((b) => b.brokerId >= 3).every((b) => (b.replicas ?? 0) > 0)).toBe(true);
      await kube.run(['-n', ns, 'patch', 'chronikcluster', 'chronik', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
      const down = await waitSettled(3, 900_000);
      expect(down.brokers.map((b) => b.brokerId)).toEqual([0, 1, 2]);
    });
    // Claims of removed brokers follow the reclaim policy (Retain by default).
    const claims = await kube.jsonpath(['-n', ns, 'get', 'pvc'], '{.items[*].metadata.name}');
    expect(claims.split(' ')).toEqual(expect.arrayContaining(['data-chronik-3', 'data-chronik-4']));
  }, 2 * LONG);

  it('a broker config change rolls every broker, one at a time', async () => {
    const before = await Promise.all([0, 1, 2].map((o) => podUid(`chronik-${o}`)));
    await underLoad('roll', async () => {
      await kube.run(['-n', ns, 'patch', 'chronikcluster', 'chronik', '--type=merge', '-p', '{"spec":{"brokerConfig":{"offsets.topic.num.partitions":"6","log.retention.ms":"86400000"}}}']);
      await waitSettled(3, 900_000);
    });
    const after = await Promise.all([0, 1, 2].map((o) => podUid(`chronik-${o}`)));
    for (let i = 0; i < 3; i++) expect(after[i]).not.toBe(before[i]);
  }, LONG);

  it('the operator pod deleted in the middle of a scale-down and of a roll: the new one finishes both', async () => {
    await underLoad('operator killed mid scale-down', async () => {
      await kube.run(['-n', ns, 'scale', 'ck/chronik', '--replicas', '4']);
      await waitSettled(4, 600_000);
      await kube.run(['-n', ns, 'scale', 'ck/chronik', '--replicas', '3']);
      const op = await waitOperation((o) => o.type === 'ScaleDown' && (o.step === 'Decommission' || o.step === 'WaitDecommissioned'), 'the scale-down decommissioning a broker', 300_000);
      log(`deleting the operator at ${op.type}/${op.step}`);
      for (const p of await operatorPods()) await kube.run(['-n', operatorNs, 'delete', 'pod', p, '--wait=false']);
      await waitSettled(3, 900_000);
    });
    const before = await Promise.all([0, 1, 2].map((o) => podUid(`chronik-${o}`)));
    await underLoad('operator killed mid roll', async () => {
      await kube.run(['-n', ns, 'patch', 'chronikcluster', 'chronik', '--type=merge', '-p', '{"spec":{"brokerConfig":{"offsets.topic.num.partitions":"6","log.retention.ms":"172800000"}}}']);
      const op = await waitOperation((o) => o.type === 'Roll' && (o.step === 'WaitPodReady' || o.step === 'WaitBrokerActive'), 'a roll waiting on a restarted broker', 300_000);
      log(`deleting the operator at ${op.type}/${op.step} of broker ${op.brokerId}`);
      for (const p of await operatorPods()) await kube.run(['-n', operatorNs, 'delete', 'pod', p, '--wait=false']);
      await waitSettled(3, 900_000);
    });
    const after = await Promise.all([0, 1, 2].map((o) => podUid(`chronik-${o}`)));
    for (let i = 0; i < 3; i++) expect(after[i]).not.toBe(before[i]);
  }, 2 * LONG);

  it('a broker pod deleted by hand, idle and under load, comes back and catches up', async () => {
    await kube.run(['-n', ns, 'delete', 'pod', 'chronik-1']);
    await waitSettled(3, 600_000);
    await underLoad('broker pod deleted under load', async () => {
      await kube.run(['-n', ns, 'delete', 'pod', 'chronik-2', '--wait=false']);
      await new Promise((r) => setTimeout(r, 5000));
      await waitSettled(3, 600_000);
    });
  }, LONG);
});
