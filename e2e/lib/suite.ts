import { fileURLToPath } from 'node:url';
import { loadProvider, providerName } from './cluster/provider.js';
import type { Cluster } from './cluster/provider.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The cluster global-setup prepared, attached from inside a test worker. */
export async function attachCluster(): Promise<Cluster> {
  const provider = await loadProvider(providerName());
  return provider.attach();
}
