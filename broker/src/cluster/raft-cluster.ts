/**
 * The cluster as one broker takes part in it: the metadata raft group (its image is what every
 * API answers from), the partition replicas this broker hosts (each a raft group), the broker
 * transport, and the controller role while this broker leads the metadata group.
 *
 * Start-up: open the metadata replica (replaying its log rebuilds the image, and the publisher
 * opens the local replicas the image assigns here), start the host loop and the transport, then
 * register with the controller (a broker outside the initial voters is added to the metadata
 * group as a learner once registered). Requests that change metadata are accepted on any
 * broker and forwarded to the controller; the answer waits until this broker's image has the
 * change, so the client's next Metadata request here sees it.
 *
 * A single broker with no cluster flags is a one-voter cluster on this same path.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../log/files.js';
import { PARTITION_IDENTITY, claimLegacyPartitionDirs, findLegacyData, markLegacyImported, type LegacyData } from './legacy-import.js';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { FileLogManager } from '../log/log-manager.js';
import type { LogConfig } from '../log/types.js';
import { HardStateJournal } from '../replication/hard-state-journal.js';
import { openReplica, openStateMachineReplica, type RaftTiming } from '../replication/open-replica.js';
import { LogScrubber } from '../replication/log-scrubber.js';
import { ReplicaRevival, reopenReplica } from '../replication/replica-revival.js';
import { RaftHost } from '../replication/raft-host.js';
import { raftId, type RaftPartition, type TxnVerifier } from '../replication/raft-partition.js';
import type { StateMachineReplica } from '../replication/state-machine-replica.js';
import { createRaftTransport, PeerRequestError, type PeerAddress, type RaftTransport } from '../replication/transport/index.js';
import type { DataPartition, PartitionLimits } from '../replication/types.js';
import { Controller } from './controller.js';
import { LeadershipGuard, ledGroupsOf } from './leadership.js';
import { compactionConfig, recordsFetcher, serveRecords, startLogCleaning } from './log-cleaning.js';
import { ReassignmentDriver } from './reassignment-driver.js';
import {
  CONTROLLER_REQUEST_KIND,
  JOIN_REQUEST_KIND,
  decodeControllerReply,
  decodeControllerRequest,
  encodeControllerMessage,
  type ControllerReply,
  type ControllerRequest,
  type PartitionReport,
} from './controller-protocol.js';
import type { Endpoint } from './metadata-records.js';
import { metadataDelta, topicsGone } from './metadata-delta.js';
import { MetadataMachine } from './metadata-machine.js';
import { partitionGroupId, type MetadataState, type PartitionImage, type TopicImage } from './metadata-state.js';
import { placementFor, type Placement } from './placement.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { BrokerSettings } from '../config/settings.js';
import { brokerDefaultFor, topicConfigDefs } from './topic-configs.js';
import { isReservedInternalTopic } from './topic-names.js';
import type { BrokerInfo, CreateTopicSpec, DataCluster, PartitionView, TopicInfo } from './types.js';

export interface InitialVoter {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface RaftClusterSettings {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly rack: string | null;
  /** What clients and other brokers are told. */
  readonly kafka: Endpoint;
  readonly raft: Endpoint;
  readonly raftListen: Endpoint;
  readonly admin: Endpoint | null;
  readonly initialVoters: readonly InitialVoter[];
  /** Broker settings (topic configs fall back to them). */
  readonly settings: BrokerSettings;
  readonly tickMs: number;
  readonly timing: RaftTiming;
  readonly replicaLagTimeMaxMs: number;
}

