import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKubernetesBinaries, ensureGoBinary, type KubeBinary } from './gobuild.js';
import { VERSIONS } from './cache.js';
import { log, waitFor } from './exec.js';
import { freePort, httpGet } from './net.js';
import { createPki, kubeconfigYaml, type Pki } from './pki.js';
import { ManagedProcess, onExitAfterDaemons } from './process.js';

export interface ControlPlaneOptions {
  /** Address the apiserver listens on; loopback unless pods must reach it. */
  bindAddress?: string;
  /** Address written into the `kubernetes` Service endpoints; must not be loopback when pods use it. */
  advertiseAddress?: string;
  serviceClusterIpRange?: string;
  /** Also run kube-controller-manager (service accounts, garbage collection, workload controllers). */
  controllerManager?: boolean;
  scheduler?: boolean;
  clusterCidr?: string;
  /** Working directory (certs, etcd data, logs); a fresh temp dir by default, removed on stop. */
  dir?: string;
  /** Run the daemons in their own sessions so they outlive this process (see ManagedProcess.start). */
  detached?: boolean;
}

export interface ControlPlane {
  dir: string;
  pki: Pki;
  server: string;
  /** Admin (system:masters) kubeconfig. */
  kubeconfigPath: string;
  binDir: string;
  processes: ManagedProcess[];
  /** Writes a kubeconfig for another identity (kubelet, kube-proxy...) signed by the cluster CA. */
  kubeconfigFor(name: string, commonName: string, organizations?: string[]): Promise<string>;
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export const ETCD_BUILD = {
  name: 'etcd',
  module: 'go.etcd.io/etcd/server/v3',
  version: VERSIONS.etcd,
  pkg: 'go.etcd.io/etcd/server/v3',
};

export async function ensureEtcd(): Promise<string> {
  return ensureGoBinary(ETCD_BUILD);
}

async function startEtcd(dir: string, processes: ManagedProcess[], detached: boolean): Promise<string> {
  const etcd = await ensureEtcd();
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const data = join(dir, 'etcd');
  mkdirSync(data, { recursive: true });
  const p = ManagedProcess.start(
    'etcd',
    etcd,
    [
      '--name=e2e',
      `--data-dir=${data}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      '--log-level=warn',
    ],
    join(dir, 'etcd.log'),
    undefined,
    detached,
  );
  processes.push(p);
  await waitFor(
    'etcd /health',
    async () => {
      p.assertRunning();
      const r = await httpGet(`${client}/health`);
      return r.status === 200 && r.body.includes('true') ? true : undefined;
    },
    60_000,
    200,
  );
  return client;
}

/**
 * etcd plus kube-apiserver (and optionally controller-manager and scheduler) as host
 * processes, all authenticated with client certificates from one CA.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const wanted: KubeBinary[] = ['kube-apiserver'];
  if (opts.controllerManager) wanted.push('kube-controller-manager');
  if (opts.scheduler) wanted.push('kube-scheduler');
  const [binDir] = await Promise.all([ensureKubernetesBinaries(wanted), ensureEtcd()]);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'chronik-e2e-cp-'));
  mkdirSync(dir, { recursive: true });
  const processes: ManagedProcess[] = [];
  // A temp dir of a process that exits without stop() (a killed test worker) goes with it.
  const cancelExitCleanup =
    ownDir && !opts.detached ? onExitAfterDaemons(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 })) : () => undefined;
  const stop = async (s?: { keepDir?: boolean }): Promise<void> => {
    for (const p of [...processes].reverse()) await p.stop();
    cancelExitCleanup();
    if (ownDir && !s?.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const bind = opts.bindAddress ?? '127.0.0.1';
    const advertise = opts.advertiseAddress ?? bind;
    const serviceRange = opts.serviceClusterIpRange ?? '10.96.0.0/16';
    const firstServiceIp = serviceRange.replace(/\.0\/\d+$/, '.1');
    const pki = await createPki(join(dir, 'pki'));
    const serving = await pki.issue({
      name: 'apiserver',
      commonName: 'kube-apiserver',
      client: false,
      altNames: [
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
        'IP:127.0.0.1',
        `IP:${bind}`,
        `IP:${advertise}`,
        `IP:${firstServiceIp}`,
      ],
    });
    const kubeletClient = await pki.issue({ name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
    const sa = await pki.serviceAccountKeys();
    const detached = opts.detached ?? false;
    const etcdUrl = await startEtcd(dir, processes, detached);
    const port = await freePort(bind);
    const server = `https://${bind}:${port}`;
    const loopbackAdvertise = advertise.startsWith('127.');
    const apiserver = ManagedProcess.start(
      'kube-apiserver',
      join(binDir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${bind}`,
        `--secure-port=${port}`,
        `--advertise-address=${advertise}`,
        `--tls-cert-file=${serving.cert}`,
        `--tls-private-key-file=${serving.key}`,
        `--client-ca-file=${pki.caCert}`,
        `--kubelet-client-certificate=${kubeletClient.cert}`,
        `--kubelet-client-key=${kubeletClient.key}`,
        `--service-account-key-file=${sa.pub}`,
        `--service-account-signing-key-file=${sa.key}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-cluster-ip-range=${serviceRange}`,
        '--authorization-mode=Node,RBAC',
        // Reach kubelets by their address; looking up a node's hostname would ask the host's resolver.
        '--kubelet-preferred-address-types=InternalIP,Hostname',
        '--allow-privileged=true',
        '--profiling=false',
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        // The Endpoints of the `kubernetes` Service may not be loopback; with nothing in-cluster to
        // use them (apiserver-only mode) they are simply not maintained.
        ...(loopbackAdvertise ? ['--endpoint-reconciler-type=none'] : []),
        '--v=1',
      ],
      join(dir, 'kube-apiserver.log'),
      undefined,
      detached,
    );
    processes.push(apiserver);
    const admin = await pki.issue({ name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] });
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml({ server, caCert: pki.caCert, clientCert: admin.cert, clientKey: admin.key, user: 'kubernetes-admin' }));
    const tls = { ca: pki.caCert, cert: admin.cert, key: admin.key };
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        apiserver.assertRunning();
        const r = await httpGet(`${server}/readyz`, tls);
        return r.status === 200 && r.body.trim() === 'ok' ? true : undefined;
      },
      120_000,
      250,
    );
    const kubeconfigFor = async (name: string, commonName: string, organizations?: string[]): Promise<string> => {
      const c = await pki.issue({ name, commonName, organizations });
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(path, kubeconfigYaml({ server, caCert: pki.caCert, clientCert: c.cert, clientKey: c.key, user: commonName }));
      return path;
    };
    if (opts.controllerManager) {
      const kc = await kubeconfigFor('controller-manager', 'system:kube-controller-manager');
      processes.push(
        ManagedProcess.start(
          'kube-controller-manager',
          join(binDir, 'kube-controller-manager'),
          [
            `--kubeconfig=${kc}`,
            `--authentication-kubeconfig=${kc}`,
            `--authorization-kubeconfig=${kc}`,
            '--bind-address=127.0.0.1',
            '--secure-port=0',
            '--leader-elect=false',
            '--use-service-account-credentials=true',
            `--service-account-private-key-file=${sa.key}`,
            `--root-ca-file=${pki.caCert}`,
            `--cluster-signing-cert-file=${pki.caCert}`,
            `--cluster-signing-key-file=${pki.caKey}`,
            `--service-cluster-ip-range=${serviceRange}`,
            ...(opts.clusterCidr ? ['--allocate-node-cidrs=true', `--cluster-cidr=${opts.clusterCidr}`] : []),
            '--controllers=*,bootstrapsigner,tokencleaner',
            '--v=1',
          ],
          join(dir, 'kube-controller-manager.log'),
          undefined,
          detached,
        ),
      );
    }
    if (opts.scheduler) {
      const kc = await kubeconfigFor('scheduler', 'system:kube-scheduler');
      processes.push(
        ManagedProcess.start(
          'kube-scheduler',
          join(binDir, 'kube-scheduler'),
          [`--kubeconfig=${kc}`, `--authentication-kubeconfig=${kc}`, `--authorization-kubeconfig=${kc}`, '--bind-address=127.0.0.1', '--secure-port=0', '--leader-elect=false', '--v=1'],
          join(dir, 'kube-scheduler.log'),
          undefined,
          detached,
        ),
      );
    }
    log(`control plane ready at ${server} (dir ${dir})`);
    return { dir, pki, server, kubeconfigPath, binDir, processes, kubeconfigFor, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
