import { spawnSync } from 'node:child_process';
import { isRoot, log, run } from './exec.js';
import { withLock } from './cache.js';

let listsRefreshed = false;

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/**
 * Installs Debian packages that are missing. CI starts on a clean machine, so every host tool
 * the suite needs is installed from here on first use rather than assumed.
 */
export async function ensureDebianPackages(pkgs: readonly string[]): Promise<void> {
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return;
  if (!isRoot()) {
    throw new Error(`missing Debian packages ${missing.join(' ')}; install them as root (apt-get install -y ${missing.join(' ')})`);
  }
  await withLock('apt', async () => {
    const still = missing.filter((p) => !installed(p));
    if (still.length === 0) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const args = ['install', '-y', '--no-install-recommends', ...still];
    log(`apt-get install ${still.join(' ')}`);
    const first = await run('apt-get', args, { env, allowFailure: true });
    if (first.code === 0) return;
    // A fresh machine may have stale or empty package lists: refresh once and retry.
    if (!listsRefreshed) {
      log('apt-get update');
      await run('apt-get', ['update'], { env });
      listsRefreshed = true;
    }
    await run('apt-get', args, { env });
  });
}
