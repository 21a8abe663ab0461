/**
 * Dynamic PersistentVolume provisioning for the offline cluster (kind ships its own
 * local-path provisioner): PVCs of the `standard` StorageClass get a hostPath PV under DIR,
 * pre-bound to the claim; released volumes are deleted with their data. Runs as a host
 * process next to the kubelet:  node --import tsx hostpath-provisioner.ts KUBECONFIG DIR KUBECTL
 */
import { mkdirSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, sleep, log } from '../exec.js';

export const STORAGE_CLASS = 'standard';
export const PROVISIONER = 'chronik.io/e2e-hostpath';

export const STORAGE_CLASS_MANIFEST = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ${STORAGE_CLASS}
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: ${PROVISIONER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
`;

interface Claim {
  metadata: { name: string; namespace: string; uid: string };
  spec: { storageClassName?: string; volumeName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string };
}

interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { phase?: string };
}

async function kubectlJson<T>(kubectl: string, kubeconfig: string, args: string[]): Promise<T> {
  const r = await run(kubectl, ['--kubeconfig', kubeconfig, ...args, '-o', 'json']);
  return JSON.parse(r.stdout) as T;
}

async function reconcile(kubectl: string, kubeconfig: string, dir: string): Promise<void> {
  const claims = await kubectlJson<{ items: Claim[] }>(kubectl, kubeconfig, ['get', 'pvc', '--all-namespaces']);
  for (const pvc of claims.items) {
    if (pvc.status?.phase !== 'Pending' || pvc.spec.volumeName || pvc.spec.storageClassName !== STORAGE_CLASS) continue;
    const name = `pvc-${pvc.metadata.uid}`;
    const path = join(dir, name);
    mkdirSync(path, { recursive: true });
    // Brokers run as non-root users; a hostPath directory is not chowned by the kubelet.
    chmodSync(path, 0o777);
    const pv = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
      spec: {
        capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
        accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: STORAGE_CLASS,
        hostPath: { path, type: 'DirectoryOrCreate' },
        claimRef: { namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
      },
    };
    await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: JSON.stringify(pv) });
    log(`provisioned ${name} for ${pvc.metadata.namespace}/${pvc.metadata.name}`);
  }
  const volumes = await kubectlJson<{ items: Volume[] }>(kubectl, kubeconfig, ['get', 'pv']);
  for (const pv of volumes.items) {
    if (pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) continue;
    if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') continue;
    await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'pv', pv.metadata.name, '--wait=false'], { allowFailure: true });
    rmSync(join(dir, pv.metadata.name), { recursive: true, force: true });
    log(`deleted released ${pv.metadata.name}`);
  }
}

async function main(): Promise<void> {
  const [kubeconfig, dir, kubectl] = process.argv.slice(2);
  if (!kubeconfig || !dir || !kubectl) throw new Error('usage: hostpath-provisioner.ts KUBECONFIG DIR KUBECTL');
  mkdirSync(dir, { recursive: true });
  for (;;) {
    try {
      await reconcile(kubectl, kubeconfig, dir);
    } catch (e) {
      log(`provisioner: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    await sleep(1500);
  }
}

if (process.argv[1]?.endsWith('hostpath-provisioner.ts')) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
