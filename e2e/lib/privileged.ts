import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachePath, withLock } from './cache.js';
import { log, run, waitFor, which } from './exec.js';

const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const WRAPPER_SOURCE = join(E2E_DIR, 'images/runc-bounded/main.go');
const RUNTIME_NAME = 'runc-bounded';
const DAEMON_JSON = '/etc/docker/daemon.json';
const DOCKER_PID = '/var/run/docker.pid';
/** Outside the cache: dockerd runs every container through it, even after the cache is wiped. */
const INSTALL_PATH = '/usr/local/libexec/chronik-e2e/runc-bounded';

type DaemonConfig = Record<string, unknown> & { runtimes?: Record<string, { path?: string }>; 'default-runtime'?: string };

async function privilegedRunError(probeImage: string): Promise<string | undefined> {
  const r = await run('docker', ['run', '--rm', '--privileged', '--entrypoint', 'true', probeImage], { allowFailure: true, timeoutMs: 120_000 });
  return r.code === 0 ? undefined : (r.stderr || r.stdout).trim();
}

/** Builds images/runc-bounded with the host's Go (cached per source version) and installs it at `target`. */
async function installWrapper(target: string): Promise<void> {
  const realRunc = which('runc');
  if (!realRunc) throw new Error('runc is not on PATH; install Debian runc');
  const built = await buildWrapper(realRunc);
  mkdirSync(dirname(target), { recursive: true });
  // A rename: containers starting meanwhile run the old file or the new one, never half of one.
  copyFileSync(built, `${target}.tmp`);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
}

async function buildWrapper(realRunc: string): Promise<string> {
  const source = readFileSync(WRAPPER_SOURCE);
  const key = createHash('sha256').update(source).update(realRunc).digest('hex').slice(0, 12);
  const dir = cachePath('runc-bounded', key);
  const out = join(dir, RUNTIME_NAME);
  if (existsSync(out)) return out;
  const go = which('go');
  if (!go) throw new Error('building the runc-bounded runtime wrapper needs the Go toolchain on PATH');
  copyFileSync(WRAPPER_SOURCE, join(dir, 'main.go'));
  writeFileSync(join(dir, 'go.mod'), 'module chronik.local/runc-bounded\n\ngo 1.24.0\n');
  await run(go, ['build', '-trimpath', '-ldflags', `-s -w -X main.realRunc=${realRunc}`, '-o', `${out}.tmp`, '.'], {
    cwd: dir,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
  });
  renameSync(`${out}.tmp`, out);
  return out;
}

function readDaemonConfig(): DaemonConfig {
  if (!existsSync(DAEMON_JSON)) return {};
  const text = readFileSync(DAEMON_JSON, 'utf8').trim();
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DaemonConfig;
  } catch (e) {
    throw new Error(`${DAEMON_JSON} is not valid JSON (${e instanceof Error ? e.message : String(e)}); fix it before running kind`);
  }
}

async function defaultRuntime(): Promise<string> {
  return (await run('docker', ['info', '--format', '{{.DefaultRuntime}}'])).stdout.trim();
}

/**
 * Makes `docker run --privileged` (and `docker exec --privileged`) work on a host whose
 * capability bounding set lacks a capability the kernel knows, as on sandboxed machines like
 * this one (no CAP_SYS_RESOURCE): Docker 20.10 asks runc for every capability and runc fails with
 * "unable to apply caps". kind runs every node that way, so where the probe fails, dockerd gets
 * e2e/images/runc-bounded as its default runtime (daemon.json, applied by a reload, no restart):
 * runc that first drops the capabilities nothing on this host can hold. Elsewhere this is a no-op.
 */
export async function ensurePrivilegedContainers(probeImage: string): Promise<void> {
  // Registered by an earlier run: refresh it from the current source (cached, so a copy), which
  // also puts it back if it was removed, when dockerd could otherwise start no container at all.
  const registered = readDaemonConfig().runtimes?.[RUNTIME_NAME]?.path;
  if (registered) await withLock('docker-daemon-json', () => installWrapper(registered));
  const first = await privilegedRunError(probeImage);
  if (first === undefined) return;
  if (!/apply caps/.test(first)) throw new Error(`docker run --privileged fails here: ${first}`);
  await withLock('docker-daemon-json', async () => {
    await installWrapper(INSTALL_PATH);
    const wrapper = INSTALL_PATH;
    const config = readDaemonConfig();
    const current = config['default-runtime'];
    if (current !== undefined && current !== 'runc' && current !== RUNTIME_NAME) {
      throw new Error(`dockerd's default runtime is ${current} and privileged containers fail (${first}); not replacing it`);
    }
    config.runtimes = { ...(config.runtimes ?? {}), [RUNTIME_NAME]: { path: wrapper } };
    config['default-runtime'] = RUNTIME_NAME;
    mkdirSync(dirname(DAEMON_JSON), { recursive: true });
    writeFileSync(`${DAEMON_JSON}.tmp`, JSON.stringify(config, null, 2) + '\n');
    renameSync(`${DAEMON_JSON}.tmp`, DAEMON_JSON);
    const pid = Number(readFileSync(DOCKER_PID, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no dockerd pid in ${DOCKER_PID} to reload`);
    log(`privileged containers fail here (${first.split('\n')[0]}); dockerd now runs them through ${wrapper}`);
    process.kill(pid, 'SIGHUP');
    await waitFor('dockerd to reload its runtimes', async () => ((await defaultRuntime()) === RUNTIME_NAME ? true : undefined), 30_000, 500);
  });
  const after = await privilegedRunError(probeImage);
  if (after !== undefined) throw new Error(`docker run --privileged still fails with the ${RUNTIME_NAME} runtime: ${after}`);
}
