/**
 * `npm run e2e [-- options] [vitest args]`: create or reuse a cluster, build and load the
 * images, run the e2e suite with vitest, then tear the cluster down.
 *
 *   --provider=kind|offline  which cluster (default: $CHRONIK_E2E_PROVIDER or offline)
 *   --keep                   leave the cluster running afterwards (reused by the next run)
 *   --fresh                  never reuse a running cluster
 *   --down                   only tear down a cluster left running, then exit
 */
import { spawn } from 'node:child_process';
import { loadProvider, providerName } from './lib/cluster/provider.js';
import { log } from './lib/exec.js';
import { REPO_ROOT } from './lib/suite.js';

const passThrough: string[] = [];
const env: NodeJS.ProcessEnv = { ...process.env };
let down = false;
for (const arg of process.argv.slice(2)) {
  if (arg === '--keep') env.CHRONIK_E2E_KEEP = '1';
  else if (arg === '--fresh') env.CHRONIK_E2E_REUSE = '0';
  else if (arg === '--down') down = true;
  else if (arg.startsWith('--provider=')) env.CHRONIK_E2E_PROVIDER = arg.slice('--provider='.length);
  else passThrough.push(arg);
}

async function main(): Promise<number> {
  const name = providerName(env);
  if (down) {
    await (await loadProvider(name)).destroyExisting();
    return 0;
  }
  const t0 = Date.now();
  log(`running the e2e suite on the ${name} cluster`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn('npx', ['vitest', 'run', '--config', 'e2e/vitest.config.ts', ...passThrough], { cwd: REPO_ROOT, env, stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  log(`e2e finished with exit code ${code} after ${Math.round((Date.now() - t0) / 1000)} s`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`e2e: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
