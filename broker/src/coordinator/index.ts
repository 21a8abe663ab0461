/**
 * The coordinator module's public surface: consumer groups, committed offsets, transactions and
 * producer ids. The Kafka APIs that expose them (kafka/apis/) use the interfaces exported here.
 *
 * Groups live in `__consumer_offsets`, transactional ids in `__transaction_state`; the
 * coordinator of a key is the leader of its partition, which loads the partition when elected
 * (partition-loader.ts; groups come back Empty with their offsets and generation, transactions
 * as they were, half-finished ones resumed) and drops it when it resigns.
 *
 * Between brokers (txn-peer-protocol.ts): the transaction coordinator writes markers through
 * each partition's leader (`txn.markers`), and a partition leader verifies a transactional batch
 * that would open a transaction with the coordinator (`txn.verify`, KIP-890).
 */
import type { DataCluster } from '../cluster/types.js';
import type { BrokerConfig } from '../config/index.js';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';
import type { TxnVerifier } from '../replication/raft-partition.js';
import { GroupCoordinator, groupConfig, type CoordinatorLogger, type GroupConfig } from './group-coordinator.js';
import type { GroupMembership } from './group-membership.js';
import type { GroupOffsets } from './group-offsets.js';
import { OFFSETS_TOPIC } from './group-partition.js';
import { InternalTopic } from './internal-topic.js';
import { isAssignorName } from './assignors.js';
import { CoordinatorRecordError } from './offsets-records.js';
import { groupsOfPartition, offsetsLoadHooks, OffsetsTopicStore } from './offsets-topic-store.js';
import { PartitionLoader } from './partition-loader.js';
import { ProducerIdAllocator } from './producer-ids.js';
import { realScheduler } from './group-types.js';
import { TransactionCoordinator } from './txn-coordinator.js';
import { TxnMarkerSender } from './txn-markers.js';
import {
  decodeMarkerReply,
  decodeMarkerRequest,
  decodeVerifyReply,
  decodeVerifyRequest,
  encodeJson,
  malformed,
  TXN_MARKERS_KIND,
  TXN_VERIFY_KIND,
  type MarkerResult,
  type MarkerWrite,
} from './txn-peer-protocol.js';
import { decodeTxnKey, decodeTxnValue, TXN_STATE_TOPIC } from './txn-records.js';

export { ProducerStateTable, type SequenceCheck, type ProducerBatch } from './producer-state.js';
export { GroupCoordinator, type GroupConfig, type GroupOverview } from './group-coordinator.js';
export type { GroupMembership } from './group-membership.js';
export type { ConsumerGroups } from './consumer-groups.js';
export type { GroupOffsets } from './group-offsets.js';
export { AUTHORIZED_OPERATIONS_OMITTED, type FetchedOffset, type PartitionError } from './group-types.js';
export { OFFSETS_TOPIC, partitionForKey, javaHashCode } from './group-partition.js';
export { TransactionCoordinator } from './txn-coordinator.js';
export { TXN_STATE_TOPIC } from './txn-records.js';

/** A broker as FindCoordinator names it. */
export interface CoordinatorNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** Hands out producer ids (fsync-backed blocks in production). */
export interface ProducerIdSource {
  allocate(): Promise<number>;
}

/**
 * The cluster as the coordinators use it; the broker-to-broker requests and the verifier hook
 * are there on the raft cluster (without them, as in single-process tools, transactions still
 * work for partitions this broker leads).
 */
