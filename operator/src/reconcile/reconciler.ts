import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from '../api/types.js';
import type { BrokerStatus, ChronikCluster, ChronikClusterStatus, Condition, Phase } from '../api/types.js';
import { validateCluster } from '../api/validate.js';
import { AdminCallError } from '../brokers/admin-client.js';
import type { BrokerAdmin, ClusterStatus } from '../brokers/types.js';
import type { EventRecorder } from '../kube/events.js';
import { isConflict, isNotFound, type JsonObject, type KubeRest } from '../kube/rest.js';
import { advance, foundingVoters } from '../orchestration/machine.js';
import { type MachineEvent, type MachineInput, type MachineState, type PodObservation, type Ports, POLL_MS } from '../orchestration/types.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { setCondition } from './conditions.js';
import { desiredObjects } from './desired.js';
import { ADMIN_TOKEN_KEY, CONFIG_HASH_ANNOTATION, FIELD_MANAGER, KAFKA_PORT, RACK_ANNOTATION, RAFT_PORT, names, objectMeta, podHost, selectorString } from './names.js';
import { configHash } from './statefulset.js';

export interface ReconcilerOptions {
  rest: KubeRest;
  log: Logger;
  events: EventRecorder;
  metrics: OperatorMetrics;
  /** Image used when spec.image is not set. */
  defaultBrokerImage: string;
  /**
   * Opens an admin client to the cluster's brokers, sending `token` with every call; tests
   * point it at their own server.
   */
  adminFor(cluster: ChronikCluster, brokers: readonly BrokerStatus[], token: string | null, signal?: AbortSignal): BrokerAdmin;
  /** Upper bound on steps run in one reconcile; the rest continues on requeue. */
  maxStepsPerReconcile?: number;
  now?: () => Date;
}

/** This operator lost its lease mid-pass: stop, the new leader takes over. */
export class LeadershipLostError extends Error {
  constructor() {
    super('leadership lost: this operator stopped acting');
    this.name = 'LeadershipLostError';
  }
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

interface ApiPath {
  collection: string;
  item: (name: string) => string;
}

const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Service: 'services',
  ServiceAccount: 'serviceaccounts',
  StatefulSet: 'statefulsets',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Secret: 'secrets',
  ServiceMonitor: 'servicemonitors',
  Pod: 'pods',
  PersistentVolumeClaim: 'persistentvolumeclaims',
};

export function apiPath(apiVersion: string, kind: string, namespace: string): ApiPath {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`no API path known for kind ${kind}`);
  const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  const collection = `${base}/namespaces/${namespace}/${plural}`;
  return { collection, item: (name) => `${collection}/${encodeURIComponent(name)}` };
}

