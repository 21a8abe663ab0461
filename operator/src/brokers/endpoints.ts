import type { BrokerStatus, ChronikCluster } from '../api/types.js';
import { ADMIN_PORT, podHost } from '../reconcile/names.js';
import { GrpcBrokerAdmin } from './admin-client.js';
import type { BrokerAdmin } from './types.js';

/** Admin endpoints of a cluster's brokers, by their stable pod DNS names. */
export function adminEndpoints(c: ChronikCluster, brokers: readonly BrokerStatus[], clusterDomain = 'cluster.local'): string[] {
  return brokers.map((b) => `${podHost(c, b.ordinal, clusterDomain)}:${ADMIN_PORT}`);
}

export function dnsAdminFactory(clusterDomain = 'cluster.local'): (c: ChronikCluster, brokers: readonly BrokerStatus[]) => BrokerAdmin {
  return (c, brokers) => {
    const endpoints = adminEndpoints(c, brokers, clusterDomain);
    return new GrpcBrokerAdmin({ endpoints: endpoints.length > 0 ? endpoints : [`${c.metadata.name}.${c.metadata.namespace}.svc.${clusterDomain}:${ADMIN_PORT}`] });
  };
}