export interface RaftCluster extends DataCluster {
  readonly host: RaftHost;
  readonly transport: RaftTransport;
  readonly metadata: StateMachineReplica;
  readonly raftPort: number;
  /** The applied metadata image. */
  image(): MetadataState;
  /** The local replica of a partition, whatever its role; undefined if this broker hosts none. */
  replica(topic: string, partition: number): RaftPartition | undefined;
  /** Leadership and replicas of a partition: this broker's own view when it leads, else the image's. */
  partitionView(topic: string, partition: number): PartitionView | undefined;
  placement(): Placement;
  /** Registered with the controller under this process's incarnation, and the image says so. */
  registered(): boolean;
  /** A block of producer ids from the controller. */
  allocateProducerIds(): Promise<{ firstProducerId: number; size: number }>;
  /** Sends a request to the controller and waits until the local image has applied its effect. */
  controllerRequest(req: ControllerRequest, timeoutMs?: number): Promise<ControllerReply & { ok: true }>;
  onPartitionLeadership(l: (p: RaftPartition) => void): void;
  /** Topics the applied image no longer has (deleted, or replaced by a new topic of the same name). */
  onTopicsDeleted(l: (topics: readonly string[]) => void): void;
  /**
   * Serves one more request kind from other brokers over the raft transport (the admin service's
   * calls, the transaction coordinator's markers and verifications); the handler's answer goes
   * back as the reply.
   */
  serveRequests(kind: string, handler: (payload: Uint8Array, from: number) => Promise<Uint8Array>): void;
  /** A request to broker `nodeId`'s handler of `kind`; rejects with PeerRequestError. */
  peerRequest(nodeId: number, kind: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** KIP-890 verification for the transactional produces of every local replica. */
  setTxnVerifier(v: TxnVerifier | null): void;
  /**
   * Resolves once this broker is registered, its replicas are open and each has a leader
   * somewhere (or after `ms`): what a broker waits for before it takes client connections.
   */
  awaitSettled(ms: number): Promise<boolean>;
  /** One retention pass now (it also runs every log.retention.check.interval.ms). */
  applyRetention(now?: number): Promise<number>;
  /**
   * After a drain: this broker hands on any leadership it holds or wins for one preferred-leader
   * check interval, so the hand-back elsewhere does not return it at once. Resolves once it has
   * asked the other brokers which of them hold leadership away too (they take none of it).
   */
  holdLeadershipAway(): Promise<void>;
  /** Broker `nodeId` said it holds leadership away (a drain) until some time from now. */
  peerHolding(nodeId: number): boolean;
  close(): Promise<void>;
}

export interface RaftClusterOptions {
  readonly settings: RaftClusterSettings;
  readonly logger: Logger;
  readonly logManager: FileLogManager;
  readonly registry?: Registry;
}

const METADATA_LOG = '__cluster_metadata';
const METADATA_GROUP = 0;
const REQUEST_TIMEOUT_MS = 30_000;
const REPORT_INTERVAL_MS = 50;
/** Asks a broker how much longer it holds leadership away after a drain (answer: u32 ms). */
const HOLD_REQUEST_KIND = 'leadership-hold';
const HOLD_REQUEST_TIMEOUT_MS = 500;
/** Every this many report passes (a second), leaders' views are compared with the metadata. */
const RESCAN_EVERY_PASSES = 20;
/** How long a topic creation waits for its partitions' first leaders before answering. */
const LEADER_WAIT_MS = 3000;
const OPEN_CONCURRENCY = 16;
const SAFE_INTEGER_LIMIT = 2 ** 53;
/**
 * Room in a raft message beyond its largest record batch: an append carries up to the core's
 * 1 MiB of entries before its last one, plus each entry's framing.
 */
const RAFT_MESSAGE_OVERHEAD = 2 * 1024 * 1024;

const metadataLogConfig: LogConfig = {
  segmentBytes: 8 << 20,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

function toNumber(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

class RaftClusterImpl implements RaftCluster {
  readonly nodeId: number;
  readonly host: RaftHost;
  transport!: RaftTransport;
  metadata!: StateMachineReplica;
  raftPort = 0;
  private readonly machine: MetadataMachine;
  private readonly s: RaftClusterSettings;
  private readonly logger: Logger;
  private journal!: HardStateJournal;
  private controller!: Controller;
  private readonly replicas = new Map<number, RaftPartition>();
  private readonly fetchRecords = recordsFetcher(() => this.transport);
  /** Publisher work (opening and closing replicas) runs one change at a time, in image order. */
  private publishing: Promise<void> = Promise.resolve();
  private published: MetadataState;
  /**
   * While the metadata log this broker already committed is replayed at start, images are not
   * published one by one: an old record that moved a replica away and a later one that moved it
   * back would close (and delete) the replica's data and reopen it empty, as a replica waiting
   * to be added, which its leader added long ago. The image replayed to the committed index is
   * published once instead (as Kafka's broker publishes only after catching up).
   */
  private replaying = true;
  private readonly incarnationId = randomUUID();
  private closed = false;
  private readonly revival: ReplicaRevival;
  private scrubber: LogScrubber | null = null;
  private reports = new Map<number, PartitionReport>();
  private reportPasses = 0;
  private reportTimer: NodeJS.Timeout | null = null;
  private registrationTimer: NodeJS.Timeout | null = null;
  /** Brokers that hold leadership away after a drain, until (ms, this clock). */
  private readonly peerHolds = new Map<number, number>();
  private preferring = false;
  private balanceTimer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionRunning = false;
  private driver: ReassignmentDriver | null = null;
  private guard: LeadershipGuard | null = null;
  private readonly extraKinds = new Map<string, (payload: Uint8Array, from: number) => Promise<Uint8Array>>();
  private readonly leadershipListeners: ((p: RaftPartition) => void)[] = [];
  private readonly deletionListeners: ((topics: readonly string[]) => void)[] = [];
  private txnVerifier: TxnVerifier | null = null;
  private byIdCache = new Map<string, TopicImage>();
  private byIdVersion = -1;
  private legacyImport: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RaftClusterOptions) {
    this.s = opts.settings;
    this.nodeId = opts.settings.nodeId;
    this.logger = opts.logger;
    this.machine = new MetadataMachine(opts.settings.clusterId, opts.logger.child({ component: 'metadata' }));
    this.published = this.machine.state;
    this.host = new RaftHost({
      nodeId: this.nodeId,
      tickMs: opts.settings.tickMs,
      logger: opts.logger.child({ component: 'raft' }),
      ...(opts.registry ? { registry: opts.registry } : {}),
      sink: {
        send: (to, messages) => this.transport.send(to, messages),
        quiesce: (to, groups) => {
          this.transport.signal(to, { quiesced: groups });
        },
      },
    });
    this.revival = new ReplicaRevival({ logger: opts.logger.child({ component: 'revival' }) });
    this.host.onGroupFailed = (group, err) => this.reviveLater(group, err);
  }

  /**
   * A partition replica whose raft group failed here is opened again from disk after a pause
   * (replica-revival.ts), in turn with the image's changes to local replicas. The metadata and
   * coordinator groups are not: they stay out, logged, until the broker restarts.
   */
  private reviveLater(group: number, err: Error): void {
    const failed = this.replicas.get(group);
    if (!failed) return;
    this.revival.schedule(group, err, () => {
      const run = this.publishing.then(async () => {
        if (this.closed || this.replicas.get(group) !== failed) return;
        const t = this.published.topics.get(failed.topic);
        const image = t?.partitionImages[failed.partition];
        if (!t || !image || partitionGroupId(t, failed.partition) !== group) return;
        this.replicas.delete(group);
        await reopenReplica(failed, err, this.host, this.logger, async () => {
          await this.openLocalReplica(t, failed.partition, image, false, true);
          const again = this.replicas.get(group);
          if (!again) throw new Error(`${failed.topic}-${failed.partition} did not open again`);
          return again;
        });
      });
      this.publishing = run.catch(() => undefined);
      return run;
    });
  }

  get clusterId(): string {
    return this.s.clusterId;
  }

  async start(): Promise<void> {
    const s = this.s;
    const legacy = await findLegacyData(s.dataDir, this.nodeId);
    if (legacy !== null && legacy.topics.length > 0) {
      const lone = s.initialVoters.length === 1 && s.initialVoters[0]?.nodeId === this.nodeId;
      if (!lone) {
        throw new Error(
          `data dir ${s.dataDir} holds ${legacy.topics.length} topics of a single-broker Chronik (in __meta/, from before replication); ` +
            'start this broker alone first (without --initial-voters) to import them, then let other brokers join it',
        );
      }
      const claimed = await claimLegacyPartitionDirs(s.dataDir, legacy);
      this.logger.warn({ topics: legacy.topics.length, partitionDirs: claimed }, 'importing the topics of a single-broker data dir; their records stay where they are');
    }
    this.journal = await HardStateJournal.open(path.join(s.dataDir, 'raft'), this.opts.logManager.committer, this.logger);
    this.machine.onChange((prev, next) => {
      if (!this.replaying) this.publish(prev, next);
    });
    const isVoter = s.initialVoters.some((v) => v.nodeId === this.nodeId);
    this.metadata = await openStateMachineReplica({
      host: this.host,
      logManager: this.opts.logManager,
      journal: this.journal,
      topic: METADATA_LOG,
      partition: 0,
      group: METADATA_GROUP,
      nodeId: this.nodeId,
      // A broker outside the founding voters starts with no configuration and waits to be added.
      voters: isVoter ? s.initialVoters.map((v) => v.nodeId) : [],
      logConfig: metadataLogConfig,
      state: this.machine,
      timing: s.timing,
      logger: this.logger.child({ component: 'metadata' }),
    });
    const replayTo = this.metadata.node.commitIndex;
    const replayed = (): void => {
      if (!this.replaying) return;
      this.replaying = false;
      if (replayTo > 0) this.logger.info({ index: replayTo }, 'metadata log replayed; publishing its image');
      this.publish(this.published, this.machine.state);
    };
    if (this.metadata.applied >= replayTo) replayed();
    else void this.metadata.waitApplied(replayTo).then(replayed);
    this.controller = new Controller({
      nodeId: this.nodeId,
      replica: this.metadata,
      machine: this.machine,
      initialVoters: s.initialVoters.map((v) => v.nodeId),
      // Only what the operator set: unset settings fall back to the controller's own rules.
      brokerDefaults: () => Object.fromEntries(s.settings.givenNames().map((n) => [n, s.settings.givenValue(n)?.text ?? ''])),
      isLive: (id) => id === this.nodeId || this.transport.peerUp(id),
      logger: this.logger.child({ component: 'controller' }),
    });
    this.metadata.onLeaderChange = (leader, term) => {
      this.controller.onLeaderChange();
      if (leader === this.nodeId) this.logger.info({ term }, 'this broker is the controller');
      else this.logger.info({ controller: leader, term }, 'controller changed');
    };
    this.transport = createRaftTransport({
      nodeId: this.nodeId,
      clusterId: s.clusterId,
      listenHost: s.raftListen.host,
      listenPort: s.raftListen.port,
      peers: () => this.peers(),
      onMessages: (from, messages) => {
        this.host.receive(from, messages);
      },
      onSignals: (from, signals) => {
        if (signals.quiesced.length > 0) this.host.receiveQuiesce(from, signals.quiesced);
      },
      onPeerState: (node, up) => {
        if (!up) {
          this.host.peerDown(node);
          this.host.peerUnreachable(node);
        }
      },
      onRequest: (kind, payload, from) => this.serveRequest(kind, payload, from),
      onSnapshotFailed: (_to, message) => {
        const g = this.host.group(message.group);
        g?.node.reportSnapshotFailure(message.to);
      },
      openRequestKinds: [JOIN_REQUEST_KIND],
      stream: s.settings.get('chronik.raft.transport'),
      // No record batch is larger than the Kafka request that carried it, whatever a topic's
      // max.message.bytes allows: an append of one that size must reach the followers.
      maxMessageBytes: Math.max(4 * 1024 * 1024, s.settings.get('socket.request.max.bytes') + RAFT_MESSAGE_OVERHEAD),
      logger: this.logger.child({ component: 'transport' }),
      ...(this.opts.registry ? { registry: this.opts.registry } : {}),
    });
    this.raftPort = await this.transport.start();
    this.serveRequests(HOLD_REQUEST_KIND, async () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(Math.min(0xffff_ffff, this.guard?.holdRemaining() ?? 0));
      return out;
    });
    serveRecords(
      (kind, handler) => this.serveRequests(kind, handler),
      (topic, partition) => {
        const t = this.machine.state.topics.get(topic);
        return t === undefined ? undefined : this.replicas.get(partitionGroupId(t, partition));
      },
    );
    startLogCleaning(this.opts.logManager, s.settings);
    if (this.opts.registry) this.registerMetrics(this.opts.registry);
    this.host.start();
    this.controller.start();
    if (legacy !== null) {
      this.legacyImport = this.importLegacy(legacy);
      // Surfaced by awaitSettled; kept from counting as an unhandled rejection meanwhile.
      this.legacyImport.catch(() => undefined);
    }
    this.reportTimer = setInterval(() => this.flushReports(), REPORT_INTERVAL_MS);
    this.reportTimer.unref();
    this.retentionTimer = setInterval(() => void this.applyRetention(), s.settings.get('log.retention.check.interval.ms'));
    this.retentionTimer.unref();
    this.scrubber = new LogScrubber({
      bytesPerSecond: s.settings.get('chronik.log.scrub.bytes.per.second'),
      replicas: () => [...this.replicas.values()],
      logger: this.logger.child({ component: 'scrub' }),
    });
    this.scrubber.start();
    if (s.settings.get('auto.leader.rebalance.enable')) {
      this.balanceTimer = setInterval(() => void this.preferLeaders(), s.settings.get('leader.imbalance.check.interval.seconds') * 1000);
      this.balanceTimer.unref();
    }
    this.scheduleRegistration(0);
    this.startAdminDuties();
  }

  /** Replica moves led here, and the maintenance guard (see reassignment-driver.ts and leadership.ts). */
  private startAdminDuties(): void {
    const logger = this.logger.child({ component: 'reassignment' });
    this.driver = new ReassignmentDriver({
      nodeId: this.nodeId,
      replicas: () => this.replicas.values(),
      partitionOf: (topic, partition) => {
        const t = this.machine.state.topics.get(topic);
        const image = t?.partitionImages[partition];
        return t && image ? { topicId: t.topicId, image } : undefined;
      },
      wake: (g) => this.host.wake(g),
      complete: async (c) => void (await this.controllerRequest({ op: 'complete-reassignment', ...c }, 5000)),
      logger,
      version: () => this.machine.state.version,
    });
    this.guard = new LeadershipGuard({
      nodeId: this.nodeId,
      image: () => this.machine.state,
      groups: () => ledGroupsOf(this.replicas.values(), this.metadata, () => this.machine.state),
      live: (id) => this.live(id) && !this.peerHolding(id),
      wake: (g) => this.host.wake(g),
      logger: this.logger.child({ component: 'maintenance' }),
    });
    this.driver.start();
    this.guard.start();
  }

  async holdLeadershipAway(): Promise<void> {
    this.guard?.hold(this.s.settings.get('leader.imbalance.check.interval.seconds') * 1000);
    await this.refreshPeerHolds([...this.peers().keys()]);
  }

  peerHolding(nodeId: number): boolean {
    return (this.peerHolds.get(nodeId) ?? 0) > Date.now();
  }

  /** Asks each broker whether it holds leadership away; one that does not answer is taken not to. */
  private async refreshPeerHolds(ids: readonly number[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        try {
          const r = Buffer.from(await this.transport.request(id, HOLD_REQUEST_KIND, new Uint8Array(0), HOLD_REQUEST_TIMEOUT_MS));
          const ms = r.length >= 4 ? r.readUInt32BE(0) : 0;
          if (ms > 0) this.peerHolds.set(id, Date.now() + ms);
          else this.peerHolds.delete(id);
        } catch {
          // Down, or a broker from before holds were asked about: it holds nothing we know of.
          this.peerHolds.delete(id);
        }
      }),
    );
  }

  // ------------------------------------------------------------ peers and requests

  private peers(): ReadonlyMap<number, PeerAddress> {
    const out = new Map<number, PeerAddress>();
    for (const v of this.s.initialVoters) out.set(v.nodeId, { host: v.host, port: v.port });
    for (const b of this.machine.state.brokers.values()) {
      if (b.state !== 'removed') out.set(b.nodeId, { host: b.raft.host, port: b.raft.port });
    }
    out.delete(this.nodeId);
    return out;
  }

  serveRequests(kind: string, handler: (payload: Uint8Array, from: number) => Promise<Uint8Array>): void {
    if (kind === CONTROLLER_REQUEST_KIND || kind === JOIN_REQUEST_KIND) throw new Error(`request kind ${kind} is the controller's`);
    this.extraKinds.set(kind, handler);
  }

  private async serveRequest(kind: string, payload: Uint8Array, from: number): Promise<Uint8Array> {
    const extra = this.extraKinds.get(kind);
    if (extra) return extra(payload, from);
    if (kind !== CONTROLLER_REQUEST_KIND && kind !== JOIN_REQUEST_KIND) throw new Error(`unknown request kind ${kind}`);
    let req: ControllerRequest;
    try {
      req = decodeControllerRequest(payload);
    } catch (err) {
      const e = err instanceof KafkaError ? err : new KafkaError(ErrorCode.INVALID_REQUEST, String(err));
      return encodeControllerMessage({ ok: false, code: e.code, message: e.message });
    }
    // An unknown broker may only introduce itself, as itself.
    if (kind === JOIN_REQUEST_KIND && (req.op !== 'register-broker' || req.broker.nodeId !== from)) {
      return encodeControllerMessage({ ok: false, code: ErrorCode.INVALID_REQUEST, message: 'a joining broker may only register itself' });
    }
    if (!this.controller.active) {
      // Not the controller: relay to it (a joiner may not know who it is).
      const leader = this.metadata.leader();
      if (leader === null || leader === from) {
        return encodeControllerMessage({ ok: false, code: ErrorCode.NOT_CONTROLLER, message: 'There is no controller at the moment' });
      }
      try {
        return await this.transport.request(leader, CONTROLLER_REQUEST_KIND, payload, REQUEST_TIMEOUT_MS);
      } catch (err) {
        return encodeControllerMessage({ ok: false, code: ErrorCode.NOT_CONTROLLER, message: `Forwarding to controller ${leader} failed: ${(err as Error).message}` });
      }
    }
    return encodeControllerMessage(await this.controller.handle(req));
  }

  async controllerRequest(req: ControllerRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ControllerReply & { ok: true }> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no controller is known';
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, 'The broker is shutting down');
      let reply: ControllerReply | null = null;
      const leader = this.metadata.leader();
      if (leader === this.nodeId) {
        reply = await this.controller.handle(req);
      } else if (leader !== null || !this.registered()) {
        // Before this broker is a member it may not know the controller: ask a founding voter.
        const target = leader ?? this.s.initialVoters[attempt % this.s.initialVoters.length]?.nodeId;
        if (target !== undefined && target !== this.nodeId) {
          const kind = this.registered() ? CONTROLLER_REQUEST_KIND : JOIN_REQUEST_KIND;
          try {
            reply = decodeControllerReply(await this.transport.request(target, kind, encodeControllerMessage(req), Math.max(1000, deadline - Date.now())));
          } catch (err) {
            last = err instanceof PeerRequestError ? err.message : String(err);
          }
        }
      }
      if (reply !== null) {
        if (reply.ok) {
          await this.metadata.waitApplied(reply.index);
          return reply;
        }
        if (reply.code !== ErrorCode.NOT_CONTROLLER) throw new KafkaError(reply.code, reply.message);
        last = reply.message;
      }
      if (Date.now() >= deadline) throw new KafkaError(ErrorCode.NOT_CONTROLLER, `No controller answered within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** Math.min(attempt, 4), 500)));
    }
  }

  private scheduleRegistration(delayMs: number): void {
    if (this.closed) return;
    this.registrationTimer = setTimeout(() => {
      void this.register().then(
        () => undefined,
        (err: unknown) => {
          this.logger.warn({ err: (err as Error).message }, 'broker registration failed; retrying');
          this.scheduleRegistration(1000);
        },
      );
    }, delayMs);
    this.registrationTimer.unref();
  }

  private async register(): Promise<void> {
    const s = this.s;
    await this.controllerRequest(
      {
        op: 'register-broker',
        broker: { clusterId: s.clusterId, nodeId: this.nodeId, incarnationId: this.incarnationId, kafka: s.kafka, raft: s.raft, admin: s.admin, rack: s.rack },
      },
      10_000,
    );
    this.logger.info({ incarnation: this.incarnationId }, 'registered with the controller');
  }

  registered(): boolean {
    return this.machine.state.brokers.get(this.nodeId)?.incarnationId === this.incarnationId;
  }

  async allocateProducerIds(): Promise<{ firstProducerId: number; size: number }> {
    const r = await this.controllerRequest({ op: 'allocate-producer-ids', nodeId: this.nodeId });
    const v = r.value as { firstProducerId?: unknown; size?: unknown } | null;
    if (!v || typeof v.firstProducerId !== 'number' || typeof v.size !== 'number') throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'malformed producer id block');
    return { firstProducerId: v.firstProducerId, size: v.size };
  }

  // ------------------------------------------------------------ publishing the image

  /** Drives local replicas from each image change, in order. */
  private publish(prev: MetadataState, next: MetadataState): void {
    // Told as the image changes, not once the replicas below are closed: from this moment a new
    // topic of the same name may take commits, and those must queue behind the old one's cleanup.
    const gone = this.deletionListeners.length > 0 ? topicsGone(prev, next) : [];
    for (const l of gone.length > 0 ? this.deletionListeners : []) {
      try {
        l(gone);
      } catch (err) {
        this.logger.error({ err }, 'topic deletion listener failed');
      }
    }
    this.publishing = this.publishing.then(async () => {
      if (this.closed) return;
      const before = this.published;
      this.published = next;
      const delta = metadataDelta(before, next, this.nodeId);
      for (const d of delta.deleted) {
        for (const p of d.localPartitions) await this.closeReplica(before.topics.get(d.topic), p, true);
      }
      for (const c of delta.close) await this.closeReplica(before.topics.get(c.topic), c.partition, true);
      // Opened a few at a time: a topic of thousands of partitions must not take minutes.
      const opens = delta.open.slice();
      const worker = async (): Promise<void> => {
        for (let o = opens.shift(); o !== undefined; o = opens.shift()) {
          const t = next.topics.get(o.topic);
          if (!t) continue;
          const prior = before.topics.get(o.topic);
          const isNew = prior?.topicId !== t.topicId || (prior?.partitions ?? 0) <= o.partition;
          await this.openLocalReplica(t, o.partition, o.image, isNew);
        }
      };
      await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, opens.length) }, worker));
      for (const name of delta.configsChanged) {
        const t = next.topics.get(name);
        if (!t) continue;
        const cfg = this.logConfigFor(t);
        for (let p = 0; p < t.partitions; p++) this.replicas.get(partitionGroupId(t, p))?.storage && this.logLog(t, p)?.updateConfig(cfg);
      }
    }).catch((err: unknown) => this.logger.error({ err }, 'applying a metadata change to local replicas failed'));
  }

  private logLog(t: TopicImage, p: number): { updateConfig(c: LogConfig): void } | undefined {
    return this.opts.logManager.openLogs().find((l) => l.dir.endsWith(`${path.sep}${t.name}-${p}`));
  }

  private async openLocalReplica(t: TopicImage, partition: number, image: PartitionImage, isNew: boolean, reopened = false): Promise<void> {
    const group = partitionGroupId(t, partition);
    if (this.replicas.has(group)) return;
    try {
      await claimPartitionDir(path.join(this.s.dataDir, `${t.name}-${partition}`), t.topicId, this.logger);
      const replica = await openReplica({
        host: this.host,
        logManager: this.opts.logManager,
        journal: this.journal,
        topic: t.name,
        partition,
        group,
        nodeId: this.nodeId,
        // A new partition's replicas found its raft group; one added to an existing partition
        // starts empty and learns the configuration from the leader that adds it.
        voters: isNew ? image.replicas : [],
        logConfig: this.logConfigFor(t),
        limits: () => this.limitsFor(t.name),
        minInsyncReplicas: () => this.num(this.machine.state.topics.get(t.name), 'min.insync.replicas'),
        replicaLagTimeMaxMs: this.s.replicaLagTimeMaxMs,
        compacted: () => (this.effectiveConfig(this.machine.state.topics.get(t.name), 'cleanup.policy') ?? '').includes('compact'),
        fetchRecords: this.fetchRecords,
        timing: this.s.timing,
        logger: this.logger.child({ topic: t.name, partition }),
        // The preferred leader of a new partition campaigns at once: leadership lands where
        // placement spread it, without waiting out an election timeout.
        campaign: isNew && image.replicas[0] === this.nodeId && this.machine.state.brokers.get(this.nodeId)?.maintenance !== true,
        reopened,
      });
      replica.onStateChange = (p) => this.onReplicaState(p, t);
      replica.txnVerifier = this.txnVerifier;
      this.replicas.set(group, replica);
    } catch (err) {
      this.logger.error({ err, topic: t.name, partition }, 'opening a partition replica failed');
    }
  }

  private async closeReplica(t: TopicImage | undefined, partition: number, deleteData: boolean): Promise<void> {
    if (!t) return;
    const group = partitionGroupId(t, partition);
    this.revival.cancel(group);
    const r = this.replicas.get(group);
    if (!r) return;
    this.replicas.delete(group);
    r.close(deleteData);
    await this.host.removeGroup(group);
    this.journal.remove(group);
    const log = this.logLog(t, partition) as { delete?: () => Promise<void>; close?: () => Promise<void> } | undefined;
    try {
      if (deleteData) await log?.delete?.();
      else await log?.close?.();
    } catch (err) {
      this.logger.error({ err, topic: t.name, partition }, 'removing a partition replica failed');
    }
  }

  private onReplicaState(p: RaftPartition, t: TopicImage): void {
    for (const l of this.leadershipListeners) {
      try {
        l(p);
      } catch (err) {
        this.logger.error({ err }, 'partition leadership listener failed');
      }
    }
    if (!p.isLeader()) return;
    const current = this.machine.state.topics.get(t.name);
    if (!current || current.topicId !== t.topicId) return;
    this.reports.set(p.group, {
      topic: t.name,
      topicId: t.topicId,
      partition: p.partition,
      leader: this.nodeId,
      leaderEpoch: p.leaderEpoch(),
      isr: p.isr(),
    });
  }

  /** Replication health read at scrape time: under-replicated partitions, followers' lag. */
  private registerMetrics(registry: Registry): void {
    const replicas = (): RaftPartition[] => [...this.replicas.values()];
    if (!registry.getSingleMetric('chronik_under_replicated_partitions')) {
      new Gauge({
        name: 'chronik_under_replicated_partitions',
        help: 'Partitions led here whose ISR is smaller than their replica set',
        registers: [registry],
        collect() {
          let n = 0;
          for (const r of replicas()) if (r.isLeader() && r.isr().length < r.replicas().length) n++;
          this.set(n);
        },
      });
    }
    const revival = this.revival;
    if (!registry.getSingleMetric('chronik_raft_replica_revivals')) {
      new Gauge({
        name: 'chronik_raft_replica_revivals',
        help: 'Partition replicas opened again from disk after their raft group failed here, since the broker started',
        registers: [registry],
        collect() {
          this.set(revival.revived);
        },
      });
    }
    if (!registry.getSingleMetric('chronik_raft_replication_lag_entries')) {
      new Gauge({
        name: 'chronik_raft_replication_lag_entries',
        help: 'Entries a follower is behind its leader, as the leader here sees it',
        labelNames: ['topic', 'partition', 'follower'],
        registers: [registry],
        collect() {
          this.reset();
          for (const r of replicas()) {
            if (!r.isLeader()) continue;
            const last = r.node.lastIndex;
            for (const v of [...r.node.conf.voters, ...r.node.conf.learners]) {
              if (v === r.node.id) continue;
              const pr = r.node.progressOf(v);
              if (pr) this.set({ topic: r.topic, partition: String(r.partition), follower: String(v - 1) }, Math.max(0, last - pr.match));
            }
          }
        },
      });
    }
  }

  /** One retention pass over every local replica (each compacts its raft log, then deletes segments). */
  async applyRetention(now = Date.now()): Promise<number> {
    if (this.retentionRunning || this.closed) return 0;
    this.retentionRunning = true;
    let deleted = 0;
    try {
      for (const r of [...this.replicas.values()]) {
        try {
          deleted += await r.applyRetention(now);
        } catch (err) {
          this.logger.error({ err, topic: r.topic, partition: r.partition }, 'retention failed');
        }
      }
    } finally {
      this.retentionRunning = false;
    }
    if (deleted > 0) this.logger.info({ segments: deleted }, 'retention deleted segments');
    return deleted;
  }

  /**
   * Leadership goes back where placement spread it: a leader that is not its partition's
   * preferred replica hands over (TimeoutNow) once that one is in the ISR, fully caught up, live
   * and not in maintenance. Also what evens out leaders after a failover or a lost first race.
   */
  private async preferLeaders(): Promise<void> {
    if (this.closed || this.preferring) return;
    const image = this.machine.state;
    const due: { r: RaftPartition; to: number }[] = [];
    for (const r of this.replicas.values()) {
      if (!r.isLeader() || r.node.transferee !== 0) continue;
      const t = image.topics.get(r.topic);
      const preferred = t?.partitionImages[r.partition]?.replicas[0];
      if (preferred === undefined || preferred === this.nodeId) continue;
      const b = image.brokers.get(preferred);
      // In the ISR is not enough: a broker killed a moment ago stays there for replica.lag.time.max.ms,
      // and a transfer to it would hold the partition's writes until the transfer times out.
      if (!b || b.state !== 'active' || b.maintenance || !r.isr().includes(preferred) || !this.transport.peerUp(preferred)) continue;
      const pr = r.node.progressOf(preferred + 1);
      if (pr === undefined || pr.match < r.node.lastIndex) continue;
      due.push({ r, to: preferred });
    }
    if (due.length === 0) return;
    // A preferred replica just drained (about to stop) would only hand it on again.
    this.preferring = true;
    try {
      await this.refreshPeerHolds([...new Set(due.map((d) => d.to))]);
    } finally {
      this.preferring = false;
    }
    for (const { r, to } of due) {
      if (this.closed || !r.isLeader() || r.node.transferee !== 0 || this.peerHolding(to)) continue;
      if (r.node.transferLeadership(raftId(to))) {
        this.host.wake(r.group);
        this.logger.info({ topic: r.topic, partition: r.partition, to }, 'handing leadership back to the preferred replica');
      }
    }
  }

  onTopicsDeleted(l: (topics: readonly string[]) => void): void {
    this.deletionListeners.push(l);
  }

  onPartitionLeadership(l: (p: RaftPartition) => void): void {
    this.leadershipListeners.push(l);
  }

  peerRequest(nodeId: number, kind: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.transport.request(nodeId, kind, payload, timeoutMs);
  }

  setTxnVerifier(v: TxnVerifier | null): void {
    this.txnVerifier = v;
    for (const r of this.replicas.values()) r.txnVerifier = v;
  }

  /** Leadership and ISR reports go to the controller in batches. */
  private flushReports(): void {
    if (++this.reportPasses % RESCAN_EVERY_PASSES === 0) this.queueDivergentReports();
    if (this.reports.size === 0 || this.closed || !this.registered()) return;
    const reports = [...this.reports.values()];
    this.reports = new Map();
    this.controllerRequest({ op: 'report-partitions', reports }, 5000).catch((err: unknown) => {
      // Put them back unless newer ones arrived meanwhile.
      for (const r of reports) {
        const g = this.machine.state.topics.get(r.topic);
        if (!g) continue;
        const group = partitionGroupId(g, r.partition);
        if (!this.reports.has(group)) this.reports.set(group, r);
      }
      this.logger.debug({ err: (err as Error).message }, 'partition reports not delivered; retrying');
    });
  }

  /**
   * Reports are sent when a leader's view changes; a change whose report never took effect
   * would leave the metadata behind for good (seen once in an e2e roll: a partition's ISR stayed
   * [leader] in the metadata while its leader counted every follower in sync, which held the
   * roll). So every second each partition led here whose metadata differs from its own view is
   * reported again; a stale one is dropped by the controller as before.
   */
  private queueDivergentReports(): void {
    if (this.closed) return;
    const image = this.machine.state;
    for (const r of this.replicas.values()) {
      if (!r.isLeader() || this.reports.has(r.group)) continue;
      const t = image.topics.get(r.topic);
      const p = t?.partitionImages[r.partition];
      if (!t || !p) continue;
      const isr = r.isr();
      const same = p.leader === this.nodeId && p.leaderEpoch === r.leaderEpoch() && p.isr.length === isr.length && isr.every((id) => p.isr.includes(id));
      if (same) continue;
      this.reports.set(r.group, { topic: t.name, topicId: t.topicId, partition: r.partition, leader: this.nodeId, leaderEpoch: r.leaderEpoch(), isr: [...isr] });
    }
  }

  // ------------------------------------------------------------ Cluster

  image(): MetadataState {
    return this.machine.state;
  }

  /** A registered broker this one can reach now (its raft stream is up), or this broker. */
  private live(nodeId: number): boolean {
    if (nodeId === this.nodeId) return true;
    const b = this.machine.state.brokers.get(nodeId);
    return b !== undefined && b.state !== 'removed' && this.transport.peerUp(nodeId);
  }

  /** Live brokers only, as Kafka lists them: clients never wait on a dead one's address. */
  brokers(): readonly BrokerInfo[] {
    const out: BrokerInfo[] = [];
    for (const b of this.machine.state.brokers.values()) {
      if (!this.live(b.nodeId)) continue;
      out.push({ nodeId: b.nodeId, host: b.kafka.host, port: b.kafka.port, rack: b.rack });
    }
    if (!out.some((b) => b.nodeId === this.nodeId)) {
      // Until this broker's registration applies, clients still need to reach it.
      out.push({ nodeId: this.nodeId, host: this.s.kafka.host, port: this.s.kafka.port, rack: this.s.rack });
    }
    return out.sort((a, b) => a.nodeId - b.nodeId);
  }

  /** The metadata group's leader if this broker can reach it, else -1 (an election is due). */
  controllerId(): number {
    const leader = this.metadata.leader();
    return leader !== null && this.live(leader) ? leader : -1;
  }

  topics(): readonly TopicInfo[] {
    return [...this.machine.state.topics.values()];
  }

  topic(name: string): TopicInfo | undefined {
    return this.machine.state.topics.get(name);
  }

  topicById(topicId: string): TopicInfo | undefined {
    const image = this.machine.state;
    if (this.byIdVersion !== image.version) {
      this.byIdCache = new Map([...image.topics.values()].map((t) => [t.topicId, t]));
      this.byIdVersion = image.version;
    }
    return this.byIdCache.get(topicId);
  }

  partition(topic: string, partition: number): DataPartition | undefined {
    const t = this.machine.state.topics.get(topic);
    if (!t || partition < 0 || partition >= t.partitions) return undefined;
    return this.replicas.get(partitionGroupId(t, partition));
  }

  /** The local replica, whatever its role. */
  replica(topic: string, partition: number): RaftPartition | undefined {
    const t = this.machine.state.topics.get(topic);
    if (!t) return undefined;
    return this.replicas.get(partitionGroupId(t, partition));
  }

  partitionLeader(topic: string, partition: number): number {
    return this.partitionView(topic, partition)?.leader ?? -1;
  }

  partitionView(topic: string, partition: number): PartitionView | undefined {
    const image = this.machine.state;
    const t = image.topics.get(topic);
    const p = t?.partitionImages[partition];
    if (!t || !p) return undefined;
    const offline = p.replicas.filter((r) => !this.live(r));
    const local = this.replicas.get(partitionGroupId(t, partition));
    if (local && local.isLeader()) {
      return { leader: this.nodeId, leaderEpoch: local.leaderEpoch(), replicas: p.replicas, isr: local.isr(), offline };
    }
    if (local) {
      // A replica hears of a new leader with its first message; the metadata a report and a
      // commit later. A client just told NOT_LEADER here (a drain, a transfer) asks for metadata
      // next: naming the old leader again would cost it a second error for the same send.
      // What the core has heard, not what the host has stored yet: a replica behind on fsyncs
      // would otherwise name the old leader for as long as its disk is busy.
      const known = local.heardLeader() ?? local.leader();
      if (known !== null && known.epoch > p.leaderEpoch && (known.nodeId === this.nodeId || this.live(known.nodeId))) {
        return { leader: known.nodeId, leaderEpoch: known.epoch, replicas: p.replicas, isr: p.isr, offline };
      }
      if (known === null && p.leader === this.nodeId) return { leader: -1, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, offline };
    }
    // A leader this broker cannot reach is about to be replaced: say "no leader" so clients
    // retry, rather than name a broker the broker list no longer has.
    const leader = p.leader >= 0 && this.live(p.leader) ? p.leader : -1;
    return { leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, offline };
  }

  placement(): Placement {
    return placementFor(this.machine.state, (id) => id === this.nodeId || this.transport.peerUp(id));
  }

  brokerSettings(): BrokerSettings {
    return this.s.settings;
  }

  autoCreateTopics(): boolean {
    return this.s.settings.get('auto.create.topics.enable');
  }

  topicConfig(name: string, key: string): string | undefined {
    return this.effectiveConfig(this.machine.state.topics.get(name), key);
  }

  async createTopic(spec: CreateTopicSpec, validateOnly = false): Promise<TopicInfo> {
    if (isReservedInternalTopic(spec.name) && spec.internal !== true) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${spec.name}' is reserved for the brokers' own use`);
    }
    const r = await this.controllerRequest({ op: 'create-topic', topic: spec, validateOnly });
    const value = r.value as TopicInfo;
    if (validateOnly) return value;
    const created = this.machine.state.topics.get(spec.name);
    if (!created) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Topic '${spec.name}' was created but is not in this broker's metadata`);
    // Local replicas open through the publisher; wait for that so produce finds them, and a
    // little for leaders, so the client's next Metadata names them.
    await this.publishing;
    await this.awaitLeaders(spec.name, LEADER_WAIT_MS);
    this.logger.info({ topic: spec.name, partitions: created.partitions, replicationFactor: created.replicationFactor }, 'topic created');
    return created;
  }

  /**
   * Creates the single-broker topics again with their ids, on this broker alone, once it is the
   * controller (it is the only voter); each replica then opens on the directory claimed for it.
   * Idempotent: topics that exist already (an import interrupted after them) are skipped.
   */
  private async importLegacy(legacy: LegacyData): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!this.controller.active || !this.registered()) {
      if (this.closed) return;
      if (Date.now() > deadline) throw new Error('importing single-broker topics: this broker did not become the registered controller within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    let created = 0;
    for (const t of legacy.topics) {
      const existing = this.machine.state.topics.get(t.name);
      if (existing !== undefined) {
        if (existing.topicId !== t.topicId) throw new Error(`importing single-broker topics: topic '${t.name}' exists with another id`);
        continue;
      }
      const assignments = Array.from({ length: t.partitions }, () => [this.nodeId]);
      try {
        await this.controllerRequest({
          op: 'create-topic',
          topic: { name: t.name, partitions: -1, replicationFactor: -1, configs: t.configs, internal: t.internal, assignments, topicId: t.topicId },
          validateOnly: false,
        });
      } catch (err) {
        throw new Error(`importing single-broker topic '${t.name}': ${err instanceof Error ? err.message : String(err)}`);
      }
      created++;
    }
    // Producer ids the single broker handed out are not handed out again.
    for (let i = 0; i < 10_000 && this.machine.state.nextProducerId < legacy.nextProducerId; i++) {
      await this.controllerRequest({ op: 'allocate-producer-ids', nodeId: this.nodeId });
    }
    await this.publishing;
    await markLegacyImported(this.s.dataDir, legacy);
    this.logger.warn({ created, topics: legacy.topics.map((t) => t.name) }, 'imported the topics of a single-broker data dir');
  }

  async awaitSettled(ms: number): Promise<boolean> {
    await this.legacyImport;
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.closed) return false;
      if (this.registered()) {
        await this.publishing;
        let led = true;
        for (const r of this.replicas.values()) if (r.leader() === null) led = false;
        if (led) return true;
      }
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves once every partition of `topic` has a known leader, or after `ms`. */
  private async awaitLeaders(topic: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = this.machine.state.topics.get(topic);
      if (!t || this.closed) return;
      let all = true;
      for (let p = 0; p < t.partitions && all; p++) all = (this.partitionView(topic, p)?.leader ?? -1) >= 0;
      if (all || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.machine.state.topics.get(name);
    if (t?.internal) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' is internal and cannot be deleted`);
    await this.controllerRequest({ op: 'delete-topic', name });
    await this.publishing;
  }

  async createPartitions(name: string, totalCount: number, validateOnly = false): Promise<void> {
    await this.controllerRequest({ op: 'create-partitions', name, totalCount, validateOnly });
    if (validateOnly) return;
    await this.publishing;
    await this.awaitLeaders(name, LEADER_WAIT_MS);
  }

  async alterTopicConfigs(name: string, configs: Readonly<Record<string, string | null>>, incremental: boolean, validateOnly = false): Promise<void> {
    await this.controllerRequest({ op: 'alter-configs', name, configs, incremental, validateOnly });
    if (!validateOnly) await this.publishing;
  }

  // ------------------------------------------------------------ topic settings

  private effectiveConfig(t: TopicInfo | undefined, key: string): string | undefined {
    const override = t?.configs[key];
    if (override !== undefined) return override;
    const def = topicConfigDefs.get(key);
    return def ? brokerDefaultFor(def, this.s.settings).value : undefined;
  }

  private num(t: TopicInfo | undefined, key: string): number {
    const def = topicConfigDefs.get(key);
    return toNumber(this.effectiveConfig(t, key), def ? Number(def.defaultValue) : 0);
  }

  private limitsFor(name: string): PartitionLimits {
    const t = this.machine.state.topics.get(name);
    const diff = this.num(t, 'message.timestamp.difference.max.ms');
    return {
      maxMessageBytes: this.num(t, 'max.message.bytes'),
      timestampType: this.effectiveConfig(t, 'message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
      timestampDifferenceMaxMs: diff >= SAFE_INTEGER_LIMIT ? Infinity : diff,
    };
  }

  private logConfigFor(t: TopicInfo): LogConfig {
    return {
      segmentBytes: this.num(t, 'segment.bytes'),
      segmentMs: this.num(t, 'segment.ms'),
      retentionMs: this.num(t, 'retention.ms'),
      retentionBytes: this.num(t, 'retention.bytes'),
      indexIntervalBytes: this.num(t, 'index.interval.bytes'),
      cleanupPolicy: this.effectiveConfig(t, 'cleanup.policy') ?? 'delete',
      timestampType: this.effectiveConfig(t, 'message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
      ...compactionConfig((k) => this.num(t, k)),
    };
  }

  // ------------------------------------------------------------ shutdown

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reportTimer) clearInterval(this.reportTimer);
    if (this.balanceTimer) clearInterval(this.balanceTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.registrationTimer) clearTimeout(this.registrationTimer);
    this.driver?.stop();
    this.guard?.stop();
    this.controller.stop();
    this.revival.close();
    this.scrubber?.stop();
    await this.publishing;
    await this.host.stop();
    for (const r of this.replicas.values()) r.close();
    this.metadata.close();
    await this.transport.close();
    this.journal.close();
  }
}

/** The cluster settings of a broker configuration (its addresses, voters and raft timing). */
export function raftClusterSettings(config: BrokerConfig, clusterId: string): RaftClusterSettings {
  const s = config.settings;
  return {
    nodeId: config.nodeId,
    clusterId,
    dataDir: config.dataDir,
    rack: config.rack,
    kafka: { host: config.advertisedHost, port: config.advertisedPort },
    raft: config.raftAdvertised,
    raftListen: config.raftListen,
    admin: config.adminAdvertised,
    initialVoters: config.initialVoters ?? [{ nodeId: config.nodeId, ...config.raftAdvertised }],
    settings: s,
    tickMs: s.get('chronik.raft.tick.ms'),
    timing: { electionTicks: s.get('chronik.raft.election.ticks'), heartbeatTicks: s.get('chronik.raft.heartbeat.ticks') },
    replicaLagTimeMaxMs: s.get('replica.lag.time.max.ms'),
  };
}


/**
 * A partition directory belongs to one topic id. A directory left by a deleted topic of the same
 * name (a crash between the delete and the removal), or one without an identity, is removed
 * before the new topic's replica opens, so its data is never served as the new topic's.
 */
async function claimPartitionDir(dir: string, topicId: string, logger: Logger): Promise<void> {
  let recorded: string | null = null;
  try {
    recorded = (await fs.promises.readFile(path.join(dir, PARTITION_IDENTITY), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (recorded === topicId) return;
  if (fs.existsSync(dir)) {
    logger.warn({ dir, was: recorded, topicId }, 'removing a partition directory of another topic (a leftover of a deleted one)');
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
  await fs.promises.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, PARTITION_IDENTITY), `${topicId}\n`);
}

export async function openRaftCluster(opts: RaftClusterOptions): Promise<RaftCluster> {
  const c = new RaftClusterImpl(opts);
  await c.start();
  return c;
}
