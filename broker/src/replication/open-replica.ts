/**
 * Opens one replica of a partition's raft group on this broker: its log, the raft state in it,
 * the core and the partition state machine, registered with the broker's host loop.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { FileLogManager } from '../log/log-manager.js';
import type { LogConfig } from '../log/types.js';
import type { Timers } from '../platform/timers.js';
import { AbortedTxnIndex } from '../log/txn-index.js';
import { RaftNode } from '../raft/raft.js';
import { SeededRandom } from '../raft/random.js';
import type { HardStateJournal } from './hard-state-journal.js';
import { checkLostTail, noteRecovered } from './lost-tail.js';
import type { PartitionLimits } from './types.js';
import { PartitionRaftStorage } from './partition-raft-storage.js';
import type { RaftHost } from './raft-host.js';
import { RaftPartition, raftId } from './raft-partition.js';
import { StateMachineReplica, type ReplicatedState } from './state-machine-replica.js';
import type { RecordsFetch } from './snapshot-records.js';

export interface RaftTiming {
  /** Ticks without a leader before a follower campaigns (randomised in [n, 2n)). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export interface OpenReplicaOptions {
  readonly host: RaftHost;
  readonly logManager: FileLogManager;
  readonly journal: HardStateJournal;
  readonly topic: string;
  readonly partition: number;
  readonly group: number;
  readonly nodeId: number;
  /** Founding voters (node ids) of a new group; ignored when the replica has raft state. */
  readonly voters: readonly number[];
  readonly learners?: readonly number[];
  readonly logConfig: LogConfig;
  readonly limits: () => PartitionLimits;
  readonly minInsyncReplicas: () => number;
  readonly replicaLagTimeMaxMs: number;
  readonly timing: RaftTiming;
  readonly logger: Logger;
  /** Whether the topic's cleanup.policy includes compact (default: never). */
  readonly compacted?: () => boolean;
  /** Campaign at once rather than after an election timeout (the preferred replica of a new group). */
  readonly campaign?: boolean;
  /** Copies a snapshot's records from a peer (see snapshot-records.ts); lets RF>1 compacted partitions be cleaned. */
  readonly fetchRecords?: RecordsFetch;
  /** Seed of the core's election-timeout randomness (default: a random one). */
  readonly randomSeed?: number;
  /** Wall clock for timestamps and ISR lag (default Date.now). */
  readonly now?: () => number;
  /** Long-poll timers (default: Node's). */
  readonly timers?: Timers;
  /** Opened again after its raft group failed (replica-revival.ts): its log was cut while running. */
  readonly reopened?: boolean;
}

/** A group whose only voter is this broker need not wait for an election timeout. */
function isLoneVoter(node: RaftNode, nodeId: number): boolean {
  const voters = node.conf.voters;
  return voters.length === 1 && voters[0] === raftId(nodeId);
}

