/**
 * The system simulator: brokers running the real replication host loop (RaftHost), partition
 * state machines (RaftPartition via openReplica) and partition logs (FileLogManager, the group
 * committer, the hard-state journal) over simulated disks (sim-disk.ts) and a simulated network
 * (sim-network.ts), all on one virtual clock (sim-loop.ts). Idempotent producers, a plain
 * producer and consumers drive the partitions through the same calls the Kafka API handlers
 * make; crashes, restarts, partitions and bad weather come from the seed's script. The Kafka
 * model (kafka-model.ts) checks after every event, on every acknowledgement and consumer read,
 * in audits of every replica's committed log, and at the end. Each broker also runs the real
 * group coordinator over its replica of a replicated `__consumer_offsets` partition
 * (sim-offsets.ts), and consumers' offset commits and fetches are checked against the offsets
 * model (offsets-model.ts).
 *
 * After the script the faults stop: every broker restarts (liveness 'full'), or only a quorum
 * does and the rest stay down ('core'). Within a bound every partition must then have a leader
 * in that set, take a fresh write, and every acknowledged write must be on each of its replicas.
 */
import pino, { type Logger } from 'pino';
import { Controller } from '../../../src/cluster/controller.js';
import type { ControllerReply, ControllerRequest } from '../../../src/cluster/controller-protocol.js';
import { MetadataMachine } from '../../../src/cluster/metadata-machine.js';
import { OFFSETS_TOPIC } from '../../../src/coordinator/group-partition.js';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { BatchField, LOG_OVERHEAD, RecordBatchError, buildRecordBatch, checkBatch, readInt64 } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import type { LogConfig, ReadResult } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { FileSystem } from '../../../src/platform/file-system.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { Role } from '../../../src/raft/types.js';
import { HardStateJournal } from '../../../src/replication/hard-state-journal.js';
import { openReplica, openStateMachineReplica, type OpenReplicaOptions } from '../../../src/replication/open-replica.js';
import { ReplicaRevival, reopenReplica } from '../../../src/replication/replica-revival.js';
import { RaftHost, type GroupMachine } from '../../../src/replication/raft-host.js';
import { raftId, type RaftPartition } from '../../../src/replication/raft-partition.js';
import type { StateMachineReplica } from '../../../src/replication/state-machine-replica.js';
import { InvariantViolation } from '../invariants.js';
import { KafkaModel, type ModelStats } from './kafka-model.js';
import { OffsetsModel, type OffsetsStats } from './offsets-model.js';
import { generateSystemScenario, TOLERATED_DISK_FAULTS, type DiskFaultSet, type SystemAction, type SystemShape } from './scenario.js';
import { SimDisk, type DiskStats } from './sim-disk.js';
import { METADATA_GROUP, METADATA_TOPIC, MetadataModel, SIM_CLUSTER_ID, metadataRequest, seededTopicId, watchMetadataGroup, type MetadataStats } from './sim-metadata.js';
import { NodeTimers, SimLoop } from './sim-loop.js';
import { CALM, SimNetwork, type NetStats, type Weather } from './sim-network.js';
import { OFFSETS_RAFT_GROUP, openOffsetsNode, type OffsetsNode } from './sim-offsets.js';

/** Bugs the simulator must catch, planted on purpose by the tests that prove it has teeth. */
export type PlantedBug =
  /** A leader answers acks=all once its own log is durable, before a quorum has the entry. */
  | 'ack-before-quorum'
  /** Segment and hard-state journal fsyncs return without making anything durable: the log acknowledges before its data is on disk. */
  | 'fsync-lies'
  /** One metadata replica skips applying one committed record (a nondeterministic state machine). */
  | 'metadata-diverges'
  /** Loading the offsets partition drops its newest offset record (a new coordinator forgets the last commit). */
  | 'offsets-lost';

export const PLANTED_BUGS: readonly PlantedBug[] = ['ack-before-quorum', 'fsync-lies', 'metadata-diverges', 'offsets-lost'];

export interface SystemOptions {
  readonly seed: number;
  readonly steps: number;
  /** Script positions to run (all when absent); used to replay a shrunk failure. */
  readonly keep?: ReadonlySet<number>;
  readonly trace?: boolean;
  readonly diskFaults?: DiskFaultSet;
  readonly plant?: PlantedBug;
}

export interface SystemStats {
  events: number;
  actions: number;
  produced: number;
  crashes: number;
  restarts: number;
  startFailures: number;
  elections: number;
  /** Failed partition replicas opened again from disk (replica-revival.ts). */
  revivals: number;
  /** Damage the audit found that the replica's scrub found too (it then recovers). */
  scrubFinds: number;
  model: ModelStats;
  metadata: MetadataStats;
  offsets: OffsetsStats;
  net: NetStats;
  disk: DiskStats;
}

export interface SystemResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly property?: string;
  readonly message?: string;
  readonly traceHash: number;
  readonly trace: string[];
  readonly stats: SystemStats;
  readonly virtualMs: number;
}

const TOPIC = 'sim';
const GROUP_BASE = 100;
const DATA = '/data';
/** Virtual time after the faults stop within which the cluster must be whole again. */
const LIVENESS_MS = 20_000;
const AUDIT_EVERY_MS = 1_500;
/** When consumers start committing offsets, and the gap between their requests (virtual ms). */
const OFFSETS_FIRST_MS = 300;
const OFFSETS_GAP_MS = [50, 200] as const;
const READ_BYTES = 16 * 1024;
/** Reads of one stretch of a replica's log before the audit calls it corrupt (see readVerified). */
const AUDIT_READ_ATTEMPTS = 8;
/** Errors a producer retries (the others end its stream and fail the run). */
const RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
]);

interface Broker {
  readonly id: number;
  inc: number;
  state: 'down' | 'starting' | 'up';
  timers: NodeTimers | null;
  disk: SimDisk | null;
  logs: FileLogManager | null;
  host: RaftHost | null;
  journal: HardStateJournal | null;
  readonly replicas: Map<number, RaftPartition>;
  /** The group coordinator over this broker's replica of `__consumer_offsets`-0. */
  offsets: OffsetsNode | null;
  machine: MetadataMachine | null;
  metadata: StateMachineReplica | null;
  controller: Controller | null;
  /** Whether this incarnation's registration was acknowledged. */
  registered: boolean;
  /** Why the last start failed, if it did. */
  startError: string | null;
  lastRole: Map<number, string>;
  /** Times each partition's replica was opened again in this incarnation (replica-revival.ts). */
  readonly revived: Map<number, number>;
}

interface Attempt {
  readonly at: number;
  settled: boolean;
}

interface Pending {
  readonly seq: number;
  readonly count: number;
  readonly bytes: Buffer;
  attempts: Attempt[];
  acked: boolean;
}

interface Stream {
  readonly producerId: number;
  readonly partition: number;
  nextSeq: number;
  pending: Pending | null;
}

interface Consumer {
  position: number;
  hwm: number;
}

/** A consumer group's client committing offsets (generation -1: no group management), one request at a time. */
interface Committer {
  readonly group: string;
  /** Partitions of TOPIC it consumes, with the next offset it will commit. */
  readonly next: Map<number, number>;
  inFlight: boolean;
  /** Commits acknowledged in the finale (liveness: the coordinator must come back and take one). */
  finalAcked: boolean;
}

export function runSystemSimulation(opts: SystemOptions): Promise<SystemResult> {
  return new SystemWorld(opts).run();
}

class SystemWorld {
  private readonly loop = new SimLoop();
  private readonly shape: SystemShape;
  private readonly actions: SystemAction[];
  private readonly net: SimNetwork;
  private readonly model: KafkaModel;
  private readonly meta = new MetadataModel();
  private readonly brokers: Broker[] = [];
  private readonly streams: Stream[] = [];
  private readonly consumers: Consumer[] = [];
  private readonly committers: Committer[] = [];
  private readonly offsetsModel = new OffsetsModel();
  private readonly offsetsRng: SeededRandom;
  private readonly rng: SeededRandom;
  private readonly faults: DiskFaultSet;
  private readonly tracing: boolean;
  private readonly trace: string[] = [];
  private traceHash = 0x811c9dc5;
  private failure: Error | null = null;
  /** Replicas (`broker/partition`) recovering from damage their scrub found (see scrubFinds). */
  private readonly healing = new Set<string>();
  private calm = false;
  private nextValue = 0;
  private readonly stats: Omit<SystemStats, 'model' | 'metadata' | 'offsets' | 'net' | 'disk' | 'events'>;

