import type { BrokerStatus } from '../../src/api/types.js';
import type { BrokerAdmin, BrokerInfo, BrokerState, ClusterStatus, DecommissionStatus, MaintenanceStatus, RebalanceStatus } from '../../src/brokers/types.js';
import type { PodObservation, Ports } from '../../src/orchestration/types.js';
import * as grpc from '@grpc/grpc-js';
import { AdminCallError } from '../../src/brokers/admin-client.js';

/**
 * An in-memory world for unit tests of the step machines: a StatefulSet controller + kubelet
 * that take a few polls to start pods, and brokers that take a few polls to decommission or
 * drain. It records every safety violation it sees instead of trusting the code under test.
 */
interface SimPod extends PodObservation {
  readyAfter: number;
}
interface SimBroker {
  id: number;
  host: string;
  state: BrokerState;
  replicas: number;
  leaders: number;
  decommissionPolls: number;
  maintenance: boolean;
}

export class SimWorld implements Ports {
  tick = 0;
  stsReplicas = 0;
  brokerIdTable = new Map<string, number>();
  podMap = new Map<number, SimPod>();
  brokers = new Map<number, SimBroker>();
  currentHash = 'h1';
  deletedClaims: number[] = [];
  /** Ordinals with a claim: made with their pod, kept after scale-down until deleted. */
  claims = new Set<number>();
  /** Replication factor of the topics: a decommission that would leave fewer brokers is refused. */
  rf = 1;
  violations: string[] = [];
  log: string[] = [];
  private uidSeq = 0;
  underReplicated = 0;

  constructor(readonly podStartPolls = 2) {}

  /** Advances time: the "controllers" converge. */
  step(): void {
    this.tick++;
    for (let o = 0; o < this.stsReplicas; o++) {
      if (!this.podMap.has(o)) {
        const name = `c-${o}`;
        const id = this.brokerIdTable.get(name);
        if (id === undefined) this.violations.push(`pod ${name} created without a broker id`);
        const prior = this.claimOwner.get(o);
        if (this.claims.has(o) && prior !== undefined && prior !== id) this.violations.push(`pod ${name} (broker ${id}) started on the claim of broker ${prior}`);
        this.claims.add(o);
        this.claimOwner.set(o, id ?? -1);
        this.podMap.set(o, { name, ordinal: o, uid: `u${++this.uidSeq}`, ready: false, configHash: this.currentHash, terminating: false, readyAfter: this.tick + this.podStartPolls });
      }
    }
    for (const [o, p] of [...this.podMap]) {
      if (o >= this.stsReplicas) {
        this.podMap.delete(o);
        continue;
      }
      if (!p.ready && this.tick >= p.readyAfter) {
        p.ready = true;
        const id = this.brokerIdTable.get(p.name)!;
        const b = this.brokers.get(id);
        if (b && b.state === 'BROKER_STATE_OFFLINE') b.state = b.maintenance ? 'BROKER_STATE_MAINTENANCE' : 'BROKER_STATE_ACTIVE';
        if (!b) this.brokers.set(id, { id, host: `${p.name}.c-headless`, state: 'BROKER_STATE_ACTIVE', replicas: 3, leaders: 3, decommissionPolls: 0, maintenance: false });
        if (b && b.state === 'BROKER_STATE_JOINING') b.state = 'BROKER_STATE_ACTIVE';
      }
    }
    const unready = [...this.podMap.values()].filter((p) => !p.ready).length + Math.max(0, this.stsReplicas - this.podMap.size);
    this.maxUnready = Math.max(this.maxUnready, unready);
  }
  maxUnready = 0;
  private claimOwner = new Map<number, number>();

  async pods(): Promise<PodObservation[]> {
    return [...this.podMap.values()].map(({ readyAfter: _r, ...p }) => ({ ...p }));
  }

  async setStatefulSetReplicas(replicas: number, brokers: readonly BrokerStatus[]): Promise<void> {
    this.brokerIdTable = new Map(brokers.map((b) => [b.pod, b.brokerId]));
    for (let o = replicas; o < this.stsReplicas; o++) {
      const id = brokers.find((b) => b.ordinal === o)?.brokerId;
      const b = id === undefined ? undefined : this.brokers.get(id);
      if (!b || b.state !== 'BROKER_STATE_DECOMMISSIONED') this.violations.push(`pod c-${o} removed while broker ${id} is ${b?.state ?? 'unknown'}`);
    }
    this.log.push(`replicas ${this.stsReplicas}->${replicas}`);
    this.stsReplicas = replicas;
  }

  async deletePod(name: string, uid: string): Promise<void> {
    const p = [...this.podMap.values()].find((x) => x.name === name);
    if (!p || p.uid !== uid) return;
    const b = this.brokers.get(this.brokerIdTable.get(name)!);
    if (p.ready && !(b?.maintenance && b.leaders === 0)) this.violations.push(`ready pod ${name} deleted before broker ${b?.id} was drained`);
    const others = [...this.podMap.values()].filter((x) => x !== p && !x.ready);
    if (others.length > 0) this.violations.push(`pod ${name} deleted while ${others.map((x) => x.name).join(',')} not ready`);
    this.podMap.delete(p.ordinal);
    if (b) b.state = 'BROKER_STATE_OFFLINE';
    this.log.push(`delete ${name}`);
  }

