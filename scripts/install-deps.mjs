// Installs the npm packages from the lock file, for `npm start` and `npm test` on a fresh clone.
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * `npm ci`, which installs exactly the locked set and never rewrites the lock. It refuses a lock
 * that does not match package.json; the lock must then be regenerated (`npm install`) and
 * committed, never patched over here.
 */
export function installDependencies(root) {
  return spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' }).status === 0;
}
