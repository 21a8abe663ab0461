import { startControlPlane, type ControlPlaneOptions } from './controlplane.js';

export interface ApiServer {
  /** Admin kubeconfig (client certificate in group system:masters), with inline data. */
  kubeconfigPath: string;
  /** e.g. https://127.0.0.1:41234 */
  server: string;
  stop(): Promise<void>;
}

export type ApiServerOptions = Pick<ControlPlaneOptions, 'controllerManager' | 'scheduler'>;

/**
 * A real etcd + kube-apiserver on loopback ephemeral ports, ready when /readyz answers ok.
 * Binaries are built from the Go module proxy on first use and cached under
 * ~/.cache/chronik-e2e (override with CHRONIK_E2E_CACHE). With `controllerManager: true` the
 * workload controllers run too (StatefulSets create Pods, garbage collection, service accounts),
 * but no node exists, so Pods stay Pending.
 */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const cp = await startControlPlane(opts);
  return { kubeconfigPath: cp.kubeconfigPath, server: cp.server, stop: () => cp.stop() };
}
