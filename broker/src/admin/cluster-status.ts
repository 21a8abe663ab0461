/**
 * GetClusterStatus and ListPartitions, answered by any broker from its own metadata image (every
 * broker holds the same one), with liveness as this broker sees it: a broker counts as live while
 * this one has a working transport stream to it. Consumer groups and their lag are the sum of
 * what each live broker reports about the groups it coordinates and the partitions it leads;
 * a broker that does not answer in time is left out of those two figures.
 */
import type { BrokerRegistration, MetadataState, PartitionImage } from '../cluster/metadata-state.js';
import { raftId } from '../replication/raft-partition.js';
import { isLive, type AdminContext } from './context.js';
import type { PeerHandler } from './peers.js';
import { askPeer } from './peers.js';
import type { LocalStatus } from './peer-protocol.js';
import type { BrokerInfo, BrokerStateName, ClusterStatus, PartitionInfo } from './types.js';

/** How long the status waits for each broker's own facts. */
const PEER_STATUS_TIMEOUT_MS = 1500;

export function isMetadataMember(ctx: AdminContext, nodeId: number): boolean {
  const conf = ctx.cluster.metadata.node.conf;
  return conf.voters.includes(raftId(nodeId)) || conf.learners.includes(raftId(nodeId));
}

export function brokerStateOf(ctx: AdminContext, b: BrokerRegistration): BrokerStateName {
  if (b.state === 'removed') return 'BROKER_STATE_DECOMMISSIONED';
  if (b.state === 'decommissioning') return 'BROKER_STATE_DECOMMISSIONING';
  if (!isLive(ctx, b.nodeId)) return 'BROKER_STATE_OFFLINE';
  if (!isMetadataMember(ctx, b.nodeId)) return 'BROKER_STATE_JOINING';
  return b.maintenance ? 'BROKER_STATE_MAINTENANCE' : 'BROKER_STATE_ACTIVE';
}

interface BrokerCounts {
  leaders: number;
  replicas: number;
  lagging: number;
}

function countsOf(image: MetadataState): Map<number, BrokerCounts> {
  const out = new Map<number, BrokerCounts>();
  const of = (id: number): BrokerCounts => {
    let c = out.get(id);
    if (!c) out.set(id, (c = { leaders: 0, replicas: 0, lagging: 0 }));
    return c;
  };
  for (const t of image.topics.values()) {
    for (const p of t.partitionImages) {
      if (p.leader >= 0) of(p.leader).leaders++;
      for (const r of p.replicas) {
        const c = of(r);
        c.replicas++;
        if (!p.isr.includes(r)) c.lagging++;
      }
    }
  }
  return out;
}

export function brokerInfoOf(ctx: AdminContext, b: BrokerRegistration, counts = countsOf(ctx.cluster.image()), version = ''): BrokerInfo {
  const c = counts.get(b.nodeId) ?? { leaders: 0, replicas: 0, lagging: 0 };
  return {
    brokerId: b.nodeId,
    host: b.kafka.host,
    port: b.kafka.port,
    rack: b.rack ?? '',
    state: brokerStateOf(ctx, b),
    metadataVoter: ctx.cluster.metadata.node.conf.voters.includes(raftId(b.nodeId)),
    leaderCount: c.leaders,
    replicaCount: c.replicas,
    laggingReplicaCount: c.lagging,
    lastHeartbeatAgeMs: b.nodeId === ctx.cluster.nodeId ? 0 : ctx.heartbeatAge(b.nodeId),
    version: b.nodeId === ctx.cluster.nodeId ? ctx.version : version,
  };
}

/** A replica out of the ISR, or on a broker this one cannot reach. */
export function underReplicated(ctx: AdminContext, p: PartitionImage): boolean {
  return p.isr.length < p.replicas.length || p.replicas.some((r) => !isLive(ctx, r));
}

export function offline(ctx: AdminContext, p: PartitionImage): boolean {
  return p.leader < 0 || !isLive(ctx, p.leader);
}

/** Each live broker's own facts, gathered in parallel; the ones that do not answer are left out. */
export async function localStatuses(ctx: AdminContext, local: PeerHandler): Promise<LocalStatus[]> {
  const ids = [...ctx.cluster.image().brokers.values()].filter((b) => b.state !== 'removed' && isLive(ctx, b.nodeId)).map((b) => b.nodeId);
  if (!ids.includes(ctx.cluster.nodeId)) ids.push(ctx.cluster.nodeId);
  const answers = await Promise.allSettled(ids.map((id) => askPeer(ctx, local, id, { op: 'local-status' }, PEER_STATUS_TIMEOUT_MS)));
  const out: LocalStatus[] = [];
  for (const a of answers) if (a.status === 'fulfilled' && isLocalStatus(a.value)) out.push(a.value);
  return out;
}

