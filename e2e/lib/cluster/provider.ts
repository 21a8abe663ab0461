/** What the e2e suite needs from a Kubernetes cluster, whichever way it was made. */
export interface Cluster {
  provider: ProviderName;
  name: string;
  /** Admin kubeconfig for kubectl, helm and client libraries on the host. */
  kubeconfigPath: string;
  /** Makes a locally built docker image available to the cluster's container runtime. */
  loadImage(ref: string): Promise<void>;
  /**
   * An address on this host that reaches a Service's port: the ClusterIP itself where the host
   * is a node (offline), a `kubectl port-forward` otherwise (kind). close() ends any forward.
   */
  reachService(namespace: string, service: string, port: number): Promise<ServiceEndpoint>;
  /** The same for one Pod (a broker that Metadata names). */
  reachPod(namespace: string, pod: string, port: number): Promise<ServiceEndpoint>;
  /** Stops and removes the cluster. */
  destroy(): Promise<void>;
}

export interface ServiceEndpoint {
  host: string;
  port: number;
  close(): Promise<void>;
}

export type ProviderName = 'kind' | 'offline';

export interface CreateOptions {
  /** Reuse a running cluster of this provider when there is one (faster iterations). */
  reuse: boolean;
}

export interface ClusterProvider {
  name: ProviderName;
  /** Creates the cluster, or attaches to a running one when `reuse` allows. */
  create(opts: CreateOptions): Promise<Cluster>;
  /** Attaches to the running cluster (from a test worker); throws when there is none. */
  attach(): Promise<Cluster>;
  /** Tears down a cluster left running by an earlier run (no-op when there is none). */
  destroyExisting(): Promise<void>;
}

/**
 * CHRONIK_E2E_PROVIDER picks the provider: `kind` where container images can be pulled (a
 * developer laptop), `offline` (the default) where nothing but package registries is reachable.
 */
export function providerName(env: NodeJS.ProcessEnv = process.env): ProviderName {
  const v = (env.CHRONIK_E2E_PROVIDER ?? 'offline').trim();
  if (v === 'kind' || v === 'offline') return v;
  throw new Error(`CHRONIK_E2E_PROVIDER must be "kind" or "offline", got "${v}"`);
}

export async function loadProvider(name: ProviderName = providerName()): Promise<ClusterProvider> {
  if (name === 'kind') return (await import('./kind.js')).kindProvider;
  return (await import('./offline.js')).offlineProvider;
}
