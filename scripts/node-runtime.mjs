// The Node.js that `npm start`, `npm test` and the other npm scripts run on.
//
// Chronik supports Node.js >= MIN_MAJOR and is tested on the release pinned in /.node-version.
// A host whose Node is older (an LTS line that reached end of life is still the default on many
// machines) gets the pinned release from the npm registry, where the official Node.js builds are
// published as `node-<platform>-<arch>`, unpacked into a cache outside the repository. Nothing
// else has to be installed by hand.
//
// This file runs on whatever Node the host has, so it uses nothing newer than Node 18.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Oldest major the broker, the operator and their dependencies run on (package.json `engines`). */
export const MIN_MAJOR = 22;

/** The release the images ship and the tests run on, e.g. "24.22.3". */
export const NODE_VERSION = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();

export const NODE_CACHE = process.env.CHRONIK_NODE_CACHE ?? join(homedir(), '.cache', 'chronik-node');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function major(version) {
  return Number(version.replace(/^v/, '').split('.')[0]);
}

function fail(message) {
  process.stderr.write(`[node] ${message}\n`);
  process.exit(1);
}

function versionOf(nodeBinary) {
  const r = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The pinned release from the cache, fetched first if it is not there. Two processes may fetch
 * at once: each unpacks into its own temporary directory and the first rename wins.
 */
export function cachedNode() {
  const home = join(NODE_CACHE, NODE_VERSION);
  const binary = join(home, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (versionOf(binary) === `v${NODE_VERSION}`) return binary;

  const pkg = `node-${process.platform}-${process.arch}@${NODE_VERSION}`;
  process.stderr.write(`[node] host Node ${process.version} is older than ${MIN_MAJOR}; fetching Node ${NODE_VERSION} (${pkg}) into ${NODE_CACHE}\n`);
  mkdirSync(NODE_CACHE, { recursive: true });
  const work = mkdtempSync(join(NODE_CACHE, `.fetch-${NODE_VERSION}-`));
  try {
    // npm pack checks the tarball against the integrity the registry publishes for it.
    const packed = spawnSync(npm, ['pack', pkg, '--silent', '--pack-destination', work], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tgz = packed.stdout?.trim().split('\n').pop();
    if (packed.status !== 0 || !tgz) fail(`could not fetch ${pkg} from the npm registry; install Node.js >= ${MIN_MAJOR} and run again`);
    const untar = spawnSync('tar', ['-xzf', join(work, tgz), '-C', work], { stdio: 'inherit' });
    if (untar.status !== 0) fail(`could not unpack ${tgz}`);
    const unpacked = join(work, 'package');
    if (versionOf(join(unpacked, 'bin', 'node')) !== `v${NODE_VERSION}`) fail(`${pkg} does not run on this machine`);
    try {
      renameSync(unpacked, home);
    } catch (e) {
      // Another process finished first; its copy is the same release.
      if (versionOf(binary) !== `v${NODE_VERSION}`) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/** A Node binary this project runs on: the host's when it is new enough, else the cached release. */
export function runtimeNode() {
  return major(process.version) >= MIN_MAJOR ? process.execPath : cachedNode();
}

/**
 * `env` with `nodeBinary`'s directory first on PATH, so that every child started by name
 * (npm, npx, tsc, vitest, and the processes those start) runs on the same Node.
 */
export function envWithNode(nodeBinary, env = process.env) {
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  const dirs = (env[key] ?? '').split(delimiter).filter(Boolean);
  // npm run sets these to the Node that ran npm; tools that read them must get this one too.
  const out = { ...env, NODE: nodeBinary, npm_node_execpath: nodeBinary };
  if (dirs[0] !== dirname(nodeBinary)) out[key] = [dirname(nodeBinary), ...dirs].join(delimiter);
  return out;
}

/**
 * Makes sure the current script runs on a supported Node. On an older host it runs itself again
 * on the cached release (with that release first on PATH) and exits with the child's status;
 * otherwise it returns and the script goes on. Call it before anything else.
 */
export async function ensureSupportedNode() {
  if (major(process.version) >= MIN_MAJOR) {
    // Children started by name must find this same Node, not an older one earlier on PATH.
    Object.assign(process.env, envWithNode(process.execPath));
    return;
  }
  if (process.env.CHRONIK_NODE_REEXEC === '1') fail(`re-ran on ${process.execPath} but it is Node ${process.version}`);
  const node = cachedNode();
  const env = {
    ...envWithNode(node),
    CHRONIK_NODE_REEXEC: '1',
    // Native addons that npm builds from source must use this Node's headers (the release ships
    // them), not those of a `nodedir` configured for the host's older Node.
    npm_config_nodedir: dirname(dirname(node)),
  };
  const code = await runChild(node, [...process.execArgv, ...process.argv.slice(1)], { env });
  process.exit(code);
}

/**
 * Runs `cmd` with inherited stdio and resolves to its exit status (128 + signal number when a
 * signal ended it). The child stays in this process group, so a terminal's Ctrl-C reaches it
 * directly and is not passed on a second time (npm also forwards it to this process; a broker
 * counts a second SIGINT as "exit now"). SIGTERM, which is sent to one process (kill, a
 * supervisor, npm passing it on), is forwarded.
 */
export function runChild(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
  const onInt = () => {};
  const onTerm = () => child.kill('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`[node] could not start ${cmd}: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}