function isLocalStatus(v: unknown): v is LocalStatus {
  const o = v as Partial<LocalStatus> | null;
  return typeof o === 'object' && o !== null && typeof o.nodeId === 'number' && Array.isArray(o.groups) && Array.isArray(o.highWatermarks) && Array.isArray(o.logBytes);
}

/** This broker's own facts, for the others' status. */
export function localStatus(ctx: AdminContext): LocalStatus {
  const image = ctx.cluster.image();
  const highWatermarks: { topic: string; partition: number; hwm: number }[] = [];
  for (const t of image.topics.values()) {
    t.partitionImages.forEach((p, partition) => {
      if (!p.replicas.includes(ctx.cluster.nodeId)) return;
      const r = ctx.cluster.replica(t.name, partition);
      if (r?.isLeader()) highWatermarks.push({ topic: t.name, partition, hwm: r.highWatermark() });
    });
  }
  return {
    nodeId: ctx.cluster.nodeId,
    version: ctx.version,
    groups: ctx.groups().map((g) => ({ groupId: g.groupId, offsets: g.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })) })),
    highWatermarks,
    logBytes: ctx.logSizes().map((l) => ({ topic: l.topic, partition: l.partition, bytes: l.bytes })),
  };
}

export async function clusterStatus(ctx: AdminContext, local: PeerHandler): Promise<ClusterStatus> {
  const statuses = await localStatuses(ctx, local);
  const image = ctx.cluster.image();
  const counts = countsOf(image);
  const versions = new Map(statuses.map((s) => [s.nodeId, s.version]));
  let partitions = 0;
  let under = 0;
  let underMinIsr = 0;
  let offlineCount = 0;
  for (const t of image.topics.values()) {
    const minIsr = Number(ctx.cluster.topicConfig(t.name, 'min.insync.replicas') ?? '1');
    for (const p of t.partitionImages) {
      partitions++;
      if (underReplicated(ctx, p)) under++;
      if (p.isr.filter((r) => isLive(ctx, r)).length < minIsr) underMinIsr++;
      if (offline(ctx, p)) offlineCount++;
    }
  }
  const hwm = new Map<string, number>();
  for (const s of statuses) for (const h of s.highWatermarks) hwm.set(`${h.topic}\u0000${h.partition}`, h.hwm);
  const groups = new Set<string>();
  let lag = 0;
  for (const s of statuses) {
    for (const g of s.groups) {
      groups.add(g.groupId);
      for (const o of g.offsets) {
        const end = hwm.get(`${o.topic}\u0000${o.partition}`);
        if (end !== undefined && o.offset >= 0) lag += Math.max(0, end - o.offset);
      }
    }
  }
  return {
    clusterId: ctx.cluster.clusterId,
    controllerId: ctx.cluster.controllerId(),
    respondingBrokerId: ctx.cluster.nodeId,
    brokers: [...image.brokers.values()].sort((a, b) => a.nodeId - b.nodeId).map((b) => brokerInfoOf(ctx, b, counts, versions.get(b.nodeId) ?? '')),
    topicCount: image.topics.size,
    partitionCount: partitions,
    underReplicatedPartitions: under,
    underMinIsrPartitions: underMinIsr,
    offlinePartitions: offlineCount,
    consumerGroupCount: groups.size,
    totalConsumerLag: lag,
    metadataOffset: ctx.cluster.metadata.applied,
  };
}

export function listPartitions(ctx: AdminContext, topic: string, underOnly: boolean): PartitionInfo[] {
  const image = ctx.cluster.image();
  const out: PartitionInfo[] = [];
  const names = [...image.topics.keys()].filter((n) => topic === '' || n === topic).sort();
  for (const name of names) {
    const t = image.topics.get(name);
    if (!t) continue;
    t.partitionImages.forEach((p, partition) => {
      const view = ctx.cluster.partitionView(name, partition);
      const info: PartitionInfo = {
        topic: name,
        partition,
        leaderId: view?.leader ?? p.leader,
        leaderEpoch: view?.leaderEpoch ?? p.leaderEpoch,
        replicas: [...p.replicas],
        isr: [...(view?.isr ?? p.isr)],
        addingReplicas: [...p.addingReplicas],
        removingReplicas: [...p.removingReplicas],
        underReplicated: underReplicated(ctx, p),
        offline: offline(ctx, p),
      };
      if (!underOnly || info.underReplicated || info.offline) out.push(info);
    });
  }
  return out;
}
