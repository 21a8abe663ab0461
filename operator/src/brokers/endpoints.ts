import type { BrokerStatus, ChronikCluster } from '../api/types.js';
import { ADMIN_PORT, podHost } from '../reconcile/names.js';
import { GrpcBrokerAdmin } from './admin-client.js';
import type { BrokerAdmin } from './types.js';

/** Admin endpoints of a cluster's brokers, by their stable pod DNS names. */
export function adminEndpoints(c: ChronikCluster, brokers: readonly BrokerStatus[], clusterDomain = 'cluster.local'): string[] {
  return brokers.map((b) => `${podHost(c, b.ordinal, clusterDomain)}:${ADMIN_PORT}`);
}

export type AdminFactory = (c: ChronikCluster, brokers: readonly BrokerStatus[], token: string | null, signal?: AbortSignal) => BrokerAdmin;

export function dnsAdminFactory(clusterDomain = 'cluster.local'): AdminFactory {
  return (c, brokers, token, signal) => {
    const endpoints = adminEndpoints(c, brokers, clusterDomain);
    return new GrpcBrokerAdmin({
      endpoints: endpoints.length > 0 ? endpoints : [`${c.metadata.name}.${c.metadata.namespace}.svc.${clusterDomain}:${ADMIN_PORT}`],
      token,
      ...(signal ? { signal } : {}),
    });
  };
}