  async deleteClaim(ordinal: number): Promise<void> {
    if (this.podMap.has(ordinal)) this.violations.push(`claim of ordinal ${ordinal} deleted while its pod exists`);
    if (!this.deletedClaims.includes(ordinal)) this.deletedClaims.push(ordinal);
    this.claims.delete(ordinal);
  }

  async claimExists(ordinal: number): Promise<boolean> {
    return this.claims.has(ordinal);
  }

  admin(): BrokerAdmin {
    return this.adminImpl;
  }

  private info(b: SimBroker): BrokerInfo {
    return { brokerId: b.id, host: b.host, port: 9092, rack: '', state: b.state, metadataVoter: true, leaderCount: b.leaders, replicaCount: b.replicas, laggingReplicaCount: 0, lastHeartbeatAgeMs: 0, version: 'x' };
  }

  private decomStatus(b: SimBroker): DecommissionStatus {
    return { brokerId: b.id, state: b.state, replicasRemaining: b.replicas, replicasTotal: 3, done: b.state === 'BROKER_STATE_DECOMMISSIONED', blockedReason: '' };
  }

  private maint(b: SimBroker): MaintenanceStatus {
    return { brokerId: b.id, enabled: b.maintenance, leadershipsRemaining: b.leaders, drained: b.maintenance && b.leaders === 0 };
  }

  private adminImpl: BrokerAdmin = {
    getClusterStatus: async (): Promise<ClusterStatus> => ({
      clusterId: 'sim',
      controllerId: 0,
      respondingBrokerId: 0,
      brokers: [...this.brokers.values()].map((b) => this.info(b)),
      topicCount: 1,
      partitionCount: 3,
      underReplicatedPartitions: this.underReplicated,
      underMinIsrPartitions: 0,
      offlinePartitions: 0,
      consumerGroupCount: 0,
      totalConsumerLag: 0,
      metadataOffset: this.tick,
    }),
    addBroker: async (req) => {
      let b = this.brokers.get(req.brokerId);
      if (!b) {
        b = { id: req.brokerId, host: req.host, state: 'BROKER_STATE_JOINING', replicas: 0, leaders: 0, decommissionPolls: 0, maintenance: false };
        this.brokers.set(req.brokerId, b);
      }
      return { broker: this.info(b) };
    },
    decommissionBroker: async (id) => {
      const b = this.brokers.get(id);
      if (!b) throw new Error(`unknown broker ${id}`);
      const remaining = [...this.brokers.values()].filter((x) => x.id !== id && x.state !== 'BROKER_STATE_DECOMMISSIONED' && x.state !== 'BROKER_STATE_DECOMMISSIONING').length;
      if (b.state === 'BROKER_STATE_ACTIVE' && remaining < this.rf) {
        throw new AdminCallError('DecommissionBroker', grpc.status.FAILED_PRECONDITION, `DecommissionBroker: ${remaining} brokers would remain for topics with replication factor ${this.rf}`);
      }
      if (b.state !== 'BROKER_STATE_DECOMMISSIONED') b.state = 'BROKER_STATE_DECOMMISSIONING';
      return this.decomStatus(b);
    },
    getDecommissionStatus: async (id) => {
      const b = this.brokers.get(id);
      if (!b) throw new Error(`unknown broker ${id}`);
      if (b.state === 'BROKER_STATE_DECOMMISSIONING') {
        b.decommissionPolls++;
        b.replicas = Math.max(0, b.replicas - 1);
        if (b.replicas === 0) b.state = 'BROKER_STATE_DECOMMISSIONED';
      }
      return this.decomStatus(b);
    },
    cancelDecommission: async (id) => this.decomStatus(this.brokers.get(id)!),
    transferLeadership: async () => ({ leaderId: 0, done: true }),
    drainLeadership: async (id) => ({ brokerId: id, leadershipsRemaining: 0, done: true }),
    setMaintenanceMode: async (id, enabled) => {
      const b = this.brokers.get(id);
      if (!b) throw new Error(`unknown broker ${id}`);
      if (enabled && b.maintenance) b.leaders = Math.max(0, b.leaders - 1);
      b.maintenance = enabled;
      if (b.state === 'BROKER_STATE_ACTIVE' && enabled) b.state = 'BROKER_STATE_MAINTENANCE';
      if (b.state === 'BROKER_STATE_MAINTENANCE' && !enabled) {
        b.state = 'BROKER_STATE_ACTIVE';
        b.leaders = 3;
      }
      return this.maint(b);
    },
    rebalance: async (req): Promise<RebalanceStatus> => {
      this.log.push(req?.leadersOnly ? 'rebalance leaders' : 'rebalance');
      return { id: 'r', inProgress: true, movesPlanned: 2, movesDone: 0, done: false };
    },
    getRebalanceStatus: async (): Promise<RebalanceStatus> => ({ id: 'r', inProgress: false, movesPlanned: 2, movesDone: 2, done: true }),
    close: () => undefined,
  };
}
