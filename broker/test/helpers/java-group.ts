/**
 * What the group tests with Java members (consumer-protocol.test.ts, group-migration.test.ts)
 * share: the live bootstrap list, the group's coordinator, seeding a topic, and waits that say
 * what the members last did when they time out.
 */
import type { JavaMember } from '../clients/java-driver.js';
import type { ProcessCluster } from './cluster-process.js';
import { eventually, kafkaOf } from './kafka-load.js';
import { RawKafkaClient, type RawBody } from './raw-kafka-client.js';

/** The bootstrap list of the brokers still running. */
export function liveBootstrap(cluster: ProcessCluster): string {
  return cluster.members
    .filter((m) => !m.process.exited)
    .map((m) => m.process.bootstrap)
    .join(',');
}

/** The node id of the coordinator of `group` (FindCoordinator on a live broker). */
export async function groupCoordinator(cluster: ProcessCluster, group: string): Promise<number> {
  let node = -1;
  await eventually(`the coordinator of ${group}`, async () => {
    const asked = cluster.members.find((m) => !m.process.exited);
    if (asked === undefined) return false;
    const c = await RawKafkaClient.open(asked.process.kafkaPort);
    try {
      const r = await c.call(10, 4, { keyType: 0, coordinatorKeys: [group] });
      const k = (r.coordinators as RawBody)[0] as RawBody;
      node = k.errorCode === 0 ? (k.nodeId as number) : -1;
    } finally {
      c.close();
    }
    return node >= 0;
  });
  return node;
}

/** Values v<from>..v<from+count-1>, value i to partition i % partitions, acks=all. */
export async function produceValues(cluster: ProcessCluster, topic: string, partitions: number, from: number, count: number): Promise<void> {
  const producer = kafkaOf(cluster).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ value: `v${from + i}`, partition: (from + i) % partitions })) });
  } finally {
    await producer.disconnect();
  }
}

export const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
export const valuesOf = (ms: readonly JavaMember[]): Set<string> => new Set(ms.flatMap((m) => m.messages().map((x) => x.value)));

/** What went wrong, for a failed wait: each member's last `lines` events and its stderr. */
export function explainMembers(ms: readonly JavaMember[], lines: number): string {
  return ms.map((m) => `${m.name}: ${m.timeline().filter((l) => !l.includes(' message ')).slice(-lines).join('; ')}\n${m.stderr().slice(-1500)}`).join('\n');
}

/** Waits for `cond`; a timeout names what the members last did. */
export async function untilMembers(what: string, ms: readonly JavaMember[], cond: () => boolean | Promise<boolean>, timeoutMs: number, lines: number): Promise<void> {
  try {
    await eventually(what, cond, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${explainMembers(ms, lines)}`);
  }
}
