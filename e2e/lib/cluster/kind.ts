import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cachePath, VERSIONS } from '../cache.js';
import { ensureDocker } from '../docker.js';
import { log, run, which } from '../exec.js';
import { ensureGoBinary } from '../gobuild.js';
import { ensurePrivilegedContainers } from '../privileged.js';
import { ensureKubectl } from '../tools.js';
import { ensureKindNodeImage } from './kind-node.js';
import type { Cluster, ClusterProvider, CreateOptions, ServiceEndpoint } from './provider.js';

const CLUSTER_NAME = process.env.CHRONIK_E2E_KIND_CLUSTER ?? 'chronik-e2e';

/** kind from PATH, or built from the Go module proxy at the pinned version. */
export async function ensureKind(): Promise<string> {
  const onPath = which('kind');
  if (onPath) return onPath;
  return ensureGoBinary({ name: 'kind', module: 'sigs.k8s.io/kind', version: VERSIONS.kind, pkg: 'sigs.k8s.io/kind' });
}

async function kind(args: readonly string[]): Promise<string> {
  return (await run(await ensureKind(), args, { stream: true })).stdout;
}

/**
 * `kubectl port-forward` to a Service: pod and Service addresses of a kind cluster live inside
 * docker's network, so the host reaches them through the apiserver.
 */
async function portForward(kubeconfig: string, namespace: string, target: string, port: number): Promise<ServiceEndpoint> {
  const kubectl = await ensureKubectl();
  const child = spawn(kubectl, ['--kubeconfig', kubeconfig, '-n', namespace, 'port-forward', '--address', '127.0.0.1', target, `:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const local = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`port-forward to ${namespace}/${target}:${port} did not start: ${out}`)), 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward exited with ${code}: ${out}`));
    });
  });
  return {
    host: '127.0.0.1',
    port: local,
    close: async () => {
      child.kill('SIGTERM');
    },
  };
}

function cluster(kubeconfigPath: string): Cluster {
  return {
    provider: 'kind',
    name: CLUSTER_NAME,
    kubeconfigPath,
    loadImage: async (ref) => {
      await kind(['load', 'docker-image', ref, '--name', CLUSTER_NAME]);
    },
    reachService: (ns, svc, port) => portForward(kubeconfigPath, ns, `service/${svc}`, port),
    reachPod: (ns, pod, port) => portForward(kubeconfigPath, ns, `pod/${pod}`, port),
    destroy: async () => {
      await kind(['delete', 'cluster', '--name', CLUSTER_NAME]);
    },
  };
}

/**
 * The node image: CHRONIK_E2E_KIND_NODE_IMAGE when set (`local` forces the local build); else
 * the one this kind release was made for, pulled if missing; and where it cannot be pulled (no
 * registry), one built on this machine from the same parts as the offline cluster.
 */
async function nodeImage(): Promise<string> {
  const override = process.env.CHRONIK_E2E_KIND_NODE_IMAGE?.trim();
  if (override === 'local') return ensureKindNodeImage();
  if (override) return override;
  const official = VERSIONS.kindNodeImage;
  if ((await run('docker', ['image', 'inspect', '--format', '{{.Id}}', official], { allowFailure: true })).code === 0) return official;
  const pull = await run('docker', ['pull', official], { allowFailure: true, timeoutMs: 15 * 60_000 });
  if (pull.code === 0) return official;
  const reason = (pull.stderr || pull.stdout).trim().split('\n').pop() ?? `exit ${pull.code}`;
  log(`cannot pull ${official} (${reason}); using a node image built here`);
  return ensureKindNodeImage();
}

async function createKind(opts: CreateOptions): Promise<Cluster> {
  await ensureDocker();
  const kubeconfigPath = join(cachePath('kind'), `${CLUSTER_NAME}.kubeconfig`);
  const existing = (await kind(['get', 'clusters'])).split('\n').map((s) => s.trim());
  if (existing.includes(CLUSTER_NAME)) {
    if (opts.reuse) {
      log(`reusing kind cluster ${CLUSTER_NAME}`);
      await kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfigPath]);
      return cluster(kubeconfigPath);
    }
    await kind(['delete', 'cluster', '--name', CLUSTER_NAME]);
  }
  const image = await nodeImage();
  // kind runs its nodes privileged; make sure this host's docker can.
  await ensurePrivilegedContainers(image);
  const args = ['create', 'cluster', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfigPath, '--wait', '180s', '--image', image];
  const t0 = Date.now();
  await kind(args);
  log(`kind cluster ${CLUSTER_NAME} ready in ${Math.round((Date.now() - t0) / 1000)} s`);
  return cluster(kubeconfigPath);
}

export const kindProvider: ClusterProvider = {
  name: 'kind',
  create: createKind,
  attach: async () => {
    const existing = (await kind(['get', 'clusters'])).split('\n').map((s) => s.trim());
    if (!existing.includes(CLUSTER_NAME)) throw new Error(`no kind cluster named ${CLUSTER_NAME}`);
    const kubeconfigPath = join(cachePath('kind'), `${CLUSTER_NAME}.kubeconfig`);
    await kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kubeconfigPath]);
    return cluster(kubeconfigPath);
  },
  destroyExisting: async () => {
    const existing = (await kind(['get', 'clusters'])).split('\n').map((s) => s.trim());
    if (existing.includes(CLUSTER_NAME)) await kind(['delete', 'cluster', '--name', CLUSTER_NAME]);
  },
};