  constructor(private readonly opts: SystemOptions) {
    this.faults = opts.diskFaults ?? TOLERATED_DISK_FAULTS;
    this.shape = generateSystemScenario(opts.seed, opts.steps, this.faults);
    this.actions = opts.keep === undefined ? this.shape.actions : this.shape.actions.filter((a) => opts.keep?.has(a.n));
    this.rng = new SeededRandom(opts.seed ^ 0x2545f491);
    this.net = new SimNetwork(this.loop, opts.seed ^ 0x68e31da4);
    this.model = new KafkaModel(this.shape.partitions);
    this.tracing = opts.trace === true;
    this.stats = { actions: 0, produced: 0, crashes: 0, restarts: 0, startFailures: 0, elections: 0, revivals: 0, scrubFinds: 0 };
    for (let id = 0; id < this.shape.brokers; id++) {
      this.brokers.push({
        id,
        inc: 0,
        state: 'down',
        timers: null,
        disk: null,
        logs: null,
        host: null,
        journal: null,
        replicas: new Map(),
        offsets: null,
        machine: null,
        metadata: null,
        controller: null,
        registered: false,
        startError: null,
        lastRole: new Map(),
        revived: new Map(),
      });
    }
    for (let k = 0; k < this.shape.producers; k++) {
      for (let p = 0; p < this.shape.partitions; p++) this.streams.push({ producerId: 1000 + k, partition: p, nextSeq: 0, pending: null });
    }
    for (let p = 0; p < this.shape.partitions; p++) {
      this.streams.push({ producerId: -1, partition: p, nextSeq: 0, pending: null });
      this.consumers.push({ position: 0, hwm: 0 });
    }
    // The offsets workload draws from its own generator, so the script's choices stay as they were.
    this.offsetsRng = new SeededRandom(opts.seed ^ 0x0ff5e7);
    const groups = 2 + this.offsetsRng.nextInt(2);
    for (let g = 0; g < groups; g++) {
      const next = new Map<number, number>();
      for (let p = 0; p < this.shape.partitions; p++) if (p === g % this.shape.partitions || this.offsetsRng.chance(0.5)) next.set(p, 0);
      this.committers.push({ group: `group-${g}`, next, inFlight: false, finalAcked: false });
    }
  }

  // ------------------------------------------------------------------ the run

  async run(): Promise<SystemResult> {
    const onUnhandled = (reason: unknown): void => {
      this.fail(new InvariantViolation('no unhandled rejection', `broker code left a promise rejection unhandled: ${errText(reason)}`));
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const b of this.brokers) this.start(b);
      let calmAt = 2000;
      for (const a of this.actions) {
        this.loop.at(a.at, () => this.act(a));
        calmAt = Math.max(calmAt, a.at + 1);
      }
      this.loop.at(calmAt, () => void this.finale().catch((err: unknown) => this.fail(toError(err))));
      this.loop.at(AUDIT_EVERY_MS, () => this.auditRound());
      this.loop.at(OFFSETS_FIRST_MS, () => this.offsetsRound());
      await this.loop.run(calmAt + LIVENESS_MS + 30_000, () => this.check());
      if (this.failure === null && !this.done) throw new InvariantViolation('liveness', 'the run did not finish');
      if (this.failure !== null) throw this.failure;
      return this.result(true);
    } catch (err) {
      const e = this.failure ?? toError(err);
      const property = e instanceof InvariantViolation ? e.property : 'simulator or broker error';
      this.note(`VIOLATION ${e.message}`);
      if (this.tracing) this.dumpState();
      return this.result(false, property, e instanceof InvariantViolation ? e.message : `${e.message}\n${e.stack ?? ''}`);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }

  private done = false;

  private result(ok: boolean, property?: string, message?: string): SystemResult {
    return {
      seed: this.opts.seed,
      ok,
      ...(property !== undefined ? { property } : {}),
      ...(message !== undefined ? { message } : {}),
      traceHash: this.traceHash >>> 0,
      trace: this.trace,
      stats: {
        ...this.stats,
        events: this.loop.events,
        model: { ...this.model.stats },
        metadata: { ...this.meta.stats },
        offsets: { ...this.offsetsModel.stats },
        net: { ...this.net.stats },
        disk: this.diskTotals(),
      },
      virtualMs: Math.round(this.loop.now),
    };
  }

