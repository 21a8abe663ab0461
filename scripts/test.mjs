#!/usr/bin/env node
// `npm test`: the one command that sets up a fresh machine and runs every suite.
// It installs what the suites need (Node.js itself where the host's is too old, Debian packages
// for the non-JavaScript Kafka clients, npm packages), type-checks, runs vitest over every workspace, optionally the e2e suite, and ends
// with one line `N passed, N failed` that sums all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installDependencies } from './install-deps.mjs';
import { ensureSupportedNode } from './node-runtime.mjs';

// Everything below, and every process it starts (npm, tsc, vitest and its workers, the brokers
// the tests spawn), runs on the pinned Node when the host's is too old.
await ensureSupportedNode();

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);

// python3-snappy, -lz4 and -zstandard give kafka-python its optional codecs; python3-venv lets
// the tests that need another librdkafka install confluent-kafka releases from PyPI into venvs.
const DEBIAN_PACKAGES = ['kcat', 'python3-confluent-kafka', 'python3-kafka', 'python3-snappy', 'python3-lz4', 'python3-zstandard', 'python3-venv'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

// The Java client tests (group.protocol=consumer, transactions) compile their driver with javac
// and resolve kafka-clients with Maven; any JDK 11+ does, so a tool already on PATH is enough.
const TOOL_PACKAGES = [
  ['javac', 'default-jdk-headless'],
  ['mvn', 'maven'],
];

function onPath(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function missingDebianPackages() {
  const packages = DEBIAN_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !(r.status === 0 && r.stdout.includes('install ok installed'));
  });
  for (const [tool, pkg] of TOOL_PACKAGES) if (!onPath(tool)) packages.push(pkg);
  return packages;
}

