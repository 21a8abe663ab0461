// Checks that package-lock.json lists every dependency of every locked package, optional ones
// for other platforms included: `npm ci` refuses a lock that lacks one ("Missing: X from lock
// file") even where that package would never be installed. Such a lock comes from an npm that
// pruned the other platforms' optional packages while writing it (npm/cli#4828); regenerate it
// with `npm install` on a current npm and commit the result.
//
//   node scripts/check-lock.mjs    prints what is missing and exits 1, or exits 0
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KINDS = ['dependencies', 'optionalDependencies', 'peerDependencies'];

/** The lock entry `name` resolves to from the package at `from` (a lock key), as Node resolves it. */
function resolveFrom(packages, from, name) {
  // Workspace packages are linked: their own dependencies resolve from their folder first.
  let dir = from;
  for (;;) {
    const key = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[key]) return key;
    if (dir === '') return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut >= 0 ? dir.slice(0, cut) : '';
  }
}

/** Lines naming each dependency that a locked package declares and the lock does not hold. */
export function missingFromLock(lock) {
  if (lock.lockfileVersion < 2 || !lock.packages) return ['the lock has no "packages" section (lockfileVersion 1); regenerate it'];
  const packages = lock.packages;
  const missing = [];
  for (const [key, pkg] of Object.entries(packages)) {
    if (pkg.link) continue;
    for (const kind of KINDS) {
      for (const name of Object.keys(pkg[kind] ?? {})) {
        // An optional peer the package does not need installed is not locked by npm either.
        if (kind === 'peerDependencies' && pkg.peerDependenciesMeta?.[name]?.optional) continue;
        if (!resolveFrom(packages, key, name)) missing.push(`${name} (${kind} of ${key || 'the root package'})`);
      }
    }
  }
  return missing;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const missing = missingFromLock(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')));
  for (const line of missing) process.stderr.write(`package-lock.json lacks ${line}\n`);
  process.exit(missing.length === 0 ? 0 : 1);
}
