import type { Logger } from 'pino';
import type { OperatorConfig } from './config.js';
import { Controller } from './controller.js';
import { dnsAdminFactory, type AdminFactory } from './brokers/endpoints.js';
import { EventRecorder } from './kube/events.js';
import type { KubeRest } from './kube/rest.js';
import { startHealthServer, type HealthServer } from './observability/health-server.js';
import { createMetrics, type OperatorMetrics } from './observability/metrics.js';
import { Reconciler } from './reconcile/reconciler.js';

export interface OperatorHandle {
  controller: Controller;
  metrics: OperatorMetrics;
  health: HealthServer;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: OperatorConfig;
  rest: KubeRest;
  log: Logger;
  adminFor?: AdminFactory;
  onLostLeadership?: () => void;
  resyncMs?: number;
  leaseDurationSec?: number;
}

/** Starts one operator replica: health server, leader election, and (when leading) the controller. */
export async function startOperator(o: StartOptions): Promise<OperatorHandle> {
  const metrics = createMetrics();
  const events = new EventRecorder(o.rest, 'chronik-operator', o.config.identity, o.log);
  const reconciler = new Reconciler({
    rest: o.rest,
    log: o.log,
    events,
    metrics,
    defaultBrokerImage: o.config.defaultBrokerImage,
    adminFor: o.adminFor ?? dnsAdminFactory(o.config.clusterDomain),
  });
  const controller = new Controller({
    rest: o.rest,
    log: o.log,
    metrics,
    reconciler,
    namespaces: o.config.watchNamespaces,
    leaderElection: { namespace: o.config.leaseNamespace, name: o.config.leaseName, identity: o.config.identity, leaseDurationSec: o.leaseDurationSec },
    workers: o.config.workers,
    resyncMs: o.resyncMs,
    onLostLeadership: o.onLostLeadership,
  });
  const health = await startHealthServer(
    o.config.httpHost,
    o.config.httpPort,
    {
      live: () => true,
      // A standby is ready (it is correctly waiting); a leader once its caches have synced.
      ready: () => (controller.isLeader ? { ok: controller.synced, detail: controller.synced ? 'leader, synced' : 'leader, syncing' } : { ok: true, detail: 'standby' }),
    },
    metrics.registry,
  );
  controller.start();
  return {
    controller,
    metrics,
    health,
    stop: async () => {
      await controller.stop();
      await health.close();
    },
  };
}
