import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Cluster } from '../lib/cluster/provider.js';
import { waitFor } from '../lib/exec.js';
import { hostKafka, roundTrip, type HostKafka } from '../lib/kafka.js';
import { Kubectl } from '../lib/kube.js';
import { attachCluster, REPO_ROOT } from '../lib/suite.js';
import { ensureHelm } from '../lib/tools.js';
import { run } from '../lib/exec.js';

// The user's path from the README: helm install the operator, kubectl apply the example
// ChronikCluster, use it, scale it by editing the resource.
const ns = `chronik-op-${randomBytes(3).toString('hex')}`;
const release = `chronik-${randomBytes(2).toString('hex')}`;
const operatorNs = `${release}-system`;
const selector = 'app.kubernetes.io/name=chronik,app.kubernetes.io/instance=chronik,app.kubernetes.io/component=broker';
let cluster: Cluster;
let kube: Kubectl;
let client: HostKafka | undefined;

function splitImage(ref: string): { repository: string; tag: string } {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? { repository: ref.slice(0, at), tag: ref.slice(at + 1) } : { repository: ref, tag: 'latest' };
}

async function helm(args: string[]): Promise<string> {
  return (await run(await ensureHelm(), ['--kubeconfig', inject('kubeconfigPath'), ...args])).stdout;
}

async function readyReplicas(): Promise<number> {
  return Number((await kube.jsonpath(['-n', ns, 'get', 'chronikcluster', 'chronik'], '{.status.readyReplicas}')) || '0');
}

describe.skipIf(!inject('operatorImage'))('the operator installed with helm manages a ChronikCluster', () => {
  beforeAll(async () => {
    cluster = await attachCluster();
    kube = new Kubectl(inject('kubeconfigPath'));
  });

  afterAll(async () => {
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
      '--wait', '--timeout', '180s',
    ]);
    const ready = await kube.jsonpath(['-n', operatorNs, 'get', 'deployments'], '{.items[*].status.readyReplicas}');
    expect(ready).toBe('1');
  });

  it('kubectl apply -f examples/chronikcluster.yaml gives a Ready broker', async () => {
    await kube.run(['create', 'namespace', ns]);
    await kube.apply(readFileSync(join(REPO_ROOT, 'examples/chronikcluster.yaml'), 'utf8'), ns);
    try {
      await waitFor('a ready broker', async () => ((await readyReplicas()) >= 1 ? true : undefined), 300_000, 2000);
    } catch (e) {
      const oplog = await kube.run(['-n', operatorNs, 'logs', '-l', 'app.kubernetes.io/name=chronik-operator', '--tail=30']).catch((err: Error) => err.message);
      throw new Error(`${(e as Error).message}\n${await kube.describe(ns)}\n--- operator log ---\n${oplog}`);
    }
    const pods = await kube.jsonpath(['-n', ns, 'get', 'pods', '-l', selector], '{.items[*].status.containerStatuses[0].image}');
    expect(pods.split(' ')).toHaveLength(1);
  });

  it('a host client produces and consumes through the cluster', async () => {
    client = await hostKafka({ cluster, kube, namespace: ns, service: 'chronik', podSelector: selector });
    const admin = client.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'e2e-topic', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    } catch (e) {
      // kafkajs hides the per-topic error codes inside `errors`.
      const inner = (e as { errors?: { type?: string; message?: string }[] }).errors ?? [];
      throw new Error(`CreateTopics failed: ${inner.map((x) => `${x.type ?? ''} ${x.message ?? ''}`).join('; ') || (e as Error).message}`);
    } finally {
      await admin.disconnect();
    }
    const { sent, received } = await roundTrip(client.kafka, 'e2e-topic', 30, `e2e-${ns}`);
    expect([...received].sort()).toEqual([...sent].sort());
  });

  // Scaling needs what the broker does not have yet: replication between brokers and the admin
  // gRPC service (proto/admin.proto) the operator's scale steps wait on. Until then the operator
  // holds a scale-up at RegisterBroker, by design, and this test cannot pass.
  it.skip('scaling the resource to 2 adds a Ready broker (needs broker replication and the admin API)', async () => {
    await kube.run(['-n', ns, 'patch', 'chronikcluster', 'chronik', '--type=merge', '-p', '{"spec":{"replicas":2}}']);
    try {
      await waitFor('2 ready brokers', async () => ((await readyReplicas()) >= 2 ? true : undefined), 240_000, 2000);
    } catch (e) {
      const conditions = await kube.jsonpath(['-n', ns, 'get', 'chronikcluster', 'chronik'], '{.status.conditions}').catch((err: Error) => err.message);
      throw new Error(`${(e as Error).message}\nconditions: ${conditions}\n${await kube.describe(ns)}`);
    }
    expect(await kube.jsonpath(['-n', ns, 'get', 'statefulset', 'chronik'], '{.spec.replicas}')).toBe('2');
  });
});