  private diskTotals(): DiskStats {
    const t: DiskStats = { reads: 0, writes: 0, fsyncs: 0, flips: 0, misdirects: 0, tornAtCrash: 0, lostAtCrash: 0 };
    for (const b of this.brokers) {
      if (b.disk === null) continue;
      for (const k of Object.keys(t) as (keyof DiskStats)[]) t[k] += b.disk.stats[k];
    }
    return t;
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    this.loop.stop();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.loop.at(this.loop.now + ms, resolve));
  }

  // ------------------------------------------------------------------ brokers

  private replicasOf(p: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.shape.replicationFactor; i++) out.push((p + i) % this.shape.brokers);
    return out;
  }

  private logConfig(): LogConfig {
    return {
      segmentBytes: this.shape.segmentBytes,
      segmentMs: 7 * 24 * 3600_000,
      retentionMs: -1,
      retentionBytes: this.shape.retentionBytes,
      indexIntervalBytes: this.shape.indexIntervalBytes,
      cleanupPolicy: 'delete',
      timestampType: 'CreateTime',
    };
  }

  private diskFor(b: Broker, timers: NodeTimers): SimDisk {
    const r = this.shape.disk;
    const seed = (this.opts.seed * 131 + b.id * 7919 + b.inc * 104729) | 0;
    if (b.disk === null) {
      const f = this.faults;
      const faulty = (file: string): boolean =>
        !this.calm &&
        (file.endsWith('.log') ? f.flips || f.misdirect : file.endsWith('hardstate.journal') ? f.journalFlips : f.recordFlips);
      const disk = new SimDisk(
        timers,
        {
          flipPerRead: r.flipPerRead,
          misdirectPerWrite: r.misdirectPerWrite,
          loseAllAtCrash: r.loseAllAtCrash,
          reorderAtCrash: r.reorderAtCrash,
          tearAtCrash: r.tearAtCrash,
          faultyFiles: faulty,
          headerFlips: f.headerFlips,
          readMs: r.readMs,
          writeMs: r.writeMs,
          fsyncMs: r.fsyncMs,
          fsyncLies: this.opts.plant === 'fsync-lies',
        },
        seed,
      );
      // The broker's data directory exists before it first starts (a mounted volume).
      disk.provision(`${DATA}/b${b.id}`);
      return disk;
    }
    return b.disk.crash(timers, seed);
  }

  private logger(b: Broker): Logger {
    if (!this.tracing) return silentLogger();
    return pino(
      { level: 'info', base: { broker: b.id }, timestamp: false },
      { write: (line: string) => this.note(`  log b${b.id}: ${line.trim()}`) },
    );
  }

  private start(b: Broker): void {
    if (b.state !== 'down') return;
    b.inc++;
    const timers = new NodeTimers(this.loop, this.shape.tickRates[b.id] as number, new SeededRandom(this.opts.seed * 17 + b.id * 31 + b.inc));
    b.timers = timers;
    b.disk = this.diskFor(b, timers);
    b.state = 'starting';
    b.replicas.clear();
    b.revived.clear();
    b.offsets = null;
    b.lastRole.clear();
    b.registered = false;
    const inc = b.inc;
    this.note(`broker ${b.id} starts (incarnation ${inc})`);
    this.mix(10, b.id, inc);
    this.boot(b, timers, b.disk).then(
      () => {
        if (b.inc !== inc || !timers.alive) return;
        b.state = 'up';
        b.startError = null;
        this.note(`broker ${b.id} is up: ${[...b.replicas].map(([p, r]) => `p${p} term ${r.node.term} log ${r.node.firstIndex}..${r.node.lastIndex} commit ${r.node.commitIndex} offsets [${r.logStartOffset()}, ${r.logEndOffset()}) hwm ${r.highWatermark()}`).join('; ')}`);
      },
      (err: unknown) => {
        if (b.inc !== inc || !timers.alive) return;
        // A broker that cannot open its data exits; the operator (here: a later restart) tries again.
        this.stats.startFailures++;
        b.startError = errText(err);
        this.note(`broker ${b.id} failed to start: ${b.startError}`);
        this.crashBroker(b, 'start failure');
      },
    );
  }

  private async boot(b: Broker, timers: NodeTimers, fs: FileSystem): Promise<void> {
    const logger = this.logger(b);
    const logs = new FileLogManager({ dataDir: `${DATA}/b${b.id}`, logger, fs, timers, lingerMs: this.shape.lingerMs, now: () => Math.floor(this.loop.now) });
    b.logs = logs;
    const journal = await HardStateJournal.open(`${DATA}/b${b.id}/raft`, logs.committer, logger);
    b.journal = journal;
    const host = new RaftHost({ nodeId: b.id, sink: this.net.sinkFor(b.id), logger, tickMs: this.shape.tickMs, timers });
    if (this.opts.plant === 'ack-before-quorum') plantAckBeforeQuorum(host);
    b.host = host;
    this.net.attach(b.id, host, timers, this.brokers.map((x) => x.id));
    await this.bootMetadata(b, host, logs, journal, timers, logger);
    const partitionOptions = (p: number, replicas: number[], campaign: boolean): OpenReplicaOptions => ({
      host,
      logManager: logs,
      journal,
      topic: TOPIC,
      partition: p,
      group: GROUP_BASE + p,
      nodeId: b.id,
      voters: replicas,
      logConfig: this.logConfig(),
      limits: () => ({ maxMessageBytes: 1 << 20, timestampType: 'CreateTime', timestampDifferenceMaxMs: Infinity }),
      minInsyncReplicas: () => this.shape.minInsync,
      replicaLagTimeMaxMs: this.shape.replicaLagMs,
      timing: { electionTicks: this.shape.electionTicks, heartbeatTicks: this.shape.heartbeatTicks },
      logger,
      campaign,
      randomSeed: (this.opts.seed * 7 + b.id * 1013 + b.inc * 37 + p) | 0 || 1,
      now: () => Math.floor(this.loop.now),
      timers,
    });
    for (let p = 0; p < this.shape.partitions; p++) {
      const replicas = this.replicasOf(p);
      if (!replicas.includes(b.id)) continue;
      b.replicas.set(p, await openReplica(partitionOptions(p, replicas, b.inc === 1 && replicas[0] === b.id)));
    }
    // A data partition's group that fails is opened again from disk, as the broker does.
    const revival = new ReplicaRevival({ logger, timers });
    const inc = b.inc;
    host.onGroupFailed = (group, err) => {
      const p = group - GROUP_BASE;
      const failed = b.replicas.get(p);
      if (p < 0 || p >= this.shape.partitions || failed === undefined) return;
      this.note(`broker ${b.id} p${p}: raft group failed (${err.message}); opening it again`);
      revival.schedule(group, err, async () => {
        if (b.inc !== inc || b.state !== 'up' || b.replicas.get(p) !== failed) return;
        const again = await reopenReplica(failed, err, host, logger, () => openReplica({ ...partitionOptions(p, this.replicasOf(p), false), reopened: true }));
        if (b.inc !== inc) return;
        b.replicas.set(p, again);
        b.revived.set(p, (b.revived.get(p) ?? 0) + 1);
        this.stats.revivals++;
      });
    };
    await this.bootOffsets(b, host, logs, journal, timers, logger);
    host.start();
    b.controller?.start();
    void this.register(b, b.inc);
    timers.setInterval(() => {
      const all = b.offsets === null ? [...b.replicas.values()] : [...b.replicas.values(), b.offsets.replica];
      for (const r of all) {
        r.applyRetention(Math.floor(this.loop.now)).catch((err: unknown) => this.note(`broker ${b.id} retention failed: ${errText(err)}`));
      }
    }, this.shape.retentionEveryMs);
  }

  /** A broker's replica of data partition `p`, or of the offsets partition for p = partitions. */
  private replicaOf(b: Broker, p: number): RaftPartition | undefined {
    return p < this.shape.partitions ? b.replicas.get(p) : (b.offsets?.replica ?? undefined);
  }

  /** The offsets partition's replicas: placed as one more partition after the data partitions. */
  private offsetsReplicas(): number[] {
    return this.replicasOf(this.shape.partitions);
  }

  /**
   * This broker's replica of `__consumer_offsets`-0 (compacted, as the broker creates it; its
   * cleaner is not started, as in the rest of the simulator) and the group coordinator on it.
   */
  private async bootOffsets(b: Broker, host: RaftHost, logs: FileLogManager, journal: HardStateJournal, timers: NodeTimers, logger: Logger): Promise<void> {
    const replicas = this.offsetsReplicas();
    if (!replicas.includes(b.id)) return;
    const replica = await openReplica({
      host,
      logManager: logs,
      journal,
      topic: OFFSETS_TOPIC,
      partition: 0,
      group: OFFSETS_RAFT_GROUP,
      nodeId: b.id,
      voters: replicas,
      logConfig: { ...this.logConfig(), retentionBytes: -1, cleanupPolicy: 'compact' },
      limits: () => ({ maxMessageBytes: 1 << 20, timestampType: 'CreateTime', timestampDifferenceMaxMs: Infinity }),
      minInsyncReplicas: () => this.shape.minInsync,
      replicaLagTimeMaxMs: this.shape.replicaLagMs,
      timing: { electionTicks: this.shape.electionTicks, heartbeatTicks: this.shape.heartbeatTicks },
      logger,
      compacted: () => true,
      campaign: b.inc === 1 && replicas[0] === b.id,
      randomSeed: (this.opts.seed * 13 + b.id * 3079 + b.inc * 41) | 0 || 1,
      now: () => Math.floor(this.loop.now),
      timers,
    });
    b.offsets = openOffsetsNode({
      nodeId: b.id,
      replica,
      replicas,
      timers,
      now: () => Math.floor(this.loop.now),
      logger,
      partitionExists: (topic, partition) => topic === TOPIC && partition >= 0 && partition < this.shape.partitions,
      dropLastOnLoad: this.opts.plant === 'offsets-lost',
    });
  }

  /** The metadata group's initial voters: the first three brokers (as a cluster's seed voters would be). */
  private metadataVoters(): number[] {
    return this.brokers.slice(0, 3).map((b) => b.id);
  }

  /** The metadata state machine and the controller, opened as the broker's cluster module does. */
  private async bootMetadata(b: Broker, host: RaftHost, logs: FileLogManager, journal: HardStateJournal, timers: NodeTimers, logger: Logger): Promise<void> {
    const machine = new MetadataMachine(SIM_CLUSTER_ID, logger);
    b.machine = machine;
    const inc = b.inc;
    watchMetadataGroup(host, machine, this.meta, () => `broker ${b.id} (incarnation ${inc})`, (err) => this.fail(err), this.opts.plant === 'metadata-diverges' && b.id === 1);
    const voters = this.metadataVoters();
    const metadata = await openStateMachineReplica({
      host,
      logManager: logs,
      journal,
      topic: METADATA_TOPIC,
      partition: 0,
      group: METADATA_GROUP,
      nodeId: b.id,
      // A broker outside the founding voters starts with no configuration and waits to be added.
      voters: voters.includes(b.id) ? voters : [],
      logConfig: { ...this.logConfig(), retentionBytes: -1 },
      state: machine,
      timing: { electionTicks: this.shape.electionTicks, heartbeatTicks: this.shape.heartbeatTicks },
      logger,
      snapshotEvery: this.shape.metadataSnapshotEvery,
      randomSeed: (this.opts.seed * 11 + b.id * 2039 + b.inc * 53) | 0 || 1,
    });
    b.metadata = metadata;
    const ids = new SeededRandom(this.opts.seed * 23 + b.id * 977 + b.inc);
    const controller = new Controller({
      nodeId: b.id,
      replica: metadata,
      machine,
      initialVoters: voters,
      brokerDefaults: () => ({}),
      isLive: (id) => id === b.id || (this.brokers[id]?.state === 'up' && this.net.canSend(b.id, id)),
      logger,
      timers,
      newTopicId: () => seededTopicId(ids),
    });
    b.controller = controller;
    metadata.onLeaderChange = () => controller.onLeaderChange();
  }

  /** Sends `req` to a broker that says it is the controller, from `from` (a broker, or -1 for an admin client). */
  private async controllerRequest(req: ControllerRequest, from: number, rng: SeededRandom): Promise<'ok' | 'refused' | 'no-controller'> {
    const leaders = this.brokers.filter(
      (c) => c.state === 'up' && c.controller?.active === true && (from < 0 || c.id === from || (this.net.canSend(from, c.id) && this.net.canSend(c.id, from))),
    );
    if (leaders.length === 0) return 'no-controller';
    const c = leaders[rng.nextInt(leaders.length)] as Broker;
    const inc = c.inc;
    this.meta.stats.requests++;
    this.mix(50, c.id, this.meta.stats.requests);
    // The client gives up after its request timeout (a controller that crashed never answers).
    const reply = await new Promise<ControllerReply | null>((resolve, reject) => {
      this.loop.at(this.loop.now + this.shape.requestTimeoutMs, () => resolve(null));
      (c.controller as Controller).handle(req).then(resolve, reject);
    });
    // A reply from an incarnation that crashed meanwhile never reached the client.
    if (reply === null || c.inc !== inc || c.state === 'down') {
      this.meta.stats.refused++;
      return 'no-controller';
    }
    if (!reply.ok) {
      this.meta.stats.refused++;
      this.note(`controller ${c.id}: ${req.op} refused (${reply.code} ${reply.message})`);
      return reply.code === ErrorCode.NOT_CONTROLLER ? 'no-controller' : 'refused';
    }
    this.note(`controller ${c.id}: ${req.op} committed at metadata index ${reply.index}`);
    this.meta.acked(req, reply.index, reply.value, (c.machine as MetadataMachine).state, `controller ${c.id} (incarnation ${inc})`);
    return 'ok';
  }

  /** An admin client's request: on NOT_CONTROLLER (or none known) it tries again soon, up to its timeout. */
  private async adminRequest(req: ControllerRequest, rng: SeededRandom): Promise<void> {
    const deadline = this.loop.now + this.shape.requestTimeoutMs;
    while (this.failure === null && !this.calm && (await this.controllerRequest(req, -1, rng)) === 'no-controller' && this.loop.now < deadline) {
      await this.sleep(5 + rng.nextInt(20));
    }
  }

  /** A broker registers its incarnation with the controller, retrying until it is acknowledged. */
  private async register(b: Broker, inc: number): Promise<void> {
    const rng = new SeededRandom(this.opts.seed * 29 + b.id * 131 + inc);
    while (b.inc === inc && b.state !== 'down' && this.failure === null) {
      const req: ControllerRequest = {
        op: 'register-broker',
        broker: { clusterId: SIM_CLUSTER_ID, nodeId: b.id, incarnationId: `b${b.id}-i${inc}`, kafka: { host: `b${b.id}`, port: 9092 }, raft: { host: `b${b.id}`, port: 9093 }, admin: null, rack: null },
      };
      try {
        if ((await this.controllerRequest(req, b.id, rng)) === 'ok') {
          if (b.inc === inc) b.registered = true;
          return;
        }
      } catch (err) {
        this.fail(toError(err));
        return;
      }
      await this.sleep(200);
    }
  }

  private crashBroker(b: Broker, why: string): void {
    if (b.state === 'down' || b.timers === null) return;
    b.timers.alive = false;
    this.net.detach(b.id);
    b.state = 'down';
    b.host = null;
    b.logs = null;
    b.journal = null;
    b.replicas.clear();
    b.offsets = null;
    b.machine = null;
    b.metadata = null;
    b.controller = null;
    b.registered = false;
    this.stats.crashes++;
    this.mix(11, b.id, b.inc);
    this.note(`broker ${b.id} crashes (${why}); unsynced writes are at the disk's mercy`);
  }

  // ------------------------------------------------------------------ actions

  private act(a: SystemAction): void {
    this.stats.actions++;
    this.mix(20, a.n, 0);
    const rng = new SeededRandom(a.seed);
    const up = this.brokers.filter((b) => b.state === 'up');
    const any = (): Broker => this.brokers[rng.nextInt(this.brokers.length)] as Broker;
    switch (a.kind) {
      case 'produce': {
        const s = this.streams[rng.nextInt(this.streams.length)] as Stream;
        this.produce(s, rng);
        return;
      }
      case 'metadata': {
        const viewers = up.filter((b) => b.machine !== null);
        if (viewers.length === 0) return;
        const image = (viewers[rng.nextInt(viewers.length)] as Broker).machine as MetadataMachine;
        const req = metadataRequest(rng, image.state, this.brokers.length);
        void this.adminRequest(req, rng).catch((err: unknown) => this.fail(toError(err)));
        return;
      }
      case 'consume': {
        void this.consume(rng.nextInt(this.shape.partitions), rng).catch((err: unknown) => this.fail(toError(err)));
        return;
      }
      case 'crash': {
        const b = any();
        if (b.state !== 'down') this.crashBroker(b, 'scripted');
        return;
      }
      case 'crash-leader': {
        // Any partition's leader, the offsets partition's (the group coordinator) included.
        const p = rng.nextInt(this.shape.partitions + 1);
        const leaders = up.filter((b) => this.replicaOf(b, p)?.isLeader() === true);
        if (leaders.length > 0) this.crashBroker(leaders[rng.nextInt(leaders.length)] as Broker, p < this.shape.partitions ? `leader of p${p}` : `coordinator (leader of ${OFFSETS_TOPIC}-0)`);
        return;
      }
      case 'crash-mid-write': {
        // Power fails right after one of the broker's next few writes lands, before its fsync.
        const b = any();
        const disk = b.disk;
        if (b.state === 'down' || disk === null) return;
        let left = 1 + rng.nextInt(8);
        const inc = b.inc;
        disk.onWritten = () => {
          if (--left > 0) return;
          disk.onWritten = null;
          if (b.inc === inc) this.crashBroker(b, 'power lost mid-write');
        };
        return;
      }
      case 'restart': {
        const down = this.brokers.filter((b) => b.state === 'down');
        if (down.length > 0) {
          this.stats.restarts++;
          this.start(down[rng.nextInt(down.length)] as Broker);
        }
        return;
      }
      case 'partition': {
        const side = this.brokers.map(() => rng.nextInt(2));
        for (const x of this.brokers) for (const y of this.brokers) if (side[x.id] !== side[y.id]) this.net.cut(x.id, y.id);
        this.note(`partition: ${side.join('')}`);
        return;
      }
      case 'isolate': {
        const b = any();
        for (const o of this.brokers) {
          if (o.id === b.id) continue;
          this.net.cut(b.id, o.id);
          this.net.cut(o.id, b.id);
        }
        this.note(`broker ${b.id} isolated`);
        return;
      }
      case 'one-way': {
        const x = any();
        const y = any();
        if (x.id !== y.id) {
          this.net.cut(x.id, y.id);
          this.note(`link ${x.id} -> ${y.id} cut (one way)`);
        }
        return;
      }
      case 'heal':
        this.net.heal();
        this.note('network healed');
        return;
      case 'weather': {
        const s = this.shape.stormiest;
        const f = rng.nextFloat();
        const w: Weather = {
          drop: s.drop * f,
          duplicate: s.duplicate * rng.nextFloat(),
          reorder: s.reorder * rng.nextFloat(),
          minDelayMs: s.minDelayMs,
          maxDelayMs: Math.max(s.minDelayMs + 0.5, s.maxDelayMs * rng.nextFloat()),
        };
        this.net.weather = w;
        this.note(`weather: drop ${w.drop.toFixed(3)} dup ${w.duplicate.toFixed(3)} reorder ${w.reorder.toFixed(3)} delay <= ${w.maxDelayMs.toFixed(1)}`);
        return;
      }
      case 'transfer': {
        const p = rng.nextInt(this.shape.partitions + 1);
        const leader = up.find((b) => this.replicaOf(b, p)?.isLeader() === true);
        if (leader === undefined || leader.host === null) return;
        const replica = this.replicaOf(leader, p) as RaftPartition;
        const others = this.replicasOf(p).filter((id) => id !== leader.id);
        const to = others[rng.nextInt(others.length)] as number;
        const ok = replica.node.transferLeadership(raftId(to));
        leader.host.wake(p < this.shape.partitions ? GROUP_BASE + p : OFFSETS_RAFT_GROUP);
        this.note(`p${p}: leader ${leader.id} transfers to ${to}${ok ? '' : ' (refused)'}`);
        return;
      }
    }
  }

  /** Sends the stream's pending batch again, or its next one, to a broker that says it leads. */
  private produce(s: Stream, rng: SeededRandom): void {
    const p = s.partition;
    const acks: -1 | 1 = s.producerId >= 0 ? -1 : rng.chance(0.5) ? 1 : -1;
    if (s.pending !== null) {
      const last = s.pending.attempts[s.pending.attempts.length - 1];
      // One request at a time per producer and partition, until it is answered or times out.
      if (last !== undefined && !last.settled && this.loop.now - last.at < this.shape.requestTimeoutMs) return;
    } else {
      const count = 1 + rng.nextInt(5);
      const records = [];
      for (let i = 0; i < count; i++) {
        const size = rng.chance(0.1) ? 500 + rng.nextInt(3000) : 10 + rng.nextInt(100);
        const value = Buffer.alloc(size, 0x61 + (this.nextValue % 26));
        value.write(`v${this.nextValue++}`);
        records.push({ key: `k${rng.nextInt(20)}`, value, timestamp: 1_000_000 + Math.floor(this.loop.now) });
      }
      const bytes =
        s.producerId >= 0
          ? buildRecordBatch({ records, producerId: s.producerId, producerEpoch: 0, baseSequence: s.nextSeq })
          : buildRecordBatch({ records });
      s.pending = { seq: s.nextSeq, count, bytes, attempts: [], acked: false };
      if (s.producerId >= 0) s.nextSeq += count;
      this.stats.produced++;
    }
    const pending = s.pending;
    const leaders = this.brokers.filter((b) => b.state === 'up' && b.replicas.get(p)?.isLeader() === true);
    if (leaders.length === 0) return;
    const b = leaders[rng.nextInt(leaders.length)] as Broker;
    const replica = b.replicas.get(p) as RaftPartition;
    const attempt: Attempt = { at: this.loop.now, settled: false };
    pending.attempts.push(attempt);
    const n = pending.attempts.length;
    this.mix(30, p, pending.seq);
    this.note(`producer ${s.producerId} p${p} seq ${pending.seq} attempt ${n} -> broker ${b.id} (acks ${acks})`);
    let sent: Promise<{ baseOffset: number; lastOffset: number }>;
    try {
      sent = replica.append(Buffer.from(pending.bytes), acks);
    } catch (err) {
      this.fail(new InvariantViolation('produce never throws', `broker ${b.id} p${p}: append threw ${errText(err)}`));
      return;
    }
    sent.then(
      (r) => {
        attempt.settled = true;
        this.mix(31, p, r.baseOffset);
        this.note(`producer ${s.producerId} p${p} seq ${pending.seq} attempt ${n}: acknowledged at [${r.baseOffset}, ${r.lastOffset}] by broker ${b.id}`);
        const last = r.baseOffset + pending.count - 1;
        if (r.lastOffset !== last) {
          this.fail(new InvariantViolation('acknowledged offsets', `p${p}: batch of ${pending.count} records acknowledged at [${r.baseOffset}, ${r.lastOffset}]`));
          return;
        }
        try {
          this.model.acked({ partition: p, base: r.baseOffset, last, sent: pending.bytes, producerId: s.producerId, sequence: pending.seq, acks });
        } catch (err) {
          this.fail(toError(err));
          return;
        }
        pending.acked = true;
        if (s.pending === pending) s.pending = null;
      },
      (err: unknown) => {
        attempt.settled = true;
        const code = err instanceof KafkaError ? err.code : -1;
        this.note(`producer ${s.producerId} p${p} seq ${pending.seq} attempt ${n}: error ${code} ${errText(err)}`);
        if (s.producerId < 0 && s.pending === pending) s.pending = null;
        // A deposed leader that has not heard of its successor may lack batches the successor
        // took (OUT_OF_ORDER_SEQUENCE_NUMBER); a client with fresher metadata goes elsewhere.
        // From the newest leader any such error means the broker lost the producer's state.
        const stale = replica.node.term < this.newestTerm(p);
        if (!RETRIABLE.has(code) && s.producerId >= 0 && !stale) {
          this.fail(new InvariantViolation('idempotent producer never fenced', `p${p}: producer ${s.producerId} seq ${pending.seq} got ${code} from broker ${b.id} (term ${replica.node.term}): ${errText(err)}`));
        }
      },
    );
  }

  /** The highest raft term any running replica of `p` knows. */
  private newestTerm(p: number): number {
    let t = 0;
    for (const b of this.brokers) {
      const r = b.state === 'down' ? undefined : b.replicas.get(p);
      if (r !== undefined && r.node.term > t) t = r.node.term;
    }
    return t;
  }

  /** A consumer reads the partition from its position at a broker that says it leads. */
  private async consume(p: number, rng: SeededRandom): Promise<void> {
    const c = this.consumers[p] as Consumer;
    const leaders = this.brokers.filter((b) => b.state === 'up' && b.replicas.get(p)?.isLeader() === true);
    if (leaders.length === 0) return;
    const b = leaders[rng.nextInt(leaders.length)] as Broker;
    const replica = b.replicas.get(p) as RaftPartition;
    const inc = b.inc;
    const start = replica.logStartOffset();
    if (c.position < start) c.position = start;
    const from = c.position;
    const batches = await this.readVerified(() => replica.read(from, READ_BYTES, 0), `p${p} at broker ${b.id} (consumer at ${from})`);
    if (b.inc !== inc || b.state !== 'up' || batches === 'moved') return;
    if (batches === 'corrupt') throw new InvariantViolation('acknowledged write lost', `p${p}: broker ${b.id} serves a corrupt batch at ${from} (no two reads agree)`);
    this.model.stats.consumerBatches++;
    let expect = from;
    for (const batch of batches) {
      const base = readInt64(batch, BatchField.baseOffset);
      const last = base + batch.readInt32BE(BatchField.lastOffsetDelta);
      if (last < expect) continue;
      if (base > expect) throw new InvariantViolation('offsets dense', `p${p}: consumer at ${expect} read a batch at ${base} from broker ${b.id}`);
      this.model.committed(p, batch, `consumer via broker ${b.id}`);
      expect = last + 1;
    }
    c.position = Math.max(c.position, expect);
  }

  // ------------------------------------------------------------------ committed offsets

  /** Every so often a consumer commits, and one (maybe another) fetches its committed offsets. */
  private offsetsRound(): void {
    if (this.failure !== null || this.done || this.calm) return;
    const rng = this.offsetsRng;
    const c = this.committers[rng.nextInt(this.committers.length)] as Committer;
    if (!c.inFlight) void this.commitOffsets(c, rng).catch((err: unknown) => this.fail(toError(err)));
    if (rng.chance(0.5)) {
      const f = this.committers[rng.nextInt(this.committers.length)] as Committer;
      void this.fetchOffsets(f, rng, false).catch((err: unknown) => this.fail(toError(err)));
    }
    this.loop.at(this.loop.now + OFFSETS_GAP_MS[0] + rng.nextInt(OFFSETS_GAP_MS[1]), () => this.offsetsRound());
  }

  private offsetsKey(group: string, p: number): string {
    return `${group}/${TOPIC}-${p}`;
  }

  /** Brokers whose replica of the offsets partition says it leads (the client's view of the coordinator). */
  private offsetsLeaders(): Broker[] {
    return this.brokers.filter((b) => b.state === 'up' && b.offsets?.replica.isLeader() === true);
  }

  /** Waits for `p` up to the client's request timeout; null when it does not answer by then. */
  private withTimeout<T>(p: Promise<T>): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      this.loop.at(this.loop.now + this.shape.requestTimeoutMs, () => resolve(null));
      p.then(resolve, reject);
    });
  }

  /**
   * OffsetCommit of the committer's next offsets (a random non-empty subset of its partitions)
   * at a broker that says it leads the offsets partition. Returns whether it was acknowledged.
   */
  private async commitOffsets(c: Committer, rng: SeededRandom): Promise<boolean> {
    const leaders = this.offsetsLeaders();
    if (leaders.length === 0) return false;
    const b = leaders[rng.nextInt(leaders.length)] as Broker;
    const node = b.offsets as OffsetsNode;
    const inc = b.inc;
    const parts: { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string }[] = [];
    for (const [p, next] of c.next) {
      if (parts.length > 0 && rng.chance(0.4)) continue;
      parts.push({ topic: TOPIC, partition: p, offset: next, leaderEpoch: -1, metadata: '' });
      // Offsets only grow: the next commit of this partition is for a later position.
      c.next.set(p, next + 1 + rng.nextInt(40));
      this.offsetsModel.attempted(this.offsetsKey(c.group, p), next);
    }
    c.inFlight = true;
    this.offsetsModel.stats.commits++;
    this.mix(60, b.id, this.offsetsModel.stats.commits);
    const what = `${c.group} commit ${parts.map((x) => `p${x.partition}@${x.offset}`).join(',')}`;
    this.note(`${what} -> broker ${b.id} (epoch ${node.replica.leaderEpoch()})`);
    let reply: Awaited<ReturnType<OffsetsNode['groups']['commitOffsets']>> | null;
    try {
      reply = await this.withTimeout(node.groups.commitOffsets({ groupId: c.group, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: parts }));
    } finally {
      c.inFlight = false;
    }
    // An answer from an incarnation that crashed meanwhile never reached the client.
    if (reply === null || b.inc !== inc || b.state === 'down') {
      this.offsetsModel.stats.commitsRefused++;
      this.note(`${what}: no answer from broker ${b.id}`);
      return false;
    }
    // The epoch the coordinator answered in: the append's or a later one, never an earlier one.
    const epoch = node.replica.leaderEpoch();
    let all = true;
    for (const r of reply) {
      const key = this.offsetsKey(c.group, r.partition);
      const sent = parts.find((x) => x.partition === r.partition);
      if (sent === undefined) {
        this.fail(new InvariantViolation('offset commit answers what was asked', `${c.group}: broker ${b.id} answered partition ${r.partition}, not in the request`));
        return false;
      }
      if (r.errorCode === ErrorCode.NONE) this.offsetsModel.acked(key, sent.offset, epoch, `broker ${b.id} (incarnation ${inc})`);
      else all = false;
    }
    if (all) this.offsetsModel.stats.commitsAcked++;
    else this.offsetsModel.stats.commitsRefused++;
    this.mix(61, b.id, all ? 1 : 0);
    this.note(`${what}: ${reply.map((r) => `p${r.partition} ${r.errorCode === ErrorCode.NONE ? 'ok' : `error ${r.errorCode}`}`).join(', ')} from broker ${b.id} (epoch ${epoch})`);
    return all;
  }

  /**
   * OffsetFetch of the committer's partitions at a broker that says it leads the offsets
   * partition; an answer from a coordinator that led at one epoch from the request to the
   * answer is held to the offsets model. Returns whether an answer was checked.
   */
  private async fetchOffsets(c: Committer, rng: SeededRandom, final: boolean): Promise<boolean> {
    const leaders = this.offsetsLeaders();
    if (leaders.length === 0) return false;
    const b = leaders[rng.nextInt(leaders.length)] as Broker;
    const node = b.offsets as OffsetsNode;
    const inc = b.inc;
    const epoch = node.replica.leaderEpoch();
    const sentAt = this.offsetsModel.mark();
    this.offsetsModel.stats.fetches++;
    const reply = await this.withTimeout(node.groups.fetchOffsets(c.group, [{ name: TOPIC, partitions: [...c.next.keys()] }]));
    if (reply === null || b.inc !== inc || b.state === 'down') return false;
    if (reply.errorCode !== ErrorCode.NONE) {
      this.note(`${c.group} fetch at broker ${b.id}: error ${reply.errorCode}`);
      return false;
    }
    if (!node.replica.isLeader() || node.replica.leaderEpoch() !== epoch) {
      this.note(`${c.group} fetch at broker ${b.id}: answered across a leadership change (epoch ${epoch} -> ${node.replica.leaderEpoch()}), not checked`);
      return false;
    }
    const source = `broker ${b.id} (incarnation ${inc})`;
    for (const o of reply.offsets) {
      if (o.errorCode !== ErrorCode.NONE) continue;
      const key = this.offsetsKey(c.group, o.partition);
      this.offsetsModel.fetched(key, o.offset, epoch, sentAt, source);
      if (final) this.offsetsModel.final(key, o.offset, source);
    }
    this.note(`${c.group} fetch at broker ${b.id} (epoch ${epoch}): ${reply.offsets.map((o) => `p${o.partition}@${o.offset}`).join(',')}`);
    return true;
  }

  // ------------------------------------------------------------------ checks

  /** After every event: the model's invariants over what every running replica shows. */
  private check(): void {
    if (this.failure !== null) throw this.failure;
    for (const b of this.brokers) {
      if (b.state === 'down') continue;
      for (const [p, r] of b.replicas) {
        const hwm = r.highWatermark();
        // A replica opened again after its group failed starts over, as after a restart.
        this.model.highWatermark(b.id, b.inc * 1000 + (b.revived.get(p) ?? 0), p, hwm);
        const node = r.node;
        const role = node.role === Role.Leader ? `leader of term ${node.term}` : 'follower';
        if (b.lastRole.get(p) !== role) {
          b.lastRole.set(p, role);
          if (node.role === Role.Leader) {
            this.stats.elections++;
            this.mix(40, b.id * 64 + p, node.term);
          }
          this.note(`p${p}: broker ${b.id} is ${role}`);
        }
        if (r.isLeader()) this.model.leaderHighWatermark(b.id, node.term, p, hwm, node.termAt(node.commitIndex) === node.term);
      }
      const o = b.offsets;
      if (o !== null) {
        const role = o.replica.isLeader() ? `leader of term ${o.replica.node.term}${o.loaded() ? ' (loaded)' : ''}` : 'follower';
        if (b.lastRole.get(-1) !== role) {
          b.lastRole.set(-1, role);
          if (o.replica.isLeader() && !o.loaded()) this.stats.elections++;
          this.note(`${OFFSETS_TOPIC}-0: broker ${b.id} is ${role}`);
        }
      }
    }
  }

  private auditRound(): void {
    if (this.failure !== null || this.done) return;
    for (const b of this.brokers) {
      if (b.state !== 'up') continue;
      for (const p of b.replicas.keys()) void this.audit(b, p, false).catch((err: unknown) => this.fail(toError(err)));
    }
    this.loop.at(this.loop.now + AUDIT_EVERY_MS, () => this.auditRound());
  }

  /**
   * Reads a replica's committed log (log start to its high watermark) through the log's read
   * path, checking each batch against the model; CRC failures are read again (a flipped bit in
   * a read is the disk's, a batch that stays corrupt is the replica's). Returns false when the
   * replica went away or moved on (crash, snapshot install, retention) meanwhile.
   */
  private async audit(b: Broker, p: number, final: boolean): Promise<boolean> {
    const replica = b.replicas.get(p);
    const logs = b.logs;
    if (replica === undefined || logs === null || b.state !== 'up') return false;
    const log = logs.openLogs().find((l) => l.dir === `${DATA}/b${b.id}/${TOPIC}-${p}`);
    if (log === undefined) return false;
    const inc = b.inc;
    const hwm = replica.highWatermark();
    const start = log.logStartOffset();
    const source = `broker ${b.id} (incarnation ${inc})`;
    const seen = new Set<number>();
    let offset = start;
    let first = true;
    while (offset < hwm) {
      const at = offset;
      const chunk = await this.readVerified(() => log.read(at, READ_BYTES, hwm), `${log.dir} at ${at}`);
      if (b.inc !== inc || b.state !== 'up') return false;
      if (chunk === 'moved') return false;
      if (chunk === 'corrupt') {
        if (await this.scrubFinds(b, p, replica, offset, 'a corrupt committed batch')) return false;
        throw new InvariantViolation('acknowledged write lost', `p${p}: ${source} has a corrupt committed batch at ${offset} (no two reads agree on a good batch)`);
      }
      if (chunk.length === 0) {
        if (await this.scrubFinds(b, p, replica, offset, 'nothing readable')) return false;
        throw new InvariantViolation('offsets dense', `p${p}: ${source} committed through ${hwm} but its log has nothing at ${offset}`);
      }
      for (const batch of chunk) {
        const base = readInt64(batch, BatchField.baseOffset);
        const last = base + batch.readInt32BE(BatchField.lastOffsetDelta);
        if (first ? base > offset || last < offset : base !== offset) {
          if (await this.scrubFinds(b, p, replica, offset, `a batch at ${base}`)) return false;
          throw new InvariantViolation('offsets dense', `p${p}: ${source} has a batch at ${base} where ${offset} was next`);
        }
        first = false;
        if (last >= hwm) {
          throw new InvariantViolation('offsets dense', `p${p}: ${source} batch [${base}, ${last}] straddles its high watermark ${hwm}`);
        }
        this.model.committed(p, batch, source);
        seen.add(base);
        offset = last + 1;
      }
    }
    if (b.inc !== inc || b.state !== 'up') return false;
    this.model.auditComplete(p, source, start, hwm, seen);
    if (final) this.note(`final audit p${p} ${source}: [${start}, ${hwm}) ok`);
    return true;
  }

  /**
   * The audit found damage in a replica's committed log at `offset` (durable: every read shows
   * it). The broker reads its committed data back in the background (log-scrubber.ts); this is
   * that scrub reaching the spot now. It must see the damage too and fail the replica's group,
   * which then reopens, cuts its log there and recovers it from its peers; the replica is audited
   * again once it has (the final audit waits for it). False when the scrub misses the damage.
   */
  private async scrubFinds(b: Broker, p: number, replica: RaftPartition, offset: number, what: string): Promise<boolean> {
    const host = b.host;
    if (host === null) return false;
    const failed = (): boolean => host.group(GROUP_BASE + p)?.failed != null;
    if (!failed()) await replica.scrub(READ_BYTES, offset);
    if (!failed()) return false;
    this.healing.add(`${b.id}/${p}`);
    this.stats.scrubFinds++;
    this.note(`audit of p${p} on broker ${b.id} at ${offset}: ${what}; the replica's scrub finds the damage and it recovers`);
    return true;
  }

  /**
   * Reads whole batches (each with a good CRC) until two reads agree on them byte for byte, up
   * to eight reads: a bit flipped in one read is the disk's (and may sit in the header fields no
   * CRC covers), what two reads return is what the replica holds. Any two agreeing reads count,
   * not only consecutive ones: one audit read spans many disk reads, so at the highest flip rate
   * most audit reads carry a flip somewhere. 'corrupt' when no two reads agree, 'moved' when the
   * read fails (the replica went on: retention, snapshot, closing).
   */
  private async readVerified(read: () => Promise<ReadResult>, where: string): Promise<Buffer[] | 'corrupt' | 'moved'> {
    const reads: Buffer[][] = [];
    for (let attempt = 0; attempt < AUDIT_READ_ATTEMPTS; attempt++) {
      let r: ReadResult;
      try {
        r = await read();
      } catch (err) {
        if (err instanceof KafkaError) return 'moved';
        throw err;
      }
      const out: Buffer[] = [];
      let pos = 0;
      let why = '';
      while (pos + LOG_OVERHEAD <= r.records.length) {
        const size = r.records.readInt32BE(pos + BatchField.batchLength) + LOG_OVERHEAD;
        const checked = size < LOG_OVERHEAD || pos + size > r.records.length ? null : checkBatch(r.records, pos, pos + size, { compacted: true });
        if (checked === null || checked instanceof RecordBatchError) {
          why = checked === null ? `batch of ${size} bytes at ${pos} of ${r.records.length}` : checked.message;
          break;
        }
        out.push(Buffer.from(r.records.subarray(pos, pos + size)));
        pos += size;
      }
      if (why !== '') this.note(`read of ${where}: ${why} (reading again)`);
      if (out.length === 0) continue;
      for (const prev of reads) {
        const n = Math.min(prev.length, out.length);
        let same = true;
        for (let i = 0; i < n && same; i++) same = (prev[i] as Buffer).equals(out[i] as Buffer);
        if (same) return out.slice(0, n);
      }
      if (reads.length > 0) this.note(`read of ${where}: no earlier read agrees (reading again)`);
      reads.push(out);
    }
    return reads.length === 0 ? [] : 'corrupt';
  }

  // ------------------------------------------------------------------ the end

  /** Faults stop; the cluster (or a quorum of it) must recover and take writes within the bound. */
  private async finale(): Promise<void> {
    this.calm = true;
    this.net.heal();
    this.net.weather = CALM;
    let members = this.brokers;
    if (this.shape.liveness === 'core') {
      members = this.pickQuorum();
      for (const b of this.brokers) if (!members.includes(b)) this.crashBroker(b, 'outside the quorum that core liveness heals');
      this.note(`faults stop; only brokers ${members.map((b) => b.id).join(',')} come back (core liveness)`);
    } else this.note('faults stop: network healed and calm, every broker restarts');
    for (const b of members) this.start(b);
    const deadline = this.loop.now + LIVENESS_MS;
    const finals = new Map<number, Stream>();
    for (let p = 0; p < this.shape.partitions; p++) finals.set(p, { producerId: 9000 + p, partition: p, nextSeq: 0, pending: null });
    const rng = new SeededRandom(this.opts.seed ^ 0x1234567);
    // One fresh metadata write must commit too; one request at a time.
    const finalMeta = { acked: false, inFlight: false };
    for (;;) {
      if (this.failure !== null) return;
      for (const b of members) if (b.state === 'down') this.start(b);
      if (!finalMeta.acked && !finalMeta.inFlight) {
        finalMeta.inFlight = true;
        const req: ControllerRequest = { op: 'allocate-producer-ids', nodeId: (members[0] as Broker).id };
        this.controllerRequest(req, -1, rng).then(
          (outcome) => {
            finalMeta.inFlight = false;
            if (outcome === 'ok') finalMeta.acked = true;
          },
          (err: unknown) => this.fail(toError(err)),
        );
      }
      for (const s of this.streams) if (s.pending !== null && s.producerId >= 0) this.produce(s, rng);
      for (const s of finals.values()) if (s.nextSeq === 0 || s.pending !== null) this.produce(s, rng);
      // Every consumer group must get one fresh commit through: the coordinator is back and loaded.
      for (const c of this.committers) {
        if (c.finalAcked || c.inFlight) continue;
        this.commitOffsets(c, rng).then(
          (ok) => {
            if (ok) c.finalAcked = true;
          },
          (err: unknown) => this.fail(toError(err)),
        );
      }
      if (finalMeta.acked && this.whole(members, finals)) break;
      if (this.loop.now > deadline) throw new InvariantViolation('liveness', this.livenessReport(members, finals));
      await this.sleep(100);
    }
    this.note('cluster is whole again; final audits and offset fetches');
    for (const c of this.committers) {
      for (let i = 0; ; i++) {
        if (this.failure !== null) return;
        if (await this.fetchOffsets(c, rng, true)) break;
        if (this.loop.now > deadline + LIVENESS_MS) throw new InvariantViolation('liveness', `${c.group}: no coordinator answers its offset fetch after the faults stopped`);
        await this.sleep(50);
      }
    }
    for (const b of members) {
      for (const p of b.replicas.keys()) {
        for (let i = 0; ; i++) {
          if (await this.audit(b, p, true)) break;
          // A replica recovering from damage its scrub found gets until the liveness bound.
          const healing = this.healing.has(`${b.id}/${p}`);
          if (i > 5 && !healing) throw new InvariantViolation('liveness', `p${p}: broker ${b.id} keeps moving under the final audit`);
          if (this.loop.now > deadline + LIVENESS_MS) throw new InvariantViolation('liveness', `p${p}: broker ${b.id} has not recovered from the damage its scrub found`);
          await this.sleep(healing ? 250 : 50);
        }
      }
    }
    this.done = true;
    this.loop.stop();
  }

  private pickQuorum(): Broker[] {
    const ids = this.brokers.map((b) => b.id);
    const majority = Math.floor(this.brokers.length / 2) + 1;
    for (let tries = 0; tries < 100; tries++) {
      const shuffled = [...ids].sort(() => this.rng.nextFloat() - 0.5);
      const q = new Set(shuffled.slice(0, majority));
      let ok = this.metadataVoters().filter((id) => q.has(id)).length * 2 > this.metadataVoters().length;
      // The data partitions and, placed after them, the offsets partition.
      for (let p = 0; p <= this.shape.partitions; p++) {
        const rs = this.replicasOf(p);
        if (rs.filter((r) => q.has(r)).length * 2 <= rs.length) ok = false;
      }
      if (ok) return this.brokers.filter((b) => q.has(b.id));
    }
    return this.brokers;
  }

  /** Every partition led within `members`, a fresh write acknowledged, every acknowledged write on each member replica. */
  private whole(members: Broker[], finals: Map<number, Stream>): boolean {
    for (let p = 0; p < this.shape.partitions; p++) {
      const holders = members.filter((b) => this.replicasOf(p).includes(b.id));
      if (holders.some((b) => b.state !== 'up')) return false;
      if (!holders.some((b) => b.replicas.get(p)?.isLeader() === true)) return false;
      const f = finals.get(p) as Stream;
      if (f.nextSeq === 0 || f.pending !== null) return false;
      const need = this.model.maxAckedEnd(p);
      if (holders.some((b) => (b.replicas.get(p)?.highWatermark() ?? 0) < need)) return false;
    }
    if (!members.some((b) => b.controller?.active === true)) return false;
    for (const b of members) if (!b.registered || (b.metadata?.applied ?? 0) < this.meta.maxAcked) return false;
    if (this.committers.some((c) => !c.finalAcked || c.inFlight)) return false;
    return this.streams.every((s) => s.producerId < 0 || s.pending === null);
  }

  private livenessReport(members: Broker[], finals: Map<number, Stream>): string {
    const parts: string[] = [];
    for (const b of members) {
      if (b.state !== 'up') {
        parts.push(`broker ${b.id} is ${b.state}${b.startError ? ` (${b.startError})` : ''}`);
        continue;
      }
      for (const [p, r] of b.replicas) {
        parts.push(`b${b.id}/p${p}: ${r.isLeader() ? 'leader' : 'follower'} hwm ${r.highWatermark()} of acked ${this.model.maxAckedEnd(p)} term ${r.node.term} commit ${r.node.commitIndex}/${r.node.lastIndex}`);
      }
    }
    for (const [p, s] of finals) if (s.nextSeq === 0 || s.pending !== null) parts.push(`p${p}: the fresh write is not acknowledged`);
    for (const b of members) {
      const m = b.metadata;
      if (m !== null) parts.push(`b${b.id}/metadata: ${m.isLeader() ? 'controller' : 'follower'} applied ${m.applied} of acked ${this.meta.maxAcked} term ${m.node.term}${b.registered ? '' : ' (not registered)'} voters ${m.node.conf.voters} learners ${m.node.conf.learners}`);
    }
    for (const s of this.streams) if (s.producerId >= 0 && s.pending !== null) parts.push(`producer ${s.producerId} p${s.partition} seq ${s.pending.seq} still unacknowledged`);
    for (const b of members) {
      const o = b.offsets;
      if (o !== null) parts.push(`b${b.id}/${OFFSETS_TOPIC}-0: ${o.replica.isLeader() ? `leader${o.loaded() ? ' (loaded)' : ' (not loaded)'}` : 'follower'} hwm ${o.replica.highWatermark()} end ${o.replica.logEndOffset()} term ${o.replica.node.term}`);
    }
    for (const c of this.committers) if (!c.finalAcked) parts.push(`${c.group}: no offset commit acknowledged after the faults`);
    return `${LIVENESS_MS} ms after the faults stopped: ${parts.join('; ')}`;
  }

  // ------------------------------------------------------------------ trace

  private dumpState(): void {
    for (const b of this.brokers) {
      this.note(`  broker ${b.id}: ${b.state} incarnation ${b.inc}${b.startError ? ` start error: ${b.startError}` : ''}`);
      const m = b.metadata;
      if (m !== null) {
        const n = m.node;
        this.note(`    metadata: ${ROLE[n.role]} term ${n.term} lead ${n.leader} log ${n.firstIndex}..${n.lastIndex} commit ${n.commitIndex} applied ${m.applied} voters ${n.conf.voters} learners ${n.conf.learners}`);
      }
      for (const [p, r] of b.replicas) {
        const n = r.node;
        this.note(
          `    p${p}: ${ROLE[n.role]} term ${n.term} lead ${n.leader} log ${n.firstIndex}..${n.lastIndex} commit ${n.commitIndex} applied ${n.appliedIndex} ` +
            `offsets [${r.logStartOffset()}, ${r.logEndOffset()}) hwm ${r.highWatermark()} voters ${n.conf.voters}` +
            (r.isLeader() ? ` isr ${r.isr()} match ${n.conf.voters.map((v) => `${v}:${n.progressOf(v)?.match ?? '-'}`).join(',')}` : ''),
        );
      }
    }
    for (const b of this.brokers) {
      const o = b.offsets;
      if (o === null) continue;
      const n = o.replica.node;
      this.note(`  broker ${b.id} ${OFFSETS_TOPIC}-0: ${ROLE[n.role]}${o.loaded() ? ' (loaded)' : ''} term ${n.term} log ${n.firstIndex}..${n.lastIndex} commit ${n.commitIndex} offsets [${o.replica.logStartOffset()}, ${o.replica.logEndOffset()}) hwm ${o.replica.highWatermark()}`);
    }
    this.note(`  blocked links: ${this.net.blockedLinks().join(' ') || 'none'}`);
  }

  private mix(kind: number, a: number, b: number): void {
    let h = this.traceHash;
    h = Math.imul(h ^ kind, 16777619);
    h = Math.imul(h ^ Math.round(this.loop.now * 1000), 16777619);
    h = Math.imul(h ^ a, 16777619);
    h = Math.imul(h ^ (b | 0), 16777619);
    this.traceHash = h;
  }

  private note(text: string): void {
    if (this.tracing) this.trace.push(`t=${this.loop.now.toFixed(3)} ${text}`);
  }
}

const ROLE = ['follower', 'precandidate', 'candidate', 'leader'];

/**
 * The planted bug 'ack-before-quorum': every group's machine hears "committed" for whatever its
 * own log made durable, so a leader raises its high watermark (and answers acks=all) before a
 * quorum has the entry.
 */
function plantAckBeforeQuorum(host: RaftHost): void {
  const add = host.addGroup.bind(host);
  host.addGroup = (init) => {
    const m = init.machine;
    const lying: GroupMachine = {
      onSoftState: (st) => m.onSoftState(st),
      onAppended: (entries) => m.onAppended(entries),
      onTruncated: (index) => m.onTruncated(index),
      installSnapshot: (snap) => m.installSnapshot(snap),
      onStable: (index) => {
        m.onStable(index);
        if (init.node.role === Role.Leader) m.onLeaderCommit?.(index);
      },
      apply: (entries) => m.apply(entries),
      onLeaderCommit: (index) => m.onLeaderCommit?.(index),
      onReadStates: (states) => m.onReadStates?.(states),
      onTick: () => m.onTick?.(),
    };
    return add({ ...init, machine: lying });
  };
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
