import { Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import type { Cluster, ServiceEndpoint } from './cluster/provider.js';

export interface HostKafka {
  kafka: Kafka;
  close(): Promise<void>;
}

/**
 * A kafkajs client on the host for brokers that advertise in-cluster DNS names
 * (`<pod>.<headless>.<ns>.svc...`), which the host cannot resolve: bootstrap goes through the
 * client Service, and each advertised name is sent to its Pod (first DNS label = pod name).
 * The pod's address is looked up at every connect, since a restarted pod has a new one and a
 * scaled-up cluster has pods that did not exist when the client was made.
 */
export async function hostKafka(opts: {
  cluster: Cluster;
  namespace: string;
  service: string;
  port?: number;
}): Promise<HostKafka> {
  const port = opts.port ?? 9092;
  const endpoints: ServiceEndpoint[] = [];
  const bootstrap = await opts.cluster.reachService(opts.namespace, opts.service, port);
  endpoints.push(bootstrap);
  let closed = false;
  const kafka = new Kafka({
    clientId: 'chronik-e2e',
    brokers: [`${bootstrap.host}:${bootstrap.port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15_000,
    retry: { retries: 8 },
    socketFactory: ({ host, port: p, onConnect }) => {
      const socket = new Socket();
      socket.setKeepAlive(true, 30_000);
      const pod = host.split('.')[0] ?? '';
      if (host === bootstrap.host || !host.includes('.svc')) {
        socket.connect({ host: host === bootstrap.host ? bootstrap.host : host, port: host === bootstrap.host ? bootstrap.port : p }, onConnect);
        return socket;
      }
      opts.cluster.reachPod(opts.namespace, pod, port).then(
        (ep) => {
          if (closed) ep.close().catch(() => undefined);
          else endpoints.push(ep);
          if (!socket.destroyed) socket.connect({ host: ep.host, port: ep.port }, onConnect);
        },
        (err: unknown) => socket.destroy(err instanceof Error ? err : new Error(String(err))),
      );
      return socket;
    },
  });
  return {
    kafka,
    close: async () => {
      closed = true;
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
