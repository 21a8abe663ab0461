import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachePath, VERSIONS, withLock } from '../cache.js';
import { ensureEtcd } from '../controlplane.js';
import { DEBIAN_IMAGE, ensureDebianImage, ensureDocker } from '../docker.js';
import { log, run, sh, waitFor } from '../exec.js';
import { ensureGoBinary, ensureKubernetesBinaries } from '../gobuild.js';
import { buildPauseImage } from './offline.js';

/*
 * A kind node image made on this machine, for where `kindest/node` cannot be pulled. Same layout
 * as kind's own: systemd as PID 1 behind an entrypoint that prepares mounts and cgroups,
 * containerd (CRI) and runc, kubeadm, kubelet, kubectl and crictl in /usr/bin, /kind/version,
 * the CNI and storage manifests kind applies from /kind/manifests, and every image kubeadm and
 * those manifests run already in containerd's store, so `kind create cluster` pulls nothing.
 * Debian supplies systemd, containerd, runc and the CNI plugins; the Go module proxy supplies
 * Kubernetes, etcd, CoreDNS, crictl and local-path-provisioner; pause is built from C.
 *
 * `kind build node-image --type file --base-image <local base>` with a server tarball of these
 * binaries and control-plane images was tried first. It cannot work without a registry: it runs
 * `ctr --namespace=k8s.io content fetch` from the registry for every image that is not one of the
 * four control-plane tarballs (etcd, CoreDNS, pause, kindnetd, local-path-provisioner and its
 * helper), even when the base image's store already holds them ("dial tcp: lookup
 * registry.k8s.io ... no such host"); its kindnetd source is not served by the Go module proxy;
 * and it waits for containerd with `ctr info`, which Debian's containerd 1.6 does not have.
 */

const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES_DIR = join(E2E_DIR, 'images');
/** Build contexts of the node image and of every image preloaded into it. */
const INPUT_DIRS = ['kind-node', 'kube-component', 'kube-proxy', 'kind-cni', 'pause', 'coredns'];
const LABEL = 'org.chronik.e2e.kind-node';

/** Named as `kind build node-image` names a node image for a Kubernetes version. */
export const LOCAL_NODE_IMAGE = `kindest/node:${VERSIONS.kubernetes}`;
const STAGE_IMAGE = 'chronik-e2e/kind-node-stage:latest';
const CNI_IMAGE = `chronik-e2e/kind-cni:${VERSIONS.kubernetes}`;
const PROVISIONER_IMAGE = `chronik-e2e/local-path-provisioner:${VERSIONS.localPathProvisioner}`;
/** The provisioner's helper pods only need sh, mkdir and rm. */
const HELPER_IMAGE = DEBIAN_IMAGE;

const CLASSIC_BUILD = { ...process.env, DOCKER_BUILDKIT: '0' };

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

/**
 * What the node image is made of: the pinned versions, every file of its build contexts, the
 * Debian base it starts from and this module itself. The image carries the hash as a label;
 * a different hash means rebuild.
 */
