#!/usr/bin/env node
// `npm start`: install if needed, build the broker, run it with defaults plus any extra args
// (npm start -- --config num.partitions=3). `npm run dev` (this script with `dev` first) runs
// the local cluster instead (npm run dev -- --brokers 5).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { installDependencies } from './install-deps.mjs';
import { ROOT, ensureSupportedNode, runChild } from './node-runtime.mjs';

await ensureSupportedNode();

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`start: '${cmd} ${args.join(' ')}' failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(ROOT, 'node_modules')) && !installDependencies(ROOT)) {
  process.stderr.write('start: installing npm packages failed\n');
  process.exit(1);
}
run(npx, ['tsc', '-b', 'broker']);

// runChild passes SIGTERM on and leaves Ctrl-C to reach the broker once, so it drains and exits 0.
const args = process.argv.slice(2);
// A developer's first consumer should not wait Kafka's 3 s for more members to join (Kafka's own
// shipped config sets 0 for development too); `chronik broker` keeps 3000, and `chronik dev`
// sets 0 itself. Given in the flags or CHRONIK_CONFIG, the user's value wins.
const DELAY = 'group.initial.rebalance.delay.ms';
const saidOtherwise = [...args, process.env.CHRONIK_CONFIG ?? ''].some((a) => a.includes(DELAY));
const devDefaults = saidOtherwise ? [] : ['--config', `${DELAY}=0`];
const command = args[0] === 'dev' ? ['dev', ...args.slice(1)] : ['broker', ...devDefaults, ...args];
process.exit(await runChild(process.execPath, [join(ROOT, 'broker/bin/chronik.mjs'), ...command], { cwd: ROOT }));