function ensureDebianPackages() {
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  console.log(`[test] installing Debian packages: ${missing.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => (sudo.length ? run('sudo', ['apt-get', ...args], { env }) : run('apt-get', args, { env }));
  if (apt(['install', '-y', '--no-install-recommends', ...missing]) !== 0) {
    apt(['update']);
    if (apt(['install', '-y', '--no-install-recommends', ...missing]) !== 0) {
      console.error('[test] could not install the Debian packages the client tests need');
    }
  }
}

function ensureNodeModules() {
  const stamp = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(stamp)) return;
  console.log('[test] installing npm packages');
  if (!installDependencies(root)) process.exit(1);
}

ensureDebianPackages();
ensureNodeModules();

const totals = { passed: 0, failed: 0, skipped: 0 };

// The suites run with a temp dir of their own (TMPDIR, which os.tmpdir() and the tools the tests
// start read), so that whatever a test leaves behind is seen below, and the machine's temp dir
// keeps nothing even then.
const suiteTmp = mkdtempSync(join(tmpdir(), 'chronik-run-'));
process.env.TMPDIR = suiteTmp;
/**
 * What tools keep in the temp dir on purpose, not a test's leftovers: Node's compile cache, tsx's,
 * and the lock testcontainers takes for its port allocation.
 */
const TOOL_CACHES = [/^node-compile-cache$/, /^tsx-\d+$/, /^testcontainers-node-\d+\.lock$/];

// Type errors are failures in their own right: product code and tests, counted as one check.
console.log('[test] typecheck');
const typecheck = [
  ['tsc', '-b', 'broker', 'operator'],
  ['tsc', '-p', 'broker/tsconfig.test.json'],
  ...(existsSync(join(root, 'operator', 'tsconfig.test.json')) ? [['tsc', '-p', 'operator/tsconfig.test.json']] : []),
];
if (typecheck.every((args) => run('npx', args) === 0)) totals.passed += 1;
else totals.failed += 1;

function runVitest(label, extraArgs) {
  const dir = mkdtempSync(join(tmpdir(), 'chronik-vitest-'));
  const out = join(dir, 'report.json');
  console.log(`[test] ${label}`);
  const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...extraArgs]);
  if (!existsSync(out)) {
    console.error(`[test] ${label}: vitest produced no report (exit ${status})`);
    totals.failed += 1;
    return;
  }
  const report = JSON.parse(readFileSync(out, 'utf8'));
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  // A file that failed outside its tests (it did not load, or a beforeAll threw and its tests
  // were skipped) counts as one failure: nothing it should have checked was checked.
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed').length;
    if (file.status === 'failed' && failedTests === 0) {
      console.error(`[test] ${file.name}: failed outside its tests: ${(file.message ?? '').split('\n')[0]}`);
      totals.failed += 1;
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

runVitest('unit, integration, simulation and operator suites', []);

runVitest('fault-suite checker and fault tools', ['--config', 'chaos/vitest.config.ts']);

// The bounded real-process fault run (issue 12): the broker image as containers under kill -9,
// pause, network partitions and disk corruption (a segment's or the hard-state journal's tail
// damaged while a broker is down), its history checked. It needs root (Docker, iptables in the
// containers' namespaces); it counts as one check. CHRONIK_CHAOS=0 leaves it out.
if (process.env.CHRONIK_CHAOS !== '0') {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.log('[test] bounded fault run: skipped (needs root for Docker)');
    totals.skipped += 1;
  } else {
    console.log('[test] bounded fault run (npm run chaos -- --ci --workload idempotent,txn)');
    // Its files go outside the suites' temp dir: a failed run's history is kept for reading.
    const out = join(dirname(suiteTmp), `chronik-ci-chaos-${process.pid}`);
    const status = run(process.execPath, ['scripts/node.mjs', '--disable-warning=TimeoutNegativeWarning', '--import', 'tsx', 'chaos/run.ts', '--ci', '--workload', 'idempotent,txn', '--nemesis', 'kill,pause,partition,corrupt', '--out', out]);
    if (status === 0) {
      totals.passed += 1;
      rmSync(out, { recursive: true, force: true });
    } else {
      console.error(`[test] bounded fault run failed (exit ${status}); its history, report and broker logs are in ${out}`);
      totals.failed += 1;
    }
  }
}

// The Kubernetes end-to-end suite (e2e/) on the offline provider: it needs Linux and root (it
// runs a kubelet, containerd and kube-proxy on this host) and Docker to build the images, which
// it installs from Debian's packages itself where apt-get is there. It runs by default where it
// can; CHRONIK_E2E=0 leaves it out, CHRONIK_E2E=1 insists on it.
if (existsSync(join(root, 'e2e', 'run.ts')) && process.env.CHRONIK_E2E !== '0') {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
  const hasDocker = has('docker') || has('apt-get');
  if ((process.platform === 'linux' && isRoot && hasDocker) || process.env.CHRONIK_E2E === '1') {
    const t0 = Date.now();
    runVitest('end-to-end suite', ['--config', 'e2e/vitest.config.ts']);
    console.log(`[test] end-to-end suite took ${Math.round((Date.now() - t0) / 1000)} s`);
  } else {
    console.log(`[test] end-to-end suite: skipped (needs Linux, root and docker or apt-get; CHRONIK_E2E=1 forces it)`);
    totals.skipped += 1;
  }
}

// A test cleans up what it creates, even when it fails: leftovers are a failure of their own.
const leftovers = readdirSync(suiteTmp).filter((name) => !TOOL_CACHES.some((cache) => cache.test(name)));
if (process.env.CHRONIK_KEEP_TEST_DIRS) {
  console.log(`[test] CHRONIK_KEEP_TEST_DIRS is set: the tests' temp dirs are kept in ${suiteTmp}`);
} else if (leftovers.length > 0) {
  console.error(`[test] the suites left ${leftovers.length} entries in the temp dir: ${leftovers.slice(0, 20).join(' ')}${leftovers.length > 20 ? ' ...' : ''}`);
  totals.failed += 1;
} else {
  console.log('[test] the suites left nothing in the temp dir');
}
if (!process.env.CHRONIK_KEEP_TEST_DIRS) rmSync(suiteTmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });

console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed === 0 ? 0 : 1);
