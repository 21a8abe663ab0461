import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from '../apt.js';
import { cachePath, VERSIONS, withLock } from '../cache.js';
import { startControlPlane, ensureEtcd } from '../controlplane.js';
import { ensureDocker, dockerBuild, imageExists } from '../docker.js';
import { isRoot, log, run, sh, waitFor } from '../exec.js';
import { ensureGoBinary, ensureKubernetesBinaries } from '../gobuild.js';
import { freePort, waitTcp } from '../net.js';
import { ManagedProcess, stopPid } from '../process.js';
import type { Cluster, ClusterProvider, CreateOptions } from './provider.js';
import { STORAGE_CLASS_MANIFEST } from './hostpath-provisioner.js';

/*
 * The offline cluster: one Kubernetes node whose every part comes from a package registry.
 * etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy run as
 * host processes built from the Go module proxy; containerd, runc and the CNI plugins are
 * Debian's; CoreDNS (Go module proxy) and the pod sandbox ("pause", built from C here) run as
 * pods from images built locally and imported into containerd, exactly as `kind load` does.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const E2E_DIR = join(HERE, '..', '..');

const NODE_NAME = 'chronik-e2e';
const BRIDGE = 'chronik0';
/** Pods live on a bridge this suite creates; the host's side of it is the node address. */
const POD_CIDR = '10.244.0.0/24';
const CLUSTER_CIDR = '10.244.0.0/16';
const NODE_IP = '10.244.0.1';
const SERVICE_CIDR = '10.96.0.0/16';
const DNS_IP = '10.96.0.10';
const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
const COREDNS_IMAGE = `chronik-e2e/coredns:${VERSIONS.coredns}`;
/** The host runs each component itself; kubeadm is only for the kind node image. */
const NODE_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl'] as const;

interface OfflineState {
  kubeconfigPath: string;
  server: string;
  pids: Record<string, number>;
  createdAt: string;
}

function root(): string {
  return cachePath('offline');
}

function statePath(): string {
  return join(root(), 'state.json');
}

function containerdSocket(): string {
  return join('/run/chronik-e2e', 'containerd.sock');
}

function readState(): OfflineState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as OfflineState;
  } catch {
    return undefined;
  }
}

async function ctr(args: readonly string[], input?: Buffer): Promise<string> {
  const r = await run('ctr', ['--address', containerdSocket(), '--namespace', 'k8s.io', ...args], input ? { input } : {});
  return r.stdout;
}

async function kubectlRaw(kubeconfig: string, args: readonly string[], input?: string): Promise<string> {
  const bin = await ensureKubernetesBinaries(['kubectl']);
  const r = await run(join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], input === undefined ? {} : { input });
  return r.stdout;
}

async function iptablesEnsure(rule: string[]): Promise<void> {
  const check = await run('iptables', ['-C', ...rule], { allowFailure: true });
  if (check.code !== 0) await run('iptables', ['-I', ...rule]);
}

async function iptablesRemove(rule: string[]): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await run('iptables', ['-D', ...rule], { allowFailure: true });
    if (r.code !== 0) return;
  }
}

// Docker sets the FORWARD policy to DROP; bridged pod traffic passes FORWARD once
// br_netfilter is on, so the pod bridge is let through explicitly.
const FORWARD_RULES = [
  ['FORWARD', '-i', BRIDGE, '-j', 'ACCEPT'],
  ['FORWARD', '-o', BRIDGE, '-j', 'ACCEPT'],
];

async function prepareHostNetwork(): Promise<void> {
  await run('modprobe', ['br_netfilter'], { allowFailure: true });
  await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  await run('sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=1'], { allowFailure: true });
  const exists = await run('ip', ['link', 'show', BRIDGE], { allowFailure: true });
  if (exists.code !== 0) await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  const addrs = await run('ip', ['-4', 'addr', 'show', 'dev', BRIDGE]);
  if (!addrs.stdout.includes(`${NODE_IP}/`)) await run('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  for (const rule of FORWARD_RULES) await iptablesEnsure(rule);
}

function writeContainerdConfig(dir: string): string {
  const cniConf = join(dir, 'cni');
  mkdirSync(cniConf, { recursive: true });
  writeFileSync(
    join(cniConf, '10-chronik-e2e.conflist'),
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'chronik-e2e',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]], routes: [{ dst: '0.0.0.0/0' }] },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ),
  );
  const config = `version = 2
root = "${join(dir, 'containerd-root')}"
state = "/run/chronik-e2e/containerd"
[grpc]
  address = "${containerdSocket()}"
[ttrpc]
  address = "${containerdSocket()}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # Kubelet asks for negative OOM scores (-998 for sandboxes); lowering one needs
  # CAP_SYS_RESOURCE, which sandboxed machines like this one do not grant, and runc then fails
  # every pod. Restricted, scores never go below containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConf}"
`;
  const path = join(dir, 'containerd.toml');
  writeFileSync(path, config);
  return path;
}

