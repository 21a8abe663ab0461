// Installs the npm packages from the lock file, for `npm start` and `npm test` on a fresh clone.
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * `npm ci` first. A registry mirror that lacks other platforms' optional packages (rollup's
 * native builds, for one) makes npm write lock files that `npm ci` then refuses as out of sync;
 * `npm install` installs the same locked set there, so it is the fallback.
 */
export function installDependencies(root) {
  const opts = { cwd: root, stdio: 'inherit' };
  if (spawnSync(npm, ['ci', '--no-audit', '--no-fund'], opts).status === 0) return true;
  console.error('[install] npm ci refused the lock file; installing with npm install instead');
  return spawnSync(npm, ['install', '--no-audit', '--no-fund'], opts).status === 0;
}
