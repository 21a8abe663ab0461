import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import type { Cluster, ServiceEndpoint } from './cluster/provider.js';
import type { Kubectl } from './kube.js';

export interface HostKafka {
  kafka: Kafka;
  close(): Promise<void>;
}

/**
 * A kafkajs client on the host for brokers that advertise in-cluster DNS names
 * (`<pod>.<headless>.<ns>.svc...`), which the host cannot resolve: bootstrap goes through the
 * client Service, and each advertised name is sent to its Pod (first DNS label = pod name).
 */
export async function hostKafka(opts: {
  cluster: Cluster;
  kube: Kubectl;
  namespace: string;
  service: string;
  podSelector: string;
  port?: number;
}): Promise<HostKafka> {
  const port = opts.port ?? 9092;
  const endpoints: ServiceEndpoint[] = [];
  const bootstrap = await opts.cluster.reachService(opts.namespace, opts.service, port);
  endpoints.push(bootstrap);
  const pods = (await opts.kube.jsonpath(['-n', opts.namespace, 'get', 'pods', '-l', opts.podSelector], '{.items[*].metadata.name}')).split(' ').filter(Boolean);
  const byPod = new Map<string, ServiceEndpoint>();
  for (const pod of pods) {
    const ep = await opts.cluster.reachPod(opts.namespace, pod, port);
    endpoints.push(ep);
    byPod.set(pod, ep);
  }
  const kafka = new Kafka({
    clientId: 'chronik-e2e',
    brokers: [`${bootstrap.host}:${bootstrap.port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15_000,
    retry: { retries: 8 },
    socketFactory: ({ host, port: p, onConnect }) => {
      const ep = byPod.get(host.split('.')[0] ?? '') ?? (host === bootstrap.host ? bootstrap : undefined);
      const socket = connect(ep ? { host: ep.host, port: ep.port } : { host, port: p }, onConnect);
      socket.setKeepAlive(true, 30_000);
      return socket;
    },
  });
  return {
    kafka,
    close: async () => {
      for (const ep of endpoints) await ep.close();
    },
  };
}

/** Produces `count` records with acks=all and reads them back with a consumer group. */
export async function roundTrip(kafka: Kafka, topic: string, count: number, groupId: string): Promise<{ sent: string[]; received: string[] }> {
  const sent = Array.from({ length: count }, (_, i) => `record-${i}-${Math.random().toString(36).slice(2, 10)}`);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: sent.map((value, i) => ({ key: `k${i % 7}`, value })) });
  } finally {
    await producer.disconnect();
  }
  const received: string[] = [];
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value?.toString() ?? '') });
    const deadline = Date.now() + 90_000;
    while (received.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  return { sent, received };
}
