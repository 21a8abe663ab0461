import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { BrokerStatus, ChronikCluster } from '../src/api/types.js';
import { validateCluster } from '../src/api/validate.js';
import { buildConfigMap } from '../src/reconcile/configmap.js';
import { desiredObjects } from '../src/reconcile/desired.js';
import { buildExternalServices, buildHeadlessService } from '../src/reconcile/services.js';
import { brokerStartScript } from '../src/reconcile/start-script.js';
import { buildStatefulSet, configHash } from '../src/reconcile/statefulset.js';
import { parseBrokerArgs } from '../../broker/src/cli/args.js';

function cluster(spec: Partial<ChronikCluster['spec']> = {}): ChronikCluster {
  return {
    apiVersion: 'chronik.io/v1alpha1',
    kind: 'ChronikCluster',
    metadata: { name: 'kafka', namespace: 'prod', uid: 'uid-1', generation: 1 },
    spec: { replicas: 3, storage: { size: '10Gi' }, ...spec },
  };
}

const brokers: BrokerStatus[] = [
  { pod: 'kafka-0', ordinal: 0, brokerId: 7, state: 'Running', ready: true },
  { pod: 'kafka-1', ordinal: 1, brokerId: 3, state: 'Running', ready: true },
];

const voters = '7@kafka-0.kafka-headless.prod.svc.cluster.local:9646';

type Obj = { kind: string; metadata: { name: string; ownerReferences: { uid: string; controller: boolean }[] }; spec: Record<string, any> };

