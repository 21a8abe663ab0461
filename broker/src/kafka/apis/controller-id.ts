/**
 * The ControllerId Kafka clients are told. As with KRaft, clients never talk to the metadata
 * quorum itself: any broker forwards what they address to the "controller" (CreateTopics and
 * the like) and retries while the controller changes. During an election there is no
 * controller, and -1 makes some clients fail rather than retry (kafkajs's idempotent producer
 * looks the controller up when it connects), so the answering broker names itself then.
 */
import type { Cluster } from '../../cluster/types.js';

export function clientControllerId(cluster: Pick<Cluster, 'controllerId' | 'nodeId' | 'brokers'>): number {
  const id = cluster.controllerId();
  if (id >= 0) return id;
  return cluster.brokers().some((b) => b.nodeId === cluster.nodeId) ? cluster.nodeId : -1;
}
