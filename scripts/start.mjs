#!/usr/bin/env node
// `npm start`: install if needed, build the broker, run it with defaults plus any extra args
// (npm start -- --config num.partitions=3).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { installDependencies } from './install-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`start: '${cmd} ${args.join(' ')}' failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules')) && !installDependencies(root)) {
  process.stderr.write('start: installing npm packages failed\n');
  process.exit(1);
}
run(npx, ['tsc', '-b', 'broker']);

const child = spawn(process.execPath, [join(root, 'broker/bin/chronik.mjs'), 'broker', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
// Forward termination so Ctrl-C and `kill` shut the broker down gracefully.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