const HOST_ENV = { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` };

async function buildSupportImages(): Promise<void> {
  await ensureDocker();
  await buildPauseImage(PAUSE_IMAGE);
  if (!(await imageExists(COREDNS_IMAGE))) {
    const coredns = await ensureCoreDns();
    const work = cachePath('images', 'coredns');
    await run('cp', [coredns, join(work, 'coredns')]);
    writeFileSync(join(work, 'Dockerfile'), readFileSync(join(E2E_DIR, 'images/coredns/Dockerfile')));
    await run('docker', ['build', '-q', '-t', COREDNS_IMAGE, work]);
  }
}

/** The pod sandbox image, built from e2e/images/pause (any tag: the program is version-agnostic). */
export async function buildPauseImage(tag: string): Promise<void> {
  if (await imageExists(tag)) return;
  await ensureDebianPackages(['gcc', 'libc6-dev']);
  const work = cachePath('images', 'pause');
  await run('gcc', ['-static', '-Os', '-s', '-o', join(work, 'pause'), join(E2E_DIR, 'images/pause/pause.c')]);
  writeFileSync(join(work, 'Dockerfile'), readFileSync(join(E2E_DIR, 'images/pause/Dockerfile')));
  await run('docker', ['build', '-q', '-t', tag, work]);
}

export function ensureCoreDns(): Promise<string> {
  return ensureGoBinary({ name: 'coredns', module: 'github.com/coredns/coredns', version: VERSIONS.coredns, pkg: 'github.com/coredns/coredns' });
}

export async function loadImageIntoContainerd(ref: string): Promise<void> {
  const started = Date.now();
  // docker save | ctr import: the offline counterpart of `kind load docker-image`.
  await sh(`docker save ${ref} | ctr --address ${containerdSocket()} --namespace k8s.io images import --no-unpack=false -`);
  log(`loaded ${ref} into containerd in ${Math.round((Date.now() - started) / 1000)} s`);
}

async function kubeletConfig(dir: string, caCert: string, port: number, healthzPort: number): Promise<string> {
  const path = join(dir, 'kubelet-config.yaml');
  writeFileSync(
    path,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
port: ${port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${healthzPort}
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${caCert} }
authorization: { mode: Webhook }
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${containerdSocket()}
clusterDomain: cluster.local
clusterDNS: [${DNS_IP}]
podCIDR: ${POD_CIDR}
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
`,
  );
  return path;
}