function inputsHash(debianImageId: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(VERSIONS));
  h.update(debianImageId);
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const dir of INPUT_DIRS) {
    for (const file of filesUnder(join(IMAGES_DIR, dir))) {
      h.update(relative(IMAGES_DIR, file));
      h.update(readFileSync(file));
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** The image's label: undefined when there is no such image, '' when it has no label. */
async function imageLabel(ref: string): Promise<string | undefined> {
  const r = await run('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${LABEL}" }}`, ref], { allowFailure: true });
  if (r.code !== 0) return undefined;
  const v = r.stdout.trim();
  return v === '<no value>' ? '' : v;
}

interface KubeadmImages {
  apiserver: string;
  controllerManager: string;
  scheduler: string;
  proxy: string;
  etcd: string;
  coredns: string;
  pause: string;
}

/** The images kubeadm itself will ask for, so each is built under exactly that name. */
async function kubeadmImages(kubeadm: string): Promise<KubeadmImages> {
  const out = await run(kubeadm, ['config', 'images', 'list', '--kubernetes-version', VERSIONS.kubernetes]);
  const byName = new Map<string, string>();
  for (const ref of out.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const name = ref.slice(ref.lastIndexOf('/') + 1).split(':')[0] ?? ref;
    byName.set(name, ref);
  }
  const pick = (name: string): string => {
    const ref = byName.get(name);
    if (!ref) throw new Error(`kubeadm ${VERSIONS.kubernetes} lists no ${name} image (got: ${[...byName.values()].join(', ')})`);
    byName.delete(name);
    return ref;
  };
  const images: KubeadmImages = {
    apiserver: pick('kube-apiserver'),
    controllerManager: pick('kube-controller-manager'),
    scheduler: pick('kube-scheduler'),
    proxy: pick('kube-proxy'),
    etcd: pick('etcd'),
    coredns: pick('coredns'),
    pause: pick('pause'),
  };
  if (byName.size > 0) throw new Error(`kubeadm wants images this builder does not make: ${[...byName.values()].join(', ')}`);
  return images;
}

function tagOf(ref: string): string {
  return ref.slice(ref.lastIndexOf(':') + 1);
}

/**
 * docker build of one folder of e2e/images plus the given files (binaries from the cache), in
 * a context directory under the cache.
 */
async function buildImage(tag: string, dir: string, files: Record<string, string>, buildArgs: Record<string, string> = {}): Promise<void> {
  const ctx = join(cachePath('kind-node', 'contexts'), tag.replace(/[^\w.-]+/g, '_'));
  rmSync(ctx, { recursive: true, force: true });
  cpSync(join(IMAGES_DIR, dir), ctx, { recursive: true });
  for (const [name, src] of Object.entries(files)) {
    mkdirSync(dirname(join(ctx, name)), { recursive: true });
    copyFileSync(src, join(ctx, name));
  }
  const args = ['build', '-q', '-t', tag, ...Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), ctx];
  await run('docker', args, { env: CLASSIC_BUILD });
}

/** The name as containerd lists it (docker's short names live under docker.io). */
function fullyQualified(ref: string): string {
  const first = ref.split('/')[0] ?? '';
  if (ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return ref;
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

function substitute(path: string, values: Record<string, string>): void {
  let text = readFileSync(path, 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(k, v);
  if (/__[A-Z_]+__/.test(text)) throw new Error(`${path} still has a placeholder after substitution`);
  writeFileSync(path, text);
}

async function buildNodeImage(hash: string): Promise<void> {
  const t0 = Date.now();
  log(`building the kind node image ${LOCAL_NODE_IMAGE} from local parts (first run, or its inputs changed)`);
  const [bin, etcd, crictl, provisioner] = await Promise.all([
    ensureKubernetesBinaries(),
    ensureEtcd(),
    ensureGoBinary({ name: 'crictl', module: 'sigs.k8s.io/cri-tools', version: VERSIONS.crictl, pkg: 'sigs.k8s.io/cri-tools/cmd/crictl' }),
    ensureGoBinary({
      name: 'local-path-provisioner',
      module: 'github.com/rancher/local-path-provisioner',
      version: VERSIONS.localPathProvisioner,
      pkg: 'github.com/rancher/local-path-provisioner',
    }),
  ]);
  const wanted = await kubeadmImages(join(bin, 'kubeadm'));
  const etcdVersion = `v${tagOf(wanted.etcd).replace(/-\d+$/, '')}`;
  if (etcdVersion !== VERSIONS.etcd) {
    throw new Error(`kubeadm ${VERSIONS.kubernetes} runs etcd ${etcdVersion} but VERSIONS.etcd is ${VERSIONS.etcd}: pin them together`);
  }
  // kubeadm's CoreDNS, which may differ from the offline cluster's (VERSIONS.coredns).
  const coredns = await ensureGoBinary({ name: 'coredns', module: 'github.com/coredns/coredns', version: tagOf(wanted.coredns), pkg: 'github.com/coredns/coredns' });

  const debian = DEBIAN_IMAGE;
  for (const [ref, binary] of [
    [wanted.apiserver, 'kube-apiserver'],
    [wanted.controllerManager, 'kube-controller-manager'],
    [wanted.scheduler, 'kube-scheduler'],
  ] as const) {
    await buildImage(ref, 'kube-component', { [binary]: join(bin, binary) }, { BINARY: binary });
  }
  await buildImage(wanted.etcd, 'kube-component', { etcd }, { BINARY: 'etcd' });
  await buildImage(PROVISIONER_IMAGE, 'kube-component', { 'local-path-provisioner': provisioner }, { BINARY: 'local-path-provisioner' });
  await buildImage(wanted.proxy, 'kube-proxy', { 'kube-proxy': join(bin, 'kube-proxy') }, { BASE_IMAGE: debian });
  await buildImage(wanted.coredns, 'coredns', { coredns });
  await buildImage(CNI_IMAGE, 'kind-cni', { kubectl: join(bin, 'kubectl') }, { BASE_IMAGE: debian });
  await buildPauseImage(wanted.pause);
  log(`kind node parts built after ${Math.round((Date.now() - t0) / 1000)} s`);

  const nodeCtx = join(cachePath('kind-node', 'contexts'), 'node');
  rmSync(nodeCtx, { recursive: true, force: true });
  cpSync(join(IMAGES_DIR, 'kind-node'), nodeCtx, { recursive: true });
  mkdirSync(join(nodeCtx, 'bin'));
  for (const b of ['kubeadm', 'kubelet', 'kubectl']) copyFileSync(join(bin, b), join(nodeCtx, 'bin', b));
  copyFileSync(crictl, join(nodeCtx, 'bin', 'crictl'));
  const values = { __PAUSE_IMAGE__: wanted.pause, __CNI_IMAGE__: CNI_IMAGE, __PROVISIONER_IMAGE__: PROVISIONER_IMAGE, __HELPER_IMAGE__: HELPER_IMAGE };
  for (const f of ['files/etc/containerd/config.toml', 'files/kind/manifests/default-cni.yaml', 'files/kind/manifests/default-storage.yaml']) {
    substitute(join(nodeCtx, f), values);
  }
  await run('docker', ['build', '-q', '-t', STAGE_IMAGE, '--build-arg', `BASE_IMAGE=${debian}`, '--build-arg', `KUBE_VERSION=${VERSIONS.kubernetes}`, nodeCtx], {
    env: CLASSIC_BUILD,
  });

  // As kind does: containerd runs inside a container of the image and imports the images into
  // its store (unpacked later, on the node's own /var), then the container becomes the image.
  const preload = [wanted.apiserver, wanted.controllerManager, wanted.scheduler, wanted.proxy, wanted.etcd, wanted.coredns, wanted.pause, CNI_IMAGE, PROVISIONER_IMAGE, HELPER_IMAGE];
  const container = `chronik-e2e-kind-node-build-${process.pid}`;
  await run('docker', ['rm', '-f', container], { allowFailure: true });
  await run('docker', ['run', '-d', '--name', container, '--entrypoint', 'sleep', STAGE_IMAGE, 'infinity']);
  try {
    await run('docker', ['exec', '-d', container, 'containerd']);
    await waitFor(
      'containerd in the node build container',
      async () => ((await run('docker', ['exec', container, 'ctr', 'version'], { allowFailure: true })).code === 0 ? true : undefined),
      60_000,
      500,
    );
    await sh(`docker save ${preload.join(' ')} | docker exec -i ${container} ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests -`);
    const listed = new Set((await run('docker', ['exec', container, 'ctr', '--namespace=k8s.io', 'images', 'list', '-q'])).stdout.split('\n').map((l) => l.trim()));
    const missing = preload.filter((ref) => !listed.has(fullyQualified(ref)));
    if (missing.length) throw new Error(`images missing from the node's containerd after import: ${missing.join(', ')}`);
    await run('docker', ['exec', container, 'bash', '-c', 'pkill -x containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done; rm -rf /run/containerd /tmp/*']);
    await run('docker', [
      'commit',
      '--change',
      'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
      '--change',
      'CMD []',
      '--change',
      `LABEL ${LABEL}=${hash}`,
      container,
      LOCAL_NODE_IMAGE,
    ]);
  } finally {
    await run('docker', ['rm', '-f', container], { allowFailure: true });
  }
  log(`built ${LOCAL_NODE_IMAGE} in ${Math.round((Date.now() - t0) / 1000)} s`);
}

/**
 * The locally built node image, rebuilt only when its inputs changed. An image of that name
 * that was not built here (the official one, pulled earlier) is used as it is.
 */
export async function ensureKindNodeImage(): Promise<string> {
  await ensureDocker();
  await ensureDebianImage();
  const debianId = (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', DEBIAN_IMAGE])).stdout.trim();
  const hash = inputsHash(debianId);
  const current = async (): Promise<boolean> => {
    const label = await imageLabel(LOCAL_NODE_IMAGE);
    if (label === '') log(`${LOCAL_NODE_IMAGE} exists and was not built here: using it as it is`);
    return label === '' || label === hash;
  };
  if (await current()) return LOCAL_NODE_IMAGE;
  await withLock('kind-node-image', async () => {
    if (await current()) return;
    await buildNodeImage(hash);
  });
  return LOCAL_NODE_IMAGE;
}