export async function openReplica(o: OpenReplicaOptions): Promise<RaftPartition> {
  const log = await o.logManager.open(o.topic, o.partition, o.logConfig);
  const txnIndex = await AbortedTxnIndex.open(log.dir, log.fs);
  const applied = o.journal.get(o.group)?.commit ?? 0;
  const restore = RaftPartition.restorer(applied);
  const storage = await PartitionRaftStorage.open({
    group: o.group,
    log,
    journal: o.journal,
    initialConf: { voters: o.voters.map(raftId), learners: (o.learners ?? []).map(raftId) },
    logger: o.logger,
    onSnapshot: restore.begin,
    onStored: restore.visit,
    recordsBelowSnapshot: o.compacted?.() === true,
    now: o.now,
  });
  log.setDeletionFloor(storage.snapshotOffset());
  const where = { topic: o.topic, partition: o.partition };
  const recovery = await checkLostTail(o.group, raftId(o.nodeId), storage, o.journal, o.logger, where, o.reopened === true);
  const node = new RaftNode({
    id: raftId(o.nodeId),
    group: o.group,
    storage,
    random: new SeededRandom(o.randomSeed ?? randomInt(1, 2 ** 31)),
    electionTicks: o.timing.electionTicks,
    heartbeatTicks: o.timing.heartbeatTicks,
    applied: storage.hardState().commit,
    incarnation: recovery.incarnation,
    ...(recovery.recoverTo !== null ? { recoverTo: recovery.recoverTo } : {}),
  });
  const partition = new RaftPartition({
    topic: o.topic,
    partition: o.partition,
    group: o.group,
    nodeId: o.nodeId,
    node,
    storage,
    log,
    host: o.host,
    limits: o.limits,
    minInsyncReplicas: o.minInsyncReplicas,
    replicaLagTimeMaxMs: o.replicaLagTimeMaxMs,
    compacted: o.compacted ?? (() => false),
    ...(o.fetchRecords !== undefined ? { fetchRecords: o.fetchRecords } : {}),
    txnIndex,
    logger: o.logger,
    now: o.now,
    timers: o.timers,
  });
  partition.adoptRestored(restore);
  o.host.addGroup({ id: o.group, node, storage, machine: partition, onRecovered: () => noteRecovered(o.group, node.incarnation, o.journal, o.logger, where), label: where });
  if (o.campaign === true || isLoneVoter(node, o.nodeId)) {
    node.campaign();
    o.host.wake(o.group);
  }
  return partition;
}

export interface OpenStateMachineOptions {
  readonly host: RaftHost;
  readonly logManager: FileLogManager;
  readonly journal: HardStateJournal;
  /** The log directory's name: `<topic>-<partition>` under the data dir. */
  readonly topic: string;
  readonly partition: number;
  readonly group: number;
  readonly nodeId: number;
  readonly voters: readonly number[];
  readonly learners?: readonly number[];
  readonly logConfig: LogConfig;
  readonly state: ReplicatedState;
  readonly timing: RaftTiming;
  readonly logger: Logger;
  readonly snapshotEvery?: number;
  /** Seeds the node's election timeouts (random by default; fixed in the system simulator). */
  readonly randomSeed?: number;
}

export async function openStateMachineReplica(o: OpenStateMachineOptions): Promise<StateMachineReplica> {
  const log = await o.logManager.open(o.topic, o.partition, o.logConfig);
  const storage = await PartitionRaftStorage.open({
    group: o.group,
    log,
    journal: o.journal,
    initialConf: { voters: o.voters.map(raftId), learners: (o.learners ?? []).map(raftId) },
    logger: o.logger,
    replayFromSnapshot: true,
  });
  const where = { topic: o.topic, partition: o.partition };
  const recovery = await checkLostTail(o.group, raftId(o.nodeId), storage, o.journal, o.logger, where);
  const node = new RaftNode({
    id: raftId(o.nodeId),
    group: o.group,
    storage,
    random: new SeededRandom(o.randomSeed ?? randomInt(1, 2 ** 31)),
    electionTicks: o.timing.electionTicks,
    heartbeatTicks: o.timing.heartbeatTicks,
    // The state lives in memory: replay everything after the snapshot.
    applied: storage.snapshot().index,
    incarnation: recovery.incarnation,
    ...(recovery.recoverTo !== null ? { recoverTo: recovery.recoverTo } : {}),
  });
  const replica = new StateMachineReplica({
    group: o.group,
    nodeId: o.nodeId,
    node,
    storage,
    log,
    host: o.host,
    state: o.state,
    logger: o.logger,
    ...(o.snapshotEvery !== undefined ? { snapshotEvery: o.snapshotEvery } : {}),
  });
  o.host.addGroup({ id: o.group, node, storage, machine: replica, onRecovered: () => noteRecovered(o.group, node.incarnation, o.journal, o.logger, where), label: where });
  if (isLoneVoter(node, o.nodeId)) {
    node.campaign();
    o.host.wake(o.group);
  }
  return replica;
}