async function waitNodeReady(kubeconfig: string): Promise<void> {
  await waitFor(
    `node ${NODE_NAME} Ready`,
    async () => {
      const out = await kubectlRaw(kubeconfig, ['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return out.trim() === 'True' ? true : undefined;
    },
    180_000,
    1000,
  );
}

async function attach(state: OfflineState): Promise<Cluster | undefined> {
  const allAlive = Object.values(state.pids).every((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  if (!allAlive || !existsSync(state.kubeconfigPath)) return undefined;
  try {
    await kubectlRaw(state.kubeconfigPath, ['get', '--raw', '/readyz']);
    await waitNodeReady(state.kubeconfigPath);
  } catch {
    return undefined;
  }
  log(`reusing the offline cluster at ${state.server}`);
  return cluster(state);
}

function cluster(state: OfflineState): Cluster {
  return {
    provider: 'offline',
    name: NODE_NAME,
    kubeconfigPath: state.kubeconfigPath,
    loadImage: loadImageIntoContainerd,
    // kube-proxy runs on this host, so a ClusterIP is reachable from here as from any node.
    reachService: async (namespace, service, port) => {
      const ip = await kubectlRaw(state.kubeconfigPath, ['-n', namespace, 'get', 'service', service, '-o', 'jsonpath={.spec.clusterIP}']);
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip.trim())) throw new Error(`service ${namespace}/${service} has no ClusterIP (got "${ip}")`);
      // A Pod can be Ready before kube-proxy has written its endpoint into the rules; until then
      // the ClusterIP refuses connections.
      await waitTcp(ip.trim(), port, 60_000);
      return { host: ip.trim(), port, close: async () => {} };
    },
    // Pod addresses sit on this host's bridge.
    reachPod: async (namespace, pod, port) => {
      const ip = await kubectlRaw(state.kubeconfigPath, ['-n', namespace, 'get', 'pod', pod, '-o', 'jsonpath={.status.podIP}']);
      if (!ip.trim()) throw new Error(`pod ${namespace}/${pod} has no IP yet`);
      return { host: ip.trim(), port, close: async () => {} };
    },
    destroy: () => withLock('offline-cluster', () => destroyOffline()),
  };
}

/** Removes pod sandboxes, mounts and rules a previous run left behind. */
async function cleanupRuntime(dir: string): Promise<void> {
  const sock = containerdSocket();
  if (existsSync(sock)) {
    const tasks = await run('ctr', ['--address', sock, '--namespace', 'k8s.io', 'tasks', 'list', '-q'], { allowFailure: true });
    for (const id of tasks.stdout.split('\n').filter(Boolean)) {
      await run('ctr', ['--address', sock, '--namespace', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', id], { allowFailure: true });
    }
    await sleepMs(1000);
    for (const id of tasks.stdout.split('\n').filter(Boolean)) {
      await run('ctr', ['--address', sock, '--namespace', 'k8s.io', 'tasks', 'delete', '-f', id], { allowFailure: true });
    }
    const containers = await run('ctr', ['--address', sock, '--namespace', 'k8s.io', 'containers', 'list', '-q'], { allowFailure: true });
    for (const id of containers.stdout.split('\n').filter(Boolean)) {
      await run('ctr', ['--address', sock, '--namespace', 'k8s.io', 'containers', 'delete', id], { allowFailure: true });
    }
  }
  // Pod volumes and sandbox netns mounts under our directories only.
  await sh(`grep -oE ' (${dir}/kubelet|/run/netns/cni-)[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`, { allowFailure: true });
  await sh(`ls /run/netns 2>/dev/null | grep '^cni-' | xargs -r -n1 ip netns delete`, { allowFailure: true });
  rmSync(join(dir, 'ipam'), { recursive: true, force: true });
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function destroyOffline(): Promise<void> {
  const dir = root();
  const state = readState();
  // Reverse start order: node agents first, so nothing restarts pods while the runtime goes away.
  const order = ['hostpath-provisioner', 'kube-proxy', 'kubelet', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  if (state) {
    for (const name of order) {
      const pid = state.pids[name];
      if (pid) await stopPid(pid);
    }
  }
  await cleanupRuntime(dir);
  if (state?.pids.containerd) await stopPid(state.pids.containerd);
  await sh(`grep -oE ' ${dir}/containerd-root[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`, { allowFailure: true });
  const binDir = join(cachePath(`k8s-${VERSIONS.kubernetes}`), 'bin');
  if (existsSync(join(binDir, 'kube-proxy'))) await run(join(binDir, 'kube-proxy'), ['--cleanup'], { allowFailure: true, env: HOST_ENV });
  for (const rule of FORWARD_RULES) await iptablesRemove(rule);
  await run('ip', ['link', 'delete', BRIDGE], { allowFailure: true });
  rmSync(statePath(), { force: true });
  rmSync(join(dir, 'cp'), { recursive: true, force: true });
  rmSync(join(dir, 'kubelet'), { recursive: true, force: true });
  rmSync(join(dir, 'volumes'), { recursive: true, force: true });
  log('offline cluster removed');
}

async function createOffline(opts: CreateOptions): Promise<Cluster> {
  if (!isRoot()) throw new Error('the offline cluster runs kubelet and containerd on the host and needs root');
  const existing = readState();
  if (existing && opts.reuse) {
    const attached = await attach(existing);
    if (attached) return attached;
  }
  if (existing || existsSync(containerdSocket())) await destroyOffline();
  const t0 = Date.now();
  await ensureDebianPackages(['containerd', 'runc', 'containernetworking-plugins', 'iptables', 'conntrack', 'iproute2', 'kmod', 'procps', 'openssl']);
  // Build everything up front (in parallel where independent) so start-up below is quick.
  const [binDir] = await Promise.all([ensureKubernetesBinaries(NODE_BINARIES), ensureEtcd(), buildSupportImages()]);
  log(`binaries and images ready after ${Math.round((Date.now() - t0) / 1000)} s`);
  const dir = root();
  await prepareHostNetwork();
  const pids: Record<string, number> = {};
  const started: ManagedProcess[] = [];
  try {
    mkdirSync('/run/chronik-e2e', { recursive: true });
    const containerdConfig = writeContainerdConfig(dir);
    const containerd = ManagedProcess.start('containerd', 'containerd', ['--config', containerdConfig], join(dir, 'containerd.log'), HOST_ENV, true);
    started.push(containerd);
    pids.containerd = containerd.pid ?? 0;
    await waitFor(
      'containerd',
      async () => {
        containerd.assertRunning();
        const r = await run('ctr', ['--address', containerdSocket(), 'version'], { allowFailure: true });
        return r.code === 0 ? true : undefined;
      },
      60_000,
    );
    await Promise.all([loadImageIntoContainerd(PAUSE_IMAGE), loadImageIntoContainerd(COREDNS_IMAGE)]);

    const cp = await startControlPlane({
      dir: join(dir, 'cp'),
      bindAddress: NODE_IP,
      advertiseAddress: NODE_IP,
      serviceClusterIpRange: SERVICE_CIDR,
      controllerManager: true,
      scheduler: true,
      clusterCidr: CLUSTER_CIDR,
      detached: true,
    });
    for (const p of cp.processes) pids[p.name] = p.pid ?? 0;
    started.push(...cp.processes);

    const kubeletDir = join(dir, 'kubelet');
    mkdirSync(kubeletDir, { recursive: true });
    const kubeletKubeconfig = await cp.kubeconfigFor('kubelet', `system:node:${NODE_NAME}`, ['system:nodes']);
    const kubeletConf = await kubeletConfig(dir, cp.pki.caCert, await freePort(NODE_IP), await freePort());
    const kubelet = ManagedProcess.start(
      'kubelet',
      join(binDir, 'kubelet'),
      [
        `--config=${kubeletConf}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${kubeletDir}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ],
      join(dir, 'kubelet.log'),
      HOST_ENV,
      true,
    );
    started.push(kubelet);
    pids.kubelet = kubelet.pid ?? 0;

    const proxyKubeconfig = await cp.kubeconfigFor('kube-proxy', 'system:kube-proxy');
    const proxy = ManagedProcess.start(
      'kube-proxy',
      join(binDir, 'kube-proxy'),
      [
        `--kubeconfig=${proxyKubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        `--cluster-cidr=${CLUSTER_CIDR}`,
        '--proxy-mode=iptables',
        // Leave the host's conntrack tunables alone.
        '--conntrack-max-per-core=0',
        `--metrics-bind-address=127.0.0.1:${await freePort()}`,
        `--healthz-bind-address=127.0.0.1:${await freePort()}`,
        '--v=1',
      ],
      join(dir, 'kube-proxy.log'),
      HOST_ENV,
      true,
    );
    started.push(proxy);
    pids['kube-proxy'] = proxy.pid ?? 0;

    await waitFor(
      `node ${NODE_NAME} registered`,
      async () => {
        kubelet.assertRunning();
        const out = await kubectlRaw(cp.kubeconfigPath, ['get', 'node', NODE_NAME, '-o', 'name'], undefined);
        return out.trim() ? true : undefined;
      },
      120_000,
      1000,
    );
    await waitNodeReady(cp.kubeconfigPath);
    const manifest = readFileSync(join(E2E_DIR, 'manifests/coredns.yaml'), 'utf8').replaceAll('__COREDNS_IMAGE__', COREDNS_IMAGE).replaceAll('__DNS_IP__', DNS_IP);
    await kubectlRaw(cp.kubeconfigPath, ['apply', '-f', '-'], manifest);
    await kubectlRaw(cp.kubeconfigPath, ['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=180s']);
    // PersistentVolumeClaims (the operator's StatefulSets) need a default StorageClass and a provisioner.
    await kubectlRaw(cp.kubeconfigPath, ['apply', '-f', '-'], STORAGE_CLASS_MANIFEST);
    const provisioner = ManagedProcess.start(
      'hostpath-provisioner',
      process.execPath,
      ['--import', 'tsx', join(HERE, 'hostpath-provisioner.ts'), cp.kubeconfigPath, join(dir, 'volumes'), join(binDir, 'kubectl')],
      join(dir, 'hostpath-provisioner.log'),
      HOST_ENV,
      true,
      // `--import tsx` resolves from the repository's node_modules.
      E2E_DIR,
    );
    started.push(provisioner);
    pids['hostpath-provisioner'] = provisioner.pid ?? 0;
    const state: OfflineState = { kubeconfigPath: cp.kubeconfigPath, server: cp.server, pids, createdAt: new Date().toISOString() };
    writeFileSync(statePath(), JSON.stringify(state, null, 2));
    log(`offline cluster ready in ${Math.round((Date.now() - t0) / 1000)} s (kubeconfig ${cp.kubeconfigPath})`);
    return cluster(state);
  } catch (e) {
    for (const p of started) {
      if (!p.running) log(`${p.name} had exited; last log lines:\n${p.logTail(15)}`);
    }
    writeFileSync(statePath(), JSON.stringify({ kubeconfigPath: '', server: '', pids, createdAt: new Date().toISOString() }, null, 2));
    throw e;
  }
}

export const offlineProvider: ClusterProvider = {
  name: 'offline',
  create: (opts) => withLock('offline-cluster', () => createOffline(opts)),
  attach: async () => {
    const state = readState();
    const attached = state ? await attach(state) : undefined;
    if (!attached) throw new Error('no running offline cluster (start one with `npm run e2e -- --keep`)');
    return attached;
  },
  destroyExisting: () => withLock('offline-cluster', () => destroyOffline()),
};