export function clusterPath(namespace: string, name?: string): string {
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`;
  return name ? `${base}/${encodeURIComponent(name)}` : base;
}

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

/** The brokers' replica.lag.time.max.ms as the spec sets it (the broker's default otherwise). */
function replicaLagTimeMaxMs(c: ChronikCluster): number {
  const v = Number(c.spec.brokerConfig?.['replica.lag.time.max.ms']);
  return Number.isInteger(v) && v > 0 ? v : 30_000;
}

function ordinalOf(c: ChronikCluster, podName: string): number | null {
  const prefix = `${names.statefulSet(c)}-`;
  if (!podName.startsWith(prefix)) return null;
  const n = Number(podName.slice(prefix.length));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** One level-triggered pass over a ChronikCluster: observe, apply, advance, report. */
export class Reconciler {
  /** Warn once per cluster generation, not on every pass. */
  private readonly warnedServiceMonitor = new Set<string>();

  constructor(private readonly o: ReconcilerOptions) {}

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /**
   * `signal` is this operator's leadership: once it aborts, no further step, API call or
   * status write is made (a LeadershipLostError ends the pass), so a new leader never races
   * the old one.
   */
  async reconcile(namespace: string, name: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const { rest, log } = this.o;
    const fence = (): void => {
      if (signal?.aborted) throw new LeadershipLostError();
    };
    this.fence = fence;
    let cluster: ChronikCluster;
    try {
      cluster = await rest.get<ChronikCluster>(clusterPath(namespace, name));
    } catch (err) {
      // Deleted: owned objects go with it through their ownerReferences.
      if (isNotFound(err)) return {};
      throw err;
    }
    if (cluster.metadata.deletionTimestamp) return {};
    const generation = cluster.metadata.generation ?? 0;
    const status: ChronikClusterStatus = { ...(cluster.status ?? {}) };
    const nowIso = this.now().toISOString();
    status.selector = selectorString(cluster);

    const errors = validateCluster(cluster);
    if (errors.length > 0) {
      if (status.observedGeneration !== generation) await this.event(cluster, 'Warning', 'InvalidSpec', errors.join('; '));
      status.phase = 'Failed';
      status.conditions = this.conditions(status.conditions, generation, nowIso, {
        ready: ['False', 'InvalidSpec', errors.join('; ')],
        progressing: ['False', 'InvalidSpec', 'the spec must be fixed first'],
        degraded: ['True', 'InvalidSpec', errors.join('; ')],
      });
      status.observedGeneration = generation;
      await this.writeStatus(cluster, status);
      return {};
    }

    const image = cluster.spec.image ?? this.o.defaultBrokerImage;
    const hash = configHash(cluster, image);
    let state = await this.machineState(cluster, status);
    let admin: BrokerAdmin | null = null;
    let token: string | null = null;
    const ports = this.ports(cluster, image, () => (admin ??= this.o.adminFor(cluster, state.brokers, token, signal)), () => state);
    let requeueAfterMs: number | undefined;
    let waitingOn: string | undefined;
    let report: ClusterStatus | null = null;

    try {
      if (!cluster.spec.paused) {
        token = await this.ensureAdminToken(cluster);
        await this.applyAll(cluster, image, state);
        const input: MachineInput = {
          desiredReplicas: cluster.spec.replicas,
          desiredHash: hash,
          podHost: (o) => podHost(cluster, o),
          podName: (o) => names.pod(cluster, o),
          kafkaPort: cluster.spec.listeners?.internal?.port ?? KAFKA_PORT,
          raftPort: RAFT_PORT,
          reclaimPolicy: cluster.spec.storage.reclaimPolicy ?? 'Retain',
          replicaLagTimeMaxMs: replicaLagTimeMaxMs(cluster),
          now: nowIso,
        };
        for (let i = 0; i < (this.o.maxStepsPerReconcile ?? 20); i++) {
          fence();
          const before = state.operation;
          let r;
          try {
            r = await advance(state, input, ports);
          } catch (err) {
            fence();
            if (!(err instanceof AdminCallError)) throw err;
            // Brokers unreachable is a state to wait out, not an operator failure.
            waitingOn = `brokers unreachable: ${err.message}`;
            requeueAfterMs = POLL_MS;
            if (state.operation) state = { ...state, operation: { ...state.operation, message: waitingOn } };
            break;
          }
          state = r.state;
          for (const e of r.events) await this.event(cluster, e.type, e.reason, e.message);
          if (before && (r.progressed || !r.state.operation)) this.o.metrics.operationSteps.inc({ operation: before.type, step: before.step });
          if (!r.progressed) {
            requeueAfterMs = r.requeueAfterMs;
            waitingOn = r.state.operation?.message ?? r.waiting;
            break;
          }
          // Progress is durable before the next step acts on it.
          Object.assign(status, this.machineStatus(state));
          if (state.operation) this.markInProgress(status, generation, nowIso);
          await this.writeStatus(cluster, status);
          requeueAfterMs = 0;
        }
      }
      // What the brokers say about each broker, for status; unreachable brokers are not an error here.
      if (!cluster.spec.paused && state.brokers.length > 0 && state.statefulSetReplicas > 0) {
        fence();
        report = await ports
          .admin()
          .getClusterStatus()
          .catch((err: unknown) => {
            fence();
            log.debug({ err: err instanceof Error ? err.message : String(err) }, 'cluster status unavailable');
            return null;
          });
      }
    } finally {
      (admin as BrokerAdmin | null)?.close();
    }

    Object.assign(status, this.machineStatus(state));
    const pods = await ports.pods();
    await this.observe(cluster, status, pods, hash, generation, nowIso, waitingOn, report);
    await this.writeStatus(cluster, status);
    if (requeueAfterMs === undefined && status.phase !== 'Running' && status.phase !== 'Paused') requeueAfterMs = POLL_MS * 2;
    log.debug({ cluster: `${namespace}/${name}`, phase: status.phase, operation: status.operation, requeueAfterMs }, 'reconciled');
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /** Intermediate writes must not show a stale summary next to the operation in progress. */
  private markInProgress(status: ChronikClusterStatus, generation: number, now: string): void {
    const op = status.operation;
    if (!op) return;
    status.phase = op.type === 'Roll' ? 'Rolling' : 'Scaling';
    const text = `${op.type} broker ${op.brokerId ?? '?'} at step ${op.step}${op.message ? `: ${op.message}` : ''}`;
    let list = setCondition(status.conditions, 'Progressing', 'True', op.type, text, generation, now);
    list = setCondition(list, 'Settled', 'False', 'NotSettled', 'the cluster is still changing or unhealthy', generation, now);
    status.conditions = list;
  }

  private machineStatus(s: MachineState): Partial<ChronikClusterStatus> {
    return { brokers: s.brokers, nextBrokerId: s.nextBrokerId, statefulSetReplicas: s.statefulSetReplicas, initialVoters: s.initialVoters, operation: s.operation };
  }

  /**
   * The machine's state comes from status. If status was lost while the StatefulSet exists,
   * the broker ids are recovered from the ConfigMap the pods read them from, never guessed.
   */
  private async machineState(c: ChronikCluster, status: ChronikClusterStatus): Promise<MachineState> {
    if ((status.brokers?.length ?? 0) > 0 || (status.statefulSetReplicas ?? 0) > 0) {
      const brokers = (status.brokers ?? []).map((b) => ({ ...b }));
      return {
        brokers,
        // A cluster created before the founding voters were recorded: its lowest ordinals.
        initialVoters: status.initialVoters || foundingVoters(brokers, { podHost: (o) => podHost(c, o), raftPort: RAFT_PORT }),
        nextBrokerId: status.nextBrokerId ?? Math.max(-1, ...(status.brokers ?? []).map((b) => b.brokerId)) + 1,
        statefulSetReplicas: status.statefulSetReplicas ?? status.brokers?.length ?? 0,
        operation: status.operation ?? null,
      };
    }
    const { rest } = this.o;
    try {
      const sts = await rest.get<{ spec: { replicas?: number } }>(apiPath('apps/v1', 'StatefulSet', c.metadata.namespace).item(names.statefulSet(c)));
      const cm = await rest.get<{ data?: Record<string, string> }>(apiPath('v1', 'ConfigMap', c.metadata.namespace).item(names.configMap(c)));
      const brokers: BrokerStatus[] = [];
      for (const line of (cm.data?.['broker-ids'] ?? '').split('\n')) {
        const m = /^(.+)=(\d+)$/.exec(line.trim());
        const ordinal = m ? ordinalOf(c, m[1]!) : null;
        if (m && ordinal !== null) brokers.push({ pod: m[1]!, ordinal, brokerId: Number(m[2]), state: 'Running', ready: false });
      }
      const replicas = sts.spec.replicas ?? 0;
      if (replicas > 0 && brokers.length > 0) {
        await this.event(c, 'Warning', 'StatusRecovered', `status had no broker table; recovered ${brokers.length} broker ids from ConfigMap ${names.configMap(c)}`);
        const initialVoters = cm.data?.['initial-voters'] || foundingVoters(brokers, { podHost: (o) => podHost(c, o), raftPort: RAFT_PORT });
        return { brokers, nextBrokerId: Math.max(...brokers.map((b) => b.brokerId)) + 1, statefulSetReplicas: replicas, initialVoters, operation: null };
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return { brokers: [], nextBrokerId: status.nextBrokerId ?? 0, statefulSetReplicas: 0, initialVoters: '', operation: null };
  }

  private async applyAll(c: ChronikCluster, image: string, state: MachineState): Promise<void> {
    const { rest } = this.o;
    const d = desiredObjects({ cluster: c, image, statefulSetReplicas: state.statefulSetReplicas, brokers: state.brokers, initialVoters: state.initialVoters });
    for (const obj of d.objects) {
      const meta = obj.metadata as { name: string };
      if (obj.kind === 'StatefulSet') await this.keepClaimTemplates(c, obj, state);
      const p = apiPath(obj.apiVersion as string, obj.kind as string, c.metadata.namespace);
      try {
        await rest.apply(p.item(meta.name), obj, FIELD_MANAGER);
      } catch (err) {
        // A ServiceMonitor needs the Prometheus Operator's CRD; without it, say so and go on.
        if (obj.kind === 'ServiceMonitor' && isNotFound(err)) {
          const key = `${c.metadata.uid ?? ''}/${c.metadata.generation ?? 0}`;
          if (!this.warnedServiceMonitor.has(key)) {
            this.warnedServiceMonitor.add(key);
            await this.event(c, 'Warning', 'ServiceMonitorUnavailable', 'spec.metrics.serviceMonitor is enabled but the cluster does not serve monitoring.coreos.com/v1');
          }
          continue;
        }
        throw err;
      }
    }
    for (const a of d.absent) {
      try {
        await rest.delete(apiPath(a.apiVersion, a.kind, c.metadata.namespace).item(a.name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    // External services of brokers that no longer exist.
    if (c.spec.listeners?.external || state.brokers.length > 0) {
      const list = await rest.get<{ items: { metadata: { name: string } }[] }>(apiPath('v1', 'Service', c.metadata.namespace).collection, {
        labelSelector: `${selectorString(c)},chronik.io/listener=external`,
      });
      const keep = new Set(c.spec.listeners?.external ? state.brokers.map((b) => names.externalService(c, b.ordinal)) : []);
      for (const svc of list.items) {
        if (!keep.has(svc.metadata.name)) await rest.delete(apiPath('v1', 'Service', c.metadata.namespace).item(svc.metadata.name)).catch(() => undefined);
      }
    }
  }

  /**
   * The bearer token of the brokers' admin service, in a Secret the operator creates once per
   * cluster (owned by it, so it goes with it) and never rewrites: brokers read it at start, so a
   * new token would lock the operator out of every broker started before (no rotation yet).
   */
  private async ensureAdminToken(c: ChronikCluster): Promise<string> {
    const { rest } = this.o;
    const path = apiPath('v1', 'Secret', c.metadata.namespace);
    const read = (secret: { data?: Record<string, string> }): string | null => {
      const raw = secret.data?.[ADMIN_TOKEN_KEY];
      const text = raw === undefined ? '' : Buffer.from(raw, 'base64').toString('utf8').trim();
      return text === '' ? null : text;
    };
    try {
      const existing = await rest.get<{ data?: Record<string, string> }>(path.item(names.adminSecret(c)));
      const t = read(existing);
      if (t === null) throw new Error(`Secret ${names.adminSecret(c)} has no "${ADMIN_TOKEN_KEY}" key`);
      return t;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const token = randomBytes(32).toString('base64url');
    try {
      await rest.request('POST', path.collection, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: objectMeta(c, names.adminSecret(c)),
        type: 'Opaque',
        data: { [ADMIN_TOKEN_KEY]: Buffer.from(token).toString('base64') },
      });
    } catch (err) {
      // Another writer created it first: theirs stands.
      if (!isConflict(err)) throw err;
      const t = read(await rest.get<{ data?: Record<string, string> }>(path.item(names.adminSecret(c))));
      if (t === null) throw new Error(`Secret ${names.adminSecret(c)} has no "${ADMIN_TOKEN_KEY}" key`);
      return t;
    }
    await this.event(c, 'Normal', 'AdminTokenCreated', `created Secret ${names.adminSecret(c)} with the brokers' admin token`);
    return token;
  }

  /**
   * volumeClaimTemplates of a StatefulSet cannot change. The existing ones are kept, and a
   * larger spec.storage.size (the CRD forbids shrinking) is applied by expanding each claim.
   */
  private async keepClaimTemplates(c: ChronikCluster, sts: Record<string, unknown>, state: MachineState): Promise<void> {
    const { rest } = this.o;
    const ns = c.metadata.namespace;
    type Tpl = { spec?: { resources?: { requests?: { storage?: string } } } }[];
    let existing: { spec: { volumeClaimTemplates?: Tpl } };
    try {
      existing = await rest.get(apiPath('apps/v1', 'StatefulSet', ns).item(names.statefulSet(c)));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const current = existing.spec.volumeClaimTemplates;
    if (!current) return;
    (sts.spec as { volumeClaimTemplates: Tpl }).volumeClaimTemplates = current;
    const want = c.spec.storage.size;
    if (current[0]?.spec?.resources?.requests?.storage === want) return;
    for (const b of state.brokers) {
      const path = apiPath('v1', 'PersistentVolumeClaim', ns).item(names.claim(c, b.ordinal));
      try {
        const pvc = await rest.get<{ spec: { resources?: { requests?: { storage?: string } } } }>(path);
        if (pvc.spec.resources?.requests?.storage !== want) {
          await rest.mergePatch(path, { spec: { resources: { requests: { storage: want } } } });
          await this.event(c, 'Normal', 'StorageExpanding', `claim ${names.claim(c, b.ordinal)} requested to grow to ${want}`);
        }
      } catch (err) {
        if (isNotFound(err)) continue;
        // Expansion refused (e.g. the storage class does not allow it): say so, keep reconciling.
        await this.event(c, 'Warning', 'StorageExpansionFailed', `claim ${names.claim(c, b.ordinal)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private ports(c: ChronikCluster, image: string, admin: () => BrokerAdmin, current: () => MachineState): Ports {
    const { rest } = this.o;
    const ns = c.metadata.namespace;
    return {
      pods: async (): Promise<PodObservation[]> => {
        const list = await rest.get<{ items: PodJson[] }>(apiPath('v1', 'Pod', ns).collection, { labelSelector: selectorString(c) });
        const out: PodObservation[] = [];
        for (const p of list.items) {
          const ordinal = ordinalOf(c, p.metadata.name);
          if (ordinal === null) continue;
          out.push({
            name: p.metadata.name,
            ordinal,
            uid: p.metadata.uid,
            ready: (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
            readySince: (p.status?.conditions ?? []).find((x) => x.type === 'Ready' && x.status === 'True')?.lastTransitionTime ?? null,
            configHash: p.metadata.annotations?.[CONFIG_HASH_ANNOTATION] ?? null,
            terminating: Boolean(p.metadata.deletionTimestamp),
          });
        }
        return out.sort((a, b) => a.ordinal - b.ordinal);
      },
      setStatefulSetReplicas: async (replicas, brokers, initialVoters) => {
        // The id table first: a pod must never start before its broker id is published.
        await this.applyAll(c, image, { ...current(), brokers: [...brokers], statefulSetReplicas: replicas, initialVoters });
      },
      deletePod: async (name, uid) => {
        try {
          await rest.request('DELETE', apiPath('v1', 'Pod', ns).item(name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } });
        } catch (err) {
          // Gone already, or a newer incarnation (uid precondition failed): nothing to delete.
          if (isNotFound(err) || (err as { statusCode?: number }).statusCode === 409) return;
          throw err;
        }
      },
      deleteClaim: async (ordinal) => {
        try {
          await rest.delete(apiPath('v1', 'PersistentVolumeClaim', ns).item(names.claim(c, ordinal)));
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      },
      claimExists: async (ordinal) => {
        try {
          await rest.get(apiPath('v1', 'PersistentVolumeClaim', ns).item(names.claim(c, ordinal)));
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      },
      admin,
    };
  }

  private async observe(
    c: ChronikCluster,
    status: ChronikClusterStatus,
    pods: PodObservation[],
    hash: string,
    generation: number,
    now: string,
    waitingOn: string | undefined,
    report: ClusterStatus | null,
  ): Promise<void> {
    const brokers = status.brokers ?? [];
    for (const b of brokers) {
      const p = pods.find((x) => x.ordinal === b.ordinal && !x.terminating);
      b.ready = Boolean(p?.ready);
      const info = report?.brokers.find((x) => x.brokerId === b.brokerId);
      if (info) {
        b.brokerState = info.state.replace(/^BROKER_STATE_/, '');
        b.leaders = info.leaderCount;
        b.replicas = info.replicaCount;
        b.laggingReplicas = info.laggingReplicaCount;
        b.maintenance = info.state === 'BROKER_STATE_MAINTENANCE';
      }
      if (b.state !== 'Decommissioning' && b.state !== 'Decommissioned') delete b.decommission;
      if (p?.configHash) b.configHash = p.configHash;
      if (b.state === 'Starting' && b.ready && !status.operation) b.state = 'Running';
    }
    if (c.spec.rackAwareness) await this.labelRacks(c, brokers, c.spec.rackAwareness.topologyKey);
    const live = pods.filter((p) => !p.terminating && p.ordinal < (status.statefulSetReplicas ?? 0));
    status.replicas = live.length;
    status.readyReplicas = live.filter((p) => p.ready).length;
    status.configHash = hash;
    status.image = c.spec.image;
    status.observedGeneration = generation;
    const desired = c.spec.replicas;
    const op = status.operation ?? null;
    const outdated = live.filter((p) => p.configHash !== hash).length;
    const allReady = status.readyReplicas === desired && status.statefulSetReplicas === desired && live.length === desired;
    const settled = allReady && !op && outdated === 0;
    const unready = brokers.filter((b) => !b.ready && b.ordinal < (status.statefulSetReplicas ?? 0));
    const unexpectedDown = unready.filter((b) => b.brokerId !== op?.brokerId && b.state !== 'Starting');

    let phase: Phase;
    if (c.spec.paused) phase = 'Paused';
    else if (op?.overdue) phase = 'Degraded';
    else if (op?.type === 'Roll') phase = 'Rolling';
    else if (op) phase = 'Scaling';
    else if (unexpectedDown.length > 0) phase = 'Degraded';
    else if (settled) phase = 'Running';
    else if (brokers.some((b) => b.state === 'Starting')) phase = 'Creating';
    else phase = 'Pending';
    status.phase = phase;

    const opText = op ? `${op.type} broker ${op.brokerId ?? '?'} at step ${op.step}${op.message ? `: ${op.message}` : ''}` : '';
    status.conditions = this.conditions(status.conditions, generation, now, {
      ready: allReady ? ['True', 'AllBrokersReady', `${status.readyReplicas}/${desired} brokers ready`] : ['False', 'BrokersNotReady', `${status.readyReplicas}/${desired} brokers ready`],
      progressing: c.spec.paused
        ? ['False', 'Paused', 'spec.paused is true; observing only']
        : op?.refused
          ? ['False', `${op.type}Refused`, op.refused]
          : op
          ? ['True', op.type, opText]
          : status.statefulSetReplicas !== desired || outdated > 0 || !allReady
            ? ['True', 'Converging', waitingOn ?? `${outdated} brokers with outdated config; ${status.readyReplicas}/${desired} ready`]
            : ['False', 'Idle', 'no operation in progress'],
      degraded: op?.overdue
        ? ['True', 'StepDeadlineExceeded', `${opText} (past the step's deadline; the operation waits here)`]
        : unexpectedDown.length > 0
          ? ['True', 'BrokersDown', `not ready: ${unexpectedDown.map((b) => `${b.pod}(id ${b.brokerId})`).join(', ')}`]
          : ['False', 'AsExpected', 'no broker is unexpectedly down'],
    });
  }

  private conditions(
    existing: Condition[] | undefined,
    generation: number,
    now: string,
    v: { ready: [Condition['status'], string, string]; progressing: [Condition['status'], string, string]; degraded: [Condition['status'], string, string] },
  ): Condition[] {
    let list = setCondition(existing, 'Ready', ...v.ready, generation, now);
    list = setCondition(list, 'Progressing', ...v.progressing, generation, now);
    list = setCondition(list, 'Degraded', ...v.degraded, generation, now);
    const settled = v.ready[0] === 'True' && v.progressing[0] === 'False' && v.degraded[0] === 'False';
    return setCondition(
      list,
      'Settled',
      settled ? 'True' : 'False',
      settled ? 'Settled' : 'NotSettled',
      settled ? `generation ${generation} fully applied; nothing in progress` : 'the cluster is still changing or unhealthy',
      generation,
      now,
    );
  }

  /** Copies each broker's node label onto its pod, where the start script reads it. */
  private async labelRacks(c: ChronikCluster, brokers: BrokerStatus[], topologyKey: string): Promise<void> {
    const { rest } = this.o;
    const list = await rest.get<{ items: PodJson[] }>(apiPath('v1', 'Pod', c.metadata.namespace).collection, { labelSelector: selectorString(c) });
    for (const p of list.items) {
      const b = brokers.find((x) => x.pod === p.metadata.name);
      const existing = p.metadata.annotations?.[RACK_ANNOTATION];
      if (existing) {
        if (b) b.rack = existing;
        continue;
      }
      if (!p.spec?.nodeName) continue;
      try {
        const node = await rest.get<{ metadata: { labels?: Record<string, string> } }>(`/api/v1/nodes/${encodeURIComponent(p.spec.nodeName)}`);
        const rack = node.metadata.labels?.[topologyKey];
        if (!rack) {
          await this.event(c, 'Warning', 'RackUnknown', `node ${p.spec.nodeName} has no label ${topologyKey}; pod ${p.metadata.name} waits for it`);
          continue;
        }
        await rest.mergePatch(apiPath('v1', 'Pod', c.metadata.namespace).item(p.metadata.name), { metadata: { annotations: { [RACK_ANNOTATION]: rack } } });
        if (b) b.rack = rack;
      } catch (err) {
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err), pod: p.metadata.name }, 'rack lookup failed');
      }
    }
  }

  /** Set per pass: throws once this operator lost its lease. */
  private fence: () => void = () => undefined;

  /**
   * Carries the resourceVersion this pass read (then wrote): a write from a stale view, such
   * as a deposed leader's, gets 409 Conflict and the key is requeued to read afresh.
   */
  private async writeStatus(c: ChronikCluster, status: ChronikClusterStatus): Promise<void> {
    this.fence();
    const body: JsonObject = { metadata: { resourceVersion: c.metadata.resourceVersion ?? null }, status: { ...status, operation: status.operation ?? null } };
    const written = await this.o.rest.mergePatch<{ metadata?: { resourceVersion?: string } }>(`${clusterPath(c.metadata.namespace, c.metadata.name)}/status`, body);
    if (written.metadata?.resourceVersion) c.metadata.resourceVersion = written.metadata.resourceVersion;
  }

  private async event(c: ChronikCluster, type: MachineEvent['type'], reason: string, message: string): Promise<void> {
    this.o.log.info({ cluster: `${c.metadata.namespace}/${c.metadata.name}`, reason, type }, message);
    await this.o.events.record({ apiVersion: API_VERSION, kind: KIND, name: c.metadata.name, namespace: c.metadata.namespace, uid: c.metadata.uid }, type, reason, message);
  }
}
