import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { loadProvider, providerName } from '../lib/cluster/provider.js';
import type { Cluster } from '../lib/cluster/provider.js';
import { ensureBaseImage } from '../lib/docker.js';
import { log } from '../lib/exec.js';
import { buildProjectImages } from '../lib/images.js';
import { REPO_ROOT } from '../lib/suite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfigPath: string;
    provider: string;
    brokerImage: string;
    operatorImage: string;
  }
}

let cluster: Cluster | undefined;

/**
 * Creates (or reuses) the cluster, builds the project's images and loads them into it, once
 * for the whole suite. CHRONIK_E2E_KEEP=1 leaves the cluster running afterwards.
 */
export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  const provider = await loadProvider(providerName());
  // Images and cluster are independent until loading: prepare both at once.
  const [c, images] = await Promise.all([
    provider.create({ reuse: process.env.CHRONIK_E2E_REUSE !== '0' }),
    ensureBaseImage().then(() => buildProjectImages(REPO_ROOT)),
  ]);
  cluster = c;
  await c.loadImage(images.broker);
  if (images.operator) await c.loadImage(images.operator);
  log(`e2e set-up (${provider.name}) took ${Math.round((Date.now() - t0) / 1000)} s`);
  project.provide('kubeconfigPath', c.kubeconfigPath);
  project.provide('provider', provider.name);
  project.provide('brokerImage', images.broker);
  project.provide('operatorImage', images.operator ?? '');
}

export async function teardown(): Promise<void> {
  if (!cluster) return;
  if (process.env.CHRONIK_E2E_KEEP === '1') {
    log(`keeping the ${cluster.provider} cluster; kubeconfig: ${cluster.kubeconfigPath}`);
    return;
  }
  await cluster.destroy();
}
