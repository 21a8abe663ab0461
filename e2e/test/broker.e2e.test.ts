import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import type { Cluster, ServiceEndpoint } from '../lib/cluster/provider.js';
import { Kubectl, manifestPath } from '../lib/kube.js';
import { attachCluster, REPO_ROOT } from '../lib/suite.js';
import { waitFor } from '../lib/exec.js';

const ns = `chronik-e2e-${randomBytes(3).toString('hex')}`;
let cluster: Cluster;
let kube: Kubectl;
let endpoint: ServiceEndpoint | undefined;

describe('a broker from the locally built image in a real cluster', () => {
  beforeAll(async () => {
    cluster = await attachCluster();
    kube = new Kubectl(inject('kubeconfigPath'));
    await kube.run(['create', 'namespace', ns]);
  });

  afterAll(async () => {
    await endpoint?.close();
    if (kube) await kube.run(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('installs the CRDs with kubectl apply -f crds/', async () => {
    const applied = await kube.applyDir(join(REPO_ROOT, 'crds'));
    expect(applied, 'crds/ holds no manifest yet').toBe(true);
    await kube.run(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    const names = await kube.jsonpath(['get', 'crd'], '{.items[*].spec.names.kind}');
    expect(names.split(' ')).toContain('ChronikCluster');
  });

  it('runs a broker Pod that reaches Ready', async () => {
    const manifest = readFileSync(manifestPath('broker-single.yaml'), 'utf8').replaceAll('__BROKER_IMAGE__', inject('brokerImage'));
    await kube.apply(manifest, ns);
    try {
      await kube.waitPodReady(ns, 'chronik-0', 180_000);
    } catch (e) {
      const logs = await kube.run(['-n', ns, 'logs', 'chronik-0', '--tail=40']).catch((err: Error) => err.message);
      throw new Error(`${(e as Error).message}\n${await kube.describe(ns)}\n--- broker log ---\n${logs}`);
    }
    const image = await kube.jsonpath(['-n', ns, 'get', 'pod', 'chronik-0'], '{.spec.containers[0].image}');
    expect(image).toBe(inject('brokerImage'));
  });

  it('resolves the headless and client Service names inside the cluster', async () => {
    const podIp = await kube.jsonpath(['-n', ns, 'get', 'pod', 'chronik-0'], '{.status.podIP}');
    const clusterIp = await kube.jsonpath(['-n', ns, 'get', 'service', 'chronik'], '{.spec.clusterIP}');
    // Resolved by the pod's own resolver (cluster DNS), with node from the broker image.
    const script =
      "const dns=require('dns').promises;" +
      'Promise.all(process.argv.slice(1).map((n)=>dns.lookup(n).then((r)=>r.address)))' +
      '.then((a)=>console.log(JSON.stringify(a)),(e)=>{console.error(e.message);process.exit(1)})';
    const names = [`chronik-0.chronik-headless.${ns}.svc.cluster.local`, `chronik-headless.${ns}.svc.cluster.local`, `chronik.${ns}.svc`, 'chronik'];
    const out = await kube.run(['-n', ns, 'exec', 'chronik-0', '--', 'node', '-e', script, ...names]);
    expect(JSON.parse(out.trim())).toEqual([podIp, podIp, clusterIp, clusterIp]);
  });

  it('produces from the host through the Service and consumes the same records back', async () => {
    const ep = await cluster.reachService(ns, 'chronik', 9092);
    endpoint = ep;
    // Metadata advertises the broker's in-cluster DNS name, which the host cannot resolve; every
    // connection is sent to the Service instead (one broker, so that is the same broker).
    const kafka = new Kafka({
      clientId: 'chronik-e2e',
      brokers: [`${ep.host}:${ep.port}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 5000,
      requestTimeout: 15_000,
      retry: { retries: 5 },
      socketFactory: ({ onConnect }) => {
        const socket = connect({ host: ep.host, port: ep.port }, onConnect);
        socket.setKeepAlive(true, 30_000);
        return socket;
      },
    });
    const topic = 'e2e-orders';
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `order-${i}-${randomBytes(4).toString('hex')}` }));
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const acks = await producer.send({ topic, acks: -1, messages: sent });
      expect(acks[0]?.errorCode).toBe(0);
    } finally {
      await producer.disconnect();
    }
    const received: { key: string; value: string }[] = [];
    const consumer = kafka.consumer({ groupId: `e2e-${ns}`, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
        },
      });
      await waitFor('all records consumed', async () => (received.length >= sent.length ? true : undefined), 60_000, 200);
    } finally {
      await consumer.disconnect();
    }
    expect(received).toEqual(sent);
  });
});