export interface CoordinatorCluster extends DataCluster {
  serveRequests?(kind: string, handler: (payload: Uint8Array, from: number) => Promise<Uint8Array>): void;
  peerRequest?(nodeId: number, kind: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  setTxnVerifier?(v: TxnVerifier | null): void;
}

export interface CoordinatorOptions {
  readonly cluster: CoordinatorCluster;
  readonly config: BrokerConfig;
  readonly logger: CoordinatorLogger;
  /**
   * Producer-id blocks from the cluster's metadata (the controller hands them out); without it
   * ids come from this broker's own fsync-backed range.
   */
  readonly producerIdBlocks?: () => Promise<{ firstProducerId: number; size: number }>;
  /** Leadership of partitions changed (the coordinator re-checks which offsets partitions it leads). */
  readonly onLeadershipChange?: (listener: (topic: string, partition: number) => void) => void;
  /** Topics were deleted (the group coordinator drops their committed offsets). */
  readonly onTopicsDeleted?: (listener: (topics: readonly string[]) => void) => void;
}

export interface Coordinator {
  /** The group coordinator itself (admin API, tests). */
  readonly groups: GroupCoordinator;
  readonly membership: GroupMembership;
  readonly offsets: GroupOffsets;
  readonly producerIds: ProducerIdSource;
  readonly transactions: TransactionCoordinator;
  /**
   * The broker coordinating `key` (a group, keyType 0, or a transactional id, keyType 1): the
   * leader of its partition of `__consumer_offsets` or `__transaction_state`, anywhere in the
   * cluster; null while there is none (the first call creates the topic).
   */
  coordinatorFor(key: string, keyType: number): Promise<CoordinatorNode | null>;
  /** KIP-890: null when the partition is in the producer's ongoing transaction, else the error. */
  verifyTransaction: TxnVerifier;
  close(): Promise<void>;
}

/** The broker settings the coordinator reads. */
export interface CoordinatorSettings {
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly group: GroupConfig;
  readonly txnTopicPartitions: number;
  readonly txnTopicReplicationFactor: number;
  readonly txnTopicSegmentBytes: number;
  readonly txnMaxTimeoutMs: number;
  readonly txnAbortCheckIntervalMs: number;
  readonly txnIdExpirationMs: number;
  readonly txnExpireCheckIntervalMs: number;
  readonly txnVerification: boolean;
}

export function coordinatorSettings(config: BrokerConfig): CoordinatorSettings {
  const s = config.settings;
  return {
    offsetsTopicPartitions: s.get('offsets.topic.num.partitions'),
    offsetsTopicReplicationFactor: s.get('offsets.topic.replication.factor'),
    offsetsTopicSegmentBytes: s.get('offsets.topic.segment.bytes'),
    offsetsRetentionCheckIntervalMs: s.get('offsets.retention.check.interval.ms'),
    group: groupConfig(s),
    txnTopicPartitions: s.get('transaction.state.log.num.partitions'),
    txnTopicReplicationFactor: s.get('transaction.state.log.replication.factor'),
    txnTopicSegmentBytes: s.get('transaction.state.log.segment.bytes'),
    txnMaxTimeoutMs: s.get('transaction.max.timeout.ms'),
    txnAbortCheckIntervalMs: s.get('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
    txnIdExpirationMs: s.get('transactional.id.expiration.ms'),
    txnExpireCheckIntervalMs: s.get('transaction.remove.expired.transaction.cleanup.interval.ms'),
    txnVerification: s.get('transaction.partition.verification.enable'),
  };
}

/** Producer ids in blocks the controller hands out (unique cluster-wide, durable in metadata). */
class BlockProducerIds implements ProducerIdSource {
  private next = 0;
  private end = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly blocks: () => Promise<{ firstProducerId: number; size: number }>) {}

  allocate(): Promise<number> {
    const run = this.chain.then(async () => {
      if (this.next >= this.end) {
        const b = await this.blocks();
        this.next = b.firstProducerId;
        this.end = b.firstProducerId + b.size;
      }
      return this.next++;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

const RECONCILE_EVERY_MS = 1000;
const LOAD_POLL_MS = 20;
/** How long FindCoordinator waits for a leader of the key's partition before answering 15. */
const COORDINATOR_WAIT_MS = 3000;
/** Deadline of one broker-to-broker transaction request. */
const PEER_TIMEOUT_MS = 10_000;
const KEY_TYPE_TRANSACTION = 1;

/** Coordinator-side errors a produce reports as retriable (Kafka maps them to NOT_ENOUGH_REPLICAS). */
const RETRIABLE_VERIFY = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);

export async function createCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  const { cluster, config, logger } = opts;
  const settings = coordinatorSettings(config);
  const replicas = (configured: number) => () => Math.min(configured, Math.max(cluster.brokers().length, 1));
  const partitionExists = (topic: string, partition: number): boolean => {
    const t = cluster.topic(topic);
    return t !== undefined && Number.isInteger(partition) && partition >= 0 && partition < t.partitions;
  };

  // ---------------------------------------------------------------- consumer groups
  const store = new OffsetsTopicStore({
    cluster,
    partitions: settings.offsetsTopicPartitions,
    replicationFactor: replicas(settings.offsetsTopicReplicationFactor),
    segmentBytes: settings.offsetsTopicSegmentBytes,
    logger,
  });
  const s = config.settings;
  const groups = new GroupCoordinator({
    store,
    config: settings.group,
    logger,
    partitionExists,
    consumerProtocol: {
      catalog: {
        byName: (name) => {
          const t = cluster.topic(name);
          return t === undefined ? undefined : { topicId: t.topicId, partitions: t.partitions, internal: t.internal };
        },
        byId: (id) => {
          const t = cluster.topicById(id);
          return t === undefined ? undefined : { name: t.name, partitions: t.partitions };
        },
        names: () => cluster.topics().map((t) => t.name),
      },
      config: {
        sessionTimeoutMs: s.get('group.consumer.session.timeout.ms'),
        heartbeatIntervalMs: s.get('group.consumer.heartbeat.interval.ms'),
        assignors: s.get('group.consumer.assignors').filter(isAssignorName),
        maxSize: s.get('group.consumer.max.size'),
        migrationPolicy: s.get('group.consumer.migration.policy'),
      },
    },
  });
  const producerIds: ProducerIdSource = opts.producerIdBlocks
    ? new BlockProducerIds(opts.producerIdBlocks)
    : await ProducerIdAllocator.open(config.dataDir, config.nodeId);
  let closed = false;

  const inPartition = (partition: number) => groupsOfPartition(store, partition);
  const offsetsLoader = new PartitionLoader(store, cluster, offsetsLoadHooks(store, groups), logger);

  // ---------------------------------------------------------------- transactions
  const txnStore = new InternalTopic({
    cluster,
    topic: TXN_STATE_TOPIC,
    partitions: settings.txnTopicPartitions,
    replicationFactor: replicas(settings.txnTopicReplicationFactor),
    segmentBytes: settings.txnTopicSegmentBytes,
    logger,
  });

  /** Writes markers to the partitions this broker leads (the `txn.markers` handler). */
  const writeMarkers = async (markers: readonly MarkerWrite[]): Promise<MarkerResult[]> => {
    const out: MarkerResult[] = [];
    await Promise.all(
      markers.flatMap((m) =>
        m.partitions.map(async ({ topic, partition }) => {
          const result = (code: number, message?: string): void => {
            out.push({ producerId: m.producerId, topic, partition, code, ...(message !== undefined ? { message } : {}) });
          };
          if (!partitionExists(topic, partition)) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          const p = cluster.partition(topic, partition);
          if (p === undefined || !p.isLeader()) return result(ErrorCode.NOT_LEADER_OR_FOLLOWER);
          try {
            const offset = await p.writeTxnMarker(m);
            if (topic === OFFSETS_TOPIC) {
              offsetsLoader.whenLoaded(partition, offset, () => groups.completeTransaction(m.producerId, m.commit, inPartition(partition)));
            }
            return result(ErrorCode.NONE);
          } catch (err) {
            if (err instanceof KafkaError) return result(err.code, err.message);
            logger.error({ err, topic, partition }, 'writing a transaction marker failed');
            return result(ErrorCode.UNKNOWN_SERVER_ERROR, err instanceof Error ? err.message : String(err));
          }
        }),
      ),
    );
    return out;
  };

  const markerSender = new TxnMarkerSender({
    leaderOf: (topic, partition) => cluster.partitionLeader(topic, partition),
    partitionExists,
    deliver: async (nodeId, markers) => {
      if (nodeId === cluster.nodeId) return writeMarkers(markers);
      if (cluster.peerRequest === undefined) throw new Error(`no way to reach broker ${nodeId}`);
      return decodeMarkerReply(await cluster.peerRequest(nodeId, TXN_MARKERS_KIND, encodeJson({ markers }), PEER_TIMEOUT_MS));
    },
    logger,
  });
  const transactions = new TransactionCoordinator({
    store: txnStore,
    producerIds,
    markers: markerSender,
    offsetsPartition: (groupId) => ({ topic: OFFSETS_TOPIC, partition: store.partitionFor(groupId) }),
    partitionExists,
    config: { maxTimeoutMs: settings.txnMaxTimeoutMs, idExpirationMs: settings.txnIdExpirationMs },
    scheduler: realScheduler,
    logger,
  });
  const txnLoader = new PartitionLoader(
    txnStore,
    cluster,
    {
      replay: async (partition, end, stillLeader) => {
        let records = 0;
        let skipped = 0;
        await txnStore.replay(
          partition,
          end,
          (header, decoded) => {
            if (header.isControl) return;
            if (decoded === null) {
              skipped++;
              return;
            }
            for (const r of decoded) {
              try {
                if (r.key === null) throw new CoordinatorRecordError('record without a key');
                transactions.applyRecord(partition, decodeTxnKey(r.key), r.value === null ? null : decodeTxnValue(r.value));
                records++;
              } catch (e) {
                if (!(e instanceof CoordinatorRecordError)) throw e;
                skipped++;
                logger.warn({ partition, offset: r.offset, err: e.message }, 'skipping unreadable transaction-state record');
              }
            }
          },
          stillLeader,
        );
        return { records, skipped };
      },
      loaded: (partition, epoch) => transactions.finishLoading(partition, epoch),
      unload: (partition) => transactions.unload(partition),
    },
    logger,
  );

  /** KIP-890: asks the coordinator of `transactionalId`, wherever it is, about one partition. */
  const verifyTransaction: TxnVerifier = async (transactionalId, producerId, producerEpoch, topic, partition) => {
    // A transactional batch means the producer's InitProducerId created the topic: an image here
    // without it is behind, so the producer is told to retry, not that its id is unknown.
    if (!txnStore.exists()) {
      return { code: ErrorCode.NOT_ENOUGH_REPLICAS, message: `this broker has not yet heard of ${TXN_STATE_TOPIC}; the transaction of '${transactionalId}' cannot be verified now` };
    }
    const leader = cluster.partitionLeader(TXN_STATE_TOPIC, txnStore.partitionFor(transactionalId));
    let answer: { code: number; message: string };
    if (leader === cluster.nodeId) {
      const code = transactions.verifyPartitions(transactionalId, producerId, producerEpoch, [{ topic, partition }]).values().next().value ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      answer = { code, message: '' };
    } else if (leader < 0 || cluster.peerRequest === undefined) {
      answer = { code: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: '' };
    } else {
      try {
        const req = { transactionalId, producerId, producerEpoch, topic, partition };
        answer = decodeVerifyReply(await cluster.peerRequest(leader, TXN_VERIFY_KIND, encodeJson(req), PEER_TIMEOUT_MS));
      } catch (err) {
        answer = { code: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: err instanceof Error ? err.message : String(err) };
      }
    }
    if (answer.code === ErrorCode.NONE) return null;
    if (RETRIABLE_VERIFY.has(answer.code)) {
      return { code: ErrorCode.NOT_ENOUGH_REPLICAS, message: `the transaction coordinator of '${transactionalId}' cannot verify ${topic}-${partition} now` };
    }
    return { code: answer.code, message: answer.message || `${topic}-${partition} is not part of the ongoing transaction of '${transactionalId}' (producer ${producerId}, epoch ${producerEpoch})` };
  };

  cluster.serveRequests?.(TXN_MARKERS_KIND, async (payload) => {
    let markers: MarkerWrite[];
    try {
      markers = decodeMarkerRequest(payload);
    } catch (err) {
      return malformed(err);
    }
    return encodeJson({ results: await writeMarkers(markers) });
  });
  cluster.serveRequests?.(TXN_VERIFY_KIND, (payload) => {
    try {
      const v = decodeVerifyRequest(payload);
      const code = transactions.verifyPartitions(v.transactionalId, v.producerId, v.producerEpoch, [{ topic: v.topic, partition: v.partition }]).values().next().value;
      return Promise.resolve(encodeJson({ code: code ?? ErrorCode.UNKNOWN_SERVER_ERROR, message: '' }));
    } catch (err) {
      return Promise.resolve(malformed(err));
    }
  });
  if (settings.txnVerification) cluster.setTxnVerifier?.(verifyTransaction);

  // ---------------------------------------------------------------- loading, FindCoordinator
  const reconcile = (): void => {
    if (closed) return;
    offsetsLoader.reconcile();
    txnLoader.reconcile();
  };
  opts.onLeadershipChange?.((topic) => {
    if (topic === OFFSETS_TOPIC || topic === TXN_STATE_TOPIC) reconcile();
  });
  opts.onTopicsDeleted?.((topics) => {
    if (closed) return;
    groups.deleteOffsetsOfTopics(new Set(topics)).then(
      (n) => {
        if (n > 0) logger.info({ topics, offsets: n }, 'deleted the committed offsets of deleted topics');
      },
      (err: unknown) => logger.warn({ err, topics }, 'deleting the committed offsets of deleted topics failed'),
    );
  });
  reconcile();
  const reconciler = setInterval(reconcile, RECONCILE_EVERY_MS);
  reconciler.unref();

  const leaderNode = (topic: InternalTopic, key: string): CoordinatorNode | null => {
    const leader = cluster.partitionLeader(topic.name, topic.partitionFor(key));
    if (leader < 0) return null;
    const b = cluster.brokers().find((x) => x.nodeId === leader);
    if (b !== undefined) return b;
    return leader === cluster.nodeId ? { nodeId: cluster.nodeId, host: config.advertisedHost, port: config.advertisedPort } : null;
  };
  /**
   * The first request for a coordinator creates its topic; the answer waits a little for the
   * partition's leader (elections of new partitions take one round trip), so clients need not
   * back off and retry on a fresh cluster.
   */
  const coordinatorFor = async (key: string, keyType: number): Promise<CoordinatorNode | null> => {
    const topic = keyType === KEY_TYPE_TRANSACTION ? txnStore : store;
    if (!topic.exists()) {
      try {
        await topic.ensureTopic();
      } catch (err) {
        logger.warn({ topic: topic.name, err: err instanceof Error ? err.message : String(err) }, 'creating a coordinator topic failed');
        return null;
      }
      reconcile();
    }
    const deadline = Date.now() + COORDINATOR_WAIT_MS;
    for (;;) {
      const node = leaderNode(topic, key);
      // Here, also wait for the partition to load, so the client's next request is served.
      const ready = node !== null && (node.nodeId !== cluster.nodeId || topic.isLoaded(topic.partitionFor(key)));
      if (ready || closed || Date.now() >= deadline) return node;
      await new Promise((r) => setTimeout(r, LOAD_POLL_MS));
    }
  };

  const every = (ms: number, what: string, run: () => Promise<number>): NodeJS.Timeout => {
    let running = false;
    return setInterval(() => {
      if (running || closed) return;
      running = true;
      run()
        .then((n) => {
          if (n > 0) logger.info({ n }, what);
        })
        .catch((err: unknown) => logger.error({ err }, `${what}: failed`))
        .finally(() => {
          running = false;
        });
    }, ms).unref();
  };
  const timers = [
    every(settings.offsetsRetentionCheckIntervalMs, 'expired committed offsets', () => groups.expireOffsets()),
    every(settings.txnAbortCheckIntervalMs, 'aborted timed-out transactions', () => transactions.abortTimedOut()),
    every(settings.txnExpireCheckIntervalMs, 'expired transactional ids', () => transactions.expireIdle()),
  ];

  return {
    groups,
    membership: groups.membership,
    offsets: groups.offsets,
    producerIds,
    transactions,
    coordinatorFor,
    verifyTransaction,
    close() {
      closed = true;
      for (const t of timers) clearInterval(t);
      clearInterval(reconciler);
      offsetsLoader.close();
      txnLoader.close();
      cluster.setTxnVerifier?.(null);
      transactions.close();
      groups.close();
      return Promise.resolve();
    },
  };
}