describe('object builders', () => {
  it('StatefulSet: OnDelete, Parallel, stable identity, owner reference, hardened pod', () => {
    const sts = buildStatefulSet({ cluster: cluster(), image: 'chronik/broker:1', replicas: 2 }) as unknown as Obj;
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.serviceName).toBe('kafka-headless');
    expect(sts.metadata.ownerReferences[0]).toMatchObject({ uid: 'uid-1', controller: true });
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([9092, 9644, 9645, 9646]);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    expect(sts.spec.template.metadata.annotations['chronik.io/config-hash']).toBe(configHash(cluster(), 'chronik/broker:1'));
  });

  it('pod template overrides reach the pod', () => {
    const c = cluster({
      podTemplate: {
        labels: { team: 'data' },
        annotations: { a: 'b' },
        nodeSelector: { disk: 'ssd' },
        tolerations: [{ key: 'k', operator: 'Exists' }],
        priorityClassName: 'high',
        affinity: { nodeAffinity: {} },
      },
      imagePullSecrets: [{ name: 'regcred' }],
      resources: { requests: { cpu: '1', memory: '2Gi' } },
    });
    const sts = buildStatefulSet({ cluster: c, image: 'i', replicas: 3 }) as unknown as Obj;
    const t = sts.spec.template;
    expect(t.metadata.labels.team).toBe('data');
    expect(t.metadata.labels['app.kubernetes.io/instance']).toBe('kafka');
    expect(t.metadata.annotations.a).toBe('b');
    expect(t.spec.nodeSelector).toEqual({ disk: 'ssd' });
    expect(t.spec.tolerations).toHaveLength(1);
    expect(t.spec.priorityClassName).toBe('high');
    expect(t.spec.affinity).toEqual({ nodeAffinity: {} });
    expect(t.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(t.spec.containers[0].resources.requests.memory).toBe('2Gi');
  });

  it('config hash changes with image and broker config, not with replicas', () => {
    const a = configHash(cluster(), 'i:1');
    expect(configHash(cluster({ replicas: 5 }), 'i:1')).toBe(a);
    expect(configHash(cluster(), 'i:2')).not.toBe(a);
    expect(configHash(cluster({ brokerConfig: { 'log.retention.ms': '1000' } }), 'i:1')).not.toBe(a);
  });

  it('ConfigMap carries explicit broker ids and Kafka-named settings', () => {
    const cm = buildConfigMap(cluster({ topicDefaults: { partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 }, brokerConfig: { 'log.retention.ms': '60000' } }), brokers, voters) as {
      data: Record<string, string>;
    };
    expect(cm.data['broker-ids']).toBe('kafka-0=7\nkafka-1=3\n');
    expect(cm.data['initial-voters']).toBe(voters);
    expect(cm.data['broker.properties']).toBe('default.replication.factor=3\nlog.retention.ms=60000\nmin.insync.replicas=2\nnum.partitions=6\n');
  });

  it('headless service publishes not-ready addresses', () => {
    const s = buildHeadlessService(cluster()) as unknown as Obj;
    expect(s.spec.clusterIP).toBe('None');
    expect(s.spec.publishNotReadyAddresses).toBe(true);
  });

  it('external listener: one service per broker with its node port', () => {
    const c = cluster({ listeners: { external: { type: 'NodePort', nodePortBase: 31000, advertisedHosts: ['a.example', 'b.example:9999', 'c'] } } });
    const svcs = buildExternalServices(c, brokers) as unknown as Obj[];
    expect(svcs.map((s) => s.metadata.name)).toEqual(['kafka-0-external', 'kafka-1-external']);
    expect(svcs[1]!.spec.ports[0].nodePort).toBe(31001);
    expect(svcs[1]!.spec.selector['statefulset.kubernetes.io/pod-name']).toBe('kafka-1');
    const cm = buildConfigMap(c, brokers, voters) as { data: Record<string, string> };
    expect(cm.data['external-hosts']).toBe('kafka-0=a.example:9094\nkafka-1=b.example:9999\n');
  });

  it('desired set: PDB by default and removable, ServiceMonitor only when asked', () => {
    const d = desiredObjects({ cluster: cluster(), image: 'i', statefulSetReplicas: 3, brokers, initialVoters: voters });
    const kinds = d.objects.map((o) => o.kind);
    expect(kinds).toEqual(['ServiceAccount', 'ConfigMap', 'Service', 'Service', 'StatefulSet', 'PodDisruptionBudget']);
    const pdb = d.objects.find((o) => o.kind === 'PodDisruptionBudget') as unknown as Obj;
    expect(pdb.spec.maxUnavailable).toBe(1);
    const off = desiredObjects({ cluster: cluster({ podDisruptionBudget: { enabled: false }, metrics: { serviceMonitor: { enabled: true } } }), image: 'i', statefulSetReplicas: 3, brokers, initialVoters: voters });
    expect(off.absent.map((a) => a.kind)).toEqual(['PodDisruptionBudget']);
    expect(off.objects.some((o) => o.kind === 'ServiceMonitor')).toBe(true);
  });

  it('start script finds the broker id in the table and passes the broker config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronik-script-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const c = cluster({
      brokerConfig: { 'log.retention.ms': '60000', 'log.cleanup.policy': 'compact, delete' },
      topicDefaults: { partitions: 6 },
      rackAwareness: { topologyKey: 'zone' },
      listeners: { external: { type: 'NodePort', advertisedHosts: ['a.example', 'b.example'] } },
    });
    const script = brokerStartScript(c)
      .replaceAll('/etc/chronik', dir)
      .replaceAll('/etc/podinfo', dir)
      .replace('exec chronik "$@"', 'for a in "$@"; do printf "%s\\n" "$a"; done');
    writeFileSync(join(dir, 'broker-ids'), 'kafka-0=7\nkafka-1=3\n');
    writeFileSync(join(dir, 'broker.properties'), (buildConfigMap(c, brokers, voters) as { data: Record<string, string> }).data['broker.properties']!);
    writeFileSync(join(dir, 'initial-voters'), voters);
    writeFileSync(join(dir, 'annotations'), 'chronik.io/rack="eu-1a"\nother="x"\n');
    const out = execFileSync('/bin/sh', ['-c', script], { env: { HOSTNAME: 'kafka-1', PATH: process.env.PATH } }).toString().split('\n');
    expect(out.slice(0, 3)).toEqual(['broker', '--node-id', '3']);
    expect(out).toContain('--rack');
    expect(out[out.indexOf('--rack') + 1]).toBe('eu-1a');
    expect(out).toContain('log.cleanup.policy=compact, delete');
    expect(out).toContain('log.retention.ms=60000');
    // The broker takes exactly what the operator passes: registered settings, each once.
    // One argument a line, the last line empty; the first is the subcommand.
    const args = out.slice(1, -1);
    const parsed = parseBrokerArgs(args, {});
    if (parsed.help) throw new Error('unexpected help');
    expect(parsed.config).toMatchObject({ nodeId: 3, rack: 'eu-1a', kafkaHost: '0.0.0.0', dataDir: '/var/lib/chronik/data' });
    expect(parsed.config.settings.get('num.partitions')).toBe(6);
    expect(out[out.indexOf('--advertised') + 1]).toBe('kafka-1.kafka-headless.prod.svc.cluster.local:9092');
    // The admin service listens on every pod, on the port the operator's client dials.
    expect(parsed.config.adminListen).toEqual({ host: '0.0.0.0', port: 9645 });
    expect(parsed.config.adminAdvertised).toEqual({ host: 'kafka-1.kafka-headless.prod.svc.cluster.local', port: 9645 });
    // Raft: reachable at the pod's stable name; the founding voters from the ConfigMap; the
    // cluster id is the resource's uid; admin calls need the Secret's token.
    expect(parsed.config.raftListen).toEqual({ host: '0.0.0.0', port: 9646 });
    expect(parsed.config.raftAdvertised).toEqual({ host: 'kafka-1.kafka-headless.prod.svc.cluster.local', port: 9646 });
    expect(parsed.config.initialVoters).toEqual([{ nodeId: 7, host: 'kafka-0.kafka-headless.prod.svc.cluster.local', port: 9646 }]);
    expect(parsed.config.clusterId).toBe('uid-1');
    expect(parsed.config.adminTokenFile).toBe(`${dir}-admin/token`);
    // A pod with no id assigned refuses to start rather than inventing one.
    expect(() => execFileSync('/bin/sh', ['-c', script], { env: { HOSTNAME: 'kafka-9', PATH: process.env.PATH }, stdio: 'pipe' })).toThrow();
    expect(readFileSync(join(dir, 'broker-ids'), 'utf8')).toContain('kafka-1=3');
  });

  it('validation names the offending field', () => {
    expect(validateCluster(cluster())).toEqual([]);
    expect(validateCluster(cluster({ replicas: 0 }))).toContain('spec.replicas: must be an integer >= 1');
    expect(validateCluster(cluster({ topicDefaults: { replicationFactor: 5 } })).join()).toMatch(/spec.topicDefaults.replicationFactor/);
    expect(validateCluster(cluster({ topicDefaults: { replicationFactor: 2, minInsyncReplicas: 3 } })).join()).toMatch(/minInsyncReplicas/);
    expect(validateCluster(cluster({ storage: { size: 'lots' } })).join()).toMatch(/spec.storage.size/);
  });

  it('spec.brokerConfig takes registered settings with values the broker accepts, and nothing the operator sets', () => {
    expect(validateCluster(cluster({ brokerConfig: { 'log.retention.ms': '60000', 'compression.type': 'zstd', 'log.cleanup.policy': 'compact' } }))).toEqual([]);
    const errors = (brokerConfig: Record<string, string>, more: Partial<ChronikCluster['spec']> = {}) => validateCluster(cluster({ brokerConfig, ...more }));
    expect(errors({ 'log.retention.msx': '1' })).toEqual(["spec.brokerConfig.log.retention.msx: not a broker setting (the README's configuration table lists them)"]);
    expect(errors({ 'admin.listen': '0.0.0.0:9645' })[0]).toMatch(/admin.listen: not a broker setting/);
    expect(errors({ 'node.id': '4' })).toEqual(['spec.brokerConfig.node.id: set by the operator for every broker; it cannot be configured here']);
    expect(errors({ 'chronik.kafka.listen': '0.0.0.0:1' })[0]).toMatch(/set by the operator/);
    expect(errors({ 'num.partitions': '3' }, { topicDefaults: { partitions: 6 } })).toEqual([
      'spec.brokerConfig.num.partitions: also set by spec.topicDefaults.partitions; set it in one place',
    ]);
    expect(errors({ 'num.partitions': 'three' })).toEqual(["spec.brokerConfig.num.partitions: 'three' is not an integer"]);
    expect(errors({ 'log.segment.bytes': '10' })).toEqual(["spec.brokerConfig.log.segment.bytes: '10' must be at least 14"]);
    expect(errors({ 'auto.create.topics.enable': 'yes' })[0]).toMatch(/is not true or false/);
    expect(errors({ 'log.cleanup.policy': 'shred' })[0]).toMatch(/not one of delete, compact/);
  });
});
