import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { Gauge } from 'prom-client';
import { MAX_GROUP_COMMIT_LINGER_MS, type BrokerConfig } from './config/index.js';
import { claimDataDir } from './cluster/data-dir-identity.js';
import { startAdmin, type AdminHandle } from './admin/index.js';
import { openRaftCluster, raftClusterSettings, type RaftCluster } from './cluster/raft-cluster.js';
import { createCoordinator } from './coordinator/index.js';
import { apiVersionsApi } from './kafka/apis/api-versions.js';
import { bindApis } from './kafka/apis/registry.js';
import { createKafkaServer, type KafkaServer } from './kafka/server/kafka-server.js';
import { protocolCodec } from './kafka/server/protocol-codec.js';
import { serverSettings } from './kafka/server/settings.js';
import { createLogManager, registerCleanerMetrics, type GroupCommitStats } from './log/index.js';
import type { Logger } from './observability/logger.js';
import { createBrokerMetrics, type BrokerMetrics } from './observability/metrics.js';
import { startHttpServer, type ObservabilityServer } from './observability/http-server.js';

export interface Broker {
  readonly config: BrokerConfig;
  readonly metrics: BrokerMetrics;
  /** Bound ports (differ from the config when it asked for port 0). */
  readonly kafkaPort: number;
  readonly httpPort: number;
  /** The admin listener's port; null without one. */
  readonly adminPort: number | null;
  ready(): boolean;
  /** Stops accepting, finishes in-flight requests, closes the coordinator, cluster and logs (fsync). Idempotent. */
  stop(): Promise<void>;
}

export interface StartBrokerOptions {
  readonly logger: Logger;
  /** Bound on how long stop() waits for in-flight requests. */
  readonly shutdownTimeoutMs?: number;
  readonly withProcessMetrics?: boolean;
}

function freePortOn(host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address() as AddressInfo;
      probe.close(() => resolve(address.port));
    });
  });
}

/**
 * Metadata must advertise the real ports before the listeners start (handlers need the cluster,
 * the cluster needs the advertised addresses), so "port 0" is resolved to a free port up front.
 */
async function resolveListenPorts(config: BrokerConfig): Promise<BrokerConfig> {
  let c = config;
  if (c.kafkaPort === 0) {
    const port = await freePortOn(c.kafkaHost);
    c = { ...c, kafkaPort: port, advertisedPort: c.advertisedPort === 0 ? port : c.advertisedPort };
  }
  if (c.raftListen.port === 0) {
    const port = await freePortOn(c.raftListen.host);
    c = {
      ...c,
      raftListen: { host: c.raftListen.host, port },
      raftAdvertised: c.raftAdvertised.port === 0 ? { host: c.raftAdvertised.host, port } : c.raftAdvertised,
    };
  }
  if (c.adminListen !== null && c.adminListen.port === 0) {
    const port = await freePortOn(c.adminListen.host);
    c = { ...c, adminListen: { host: c.adminListen.host, port }, adminAdvertised: { host: c.adminAdvertised?.host ?? c.adminListen.host, port } };
  }
  return c;
}

/**
 * 'log.flush.interval.ms' is the group-commit linger here. Kafka's own default for that name is
 * Long.MAX_VALUE ("never force a flush"), so huge values are capped rather than honoured.
 */
function groupCommitLingerMs(config: BrokerConfig, logger: Logger): number {
  const n = config.settings.get('log.flush.interval.ms');
  if (n > MAX_GROUP_COMMIT_LINGER_MS) {
    logger.warn({ requested: n, used: MAX_GROUP_COMMIT_LINGER_MS }, 'log.flush.interval.ms capped: it is the group-commit linger');
    return MAX_GROUP_COMMIT_LINGER_MS;
  }
  return n;
}

const SETTLE_TIMEOUT_MS = 30_000;
/** The metadata group's log directory name (not a partition the admin service reports). */
const METADATA_LOG = '__cluster_metadata';

/** This broker's version, from its package.json (next to src/ and dist/ alike). */
async function brokerVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '';
  } catch {
    return '';
  }
}

/** Group-commit counters read when /metrics is scraped. */
function registerStorageMetrics(metrics: BrokerMetrics, stats: () => GroupCommitStats): void {
  const fields: [keyof GroupCommitStats, string, string][] = [
    ['rounds', 'chronik_log_flush_rounds', 'Group-commit rounds run since start'],
    ['fileFsyncs', 'chronik_log_file_fsyncs', 'File fsyncs issued since start'],
    ['dirFsyncs', 'chronik_log_dir_fsyncs', 'Directory fsyncs issued since start'],
    ['writes', 'chronik_log_writes', 'writev calls issued by group commit since start'],
    ['bytes', 'chronik_log_written_bytes', 'Bytes written by group commit since start'],
  ];
  for (const [field, name, help] of fields) {
    if (metrics.registry.getSingleMetric(name)) continue;
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.set(stats()[field]);
      },
    });
  }
}

/**
 * Assembles one broker: HTTP probes first (so /healthz answers during recovery), then storage
 * and metadata, the coordinator, the API handlers, and last the Kafka listener.
 */
export async function startBroker(requested: BrokerConfig, options: StartBrokerOptions): Promise<Broker> {
  const logger = options.logger;
  const config = await resolveListenPorts(requested);
  const metrics = createBrokerMetrics(undefined, options.withProcessMetrics ?? true);
  let storageReady = false;
  let kafka: KafkaServer | null = null;
  let cluster: RaftCluster | null = null;
  let admin: AdminHandle | null = null;
  const cleanups: (() => Promise<void>)[] = [];

  const http: ObservabilityServer = await startHttpServer({
    host: config.httpHost,
    port: config.httpPort,
    registry: metrics.registry,
    logger: logger.child({ component: 'http' }),
    checks: () => [
      { name: 'storage', ready: () => storageReady },
      { name: 'cluster-member', ready: () => cluster?.registered() === true },
      { name: 'kafka-listener', ready: () => kafka?.listening === true },
    ],
  });
  logger.info({ host: config.httpHost, port: http.port }, 'http listener started');
  cleanups.push(() => http.close());

  const runCleanups = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        logger.error({ err }, 'shutdown step failed');
      }
    }
  };

  try {
    await mkdir(config.dataDir, { recursive: true });
    const logManager = await createLogManager({
      dataDir: config.dataDir,
      logger: logger.child({ component: 'log' }),
      lingerMs: groupCommitLingerMs(config, logger),
    });
    cleanups.push(() => logManager.close());
    registerStorageMetrics(metrics, () => logManager.stats());
    registerCleanerMetrics(metrics.registry, () => logManager.cleanerStats());
    const clusterId = await claimDataDir(config.dataDir, config.nodeId, config.clusterId);
    const raftCluster = await openRaftCluster({
      settings: raftClusterSettings(config, clusterId),
      logger: logger.child({ component: 'cluster' }),
      logManager,
      registry: metrics.registry,
    });
    cluster = raftCluster;
    cleanups.push(() => raftCluster.close());
    storageReady = true;
    const coordinator = await createCoordinator({
      cluster: raftCluster,
      config,
      logger: logger.child({ component: 'coordinator' }),
      producerIdBlocks: () => raftCluster.allocateProducerIds(),
      onLeadershipChange: (listener) => raftCluster.onPartitionLeadership((p) => listener(p.topic, p.partition)),
      onTopicsDeleted: (listener) => raftCluster.onTopicsDeleted(listener),
    });
    cleanups.push(() => coordinator.close());
    const adminHandle = await startAdmin({
      cluster: raftCluster,
      groups: () => coordinator.groups.overview(),
      logSizes: () =>
        logManager.openLogs().flatMap((l) => {
          const name = path.basename(l.dir);
          const at = name.lastIndexOf('-');
          const topic = name.slice(0, at);
          return at > 0 && topic !== METADATA_LOG ? [{ topic, partition: Number(name.slice(at + 1)), bytes: l.sizeInBytes() }] : [];
        }),
      version: await brokerVersion(),
      listen: config.adminListen,
      tokenFile: config.adminTokenFile,
      logger: logger.child({ component: 'admin' }),
    });
    admin = adminHandle;
    cleanups.push(() => adminHandle.close());

    const handlers = bindApis({
      cluster: raftCluster,
      config,
      logger: logger.child({ component: 'apis' }),
      groups: coordinator.membership,
      consumerGroups: coordinator.groups.consumerGroups,
      offsets: coordinator.offsets,
      producerIds: coordinator.producerIds,
      transactions: coordinator.transactions,
      verifyTransaction: coordinator.verifyTransaction,
      coordinatorFor: (key, keyType) => coordinator.coordinatorFor(key, keyType),
    });

    // Clients are served once this broker is a member with its replicas led (bounded: a broker
    // cut off from the metadata quorum still starts listening, and says why it is not ready).
    if (!(await raftCluster.awaitSettled(SETTLE_TIMEOUT_MS))) {
      logger.warn({ timeoutMs: SETTLE_TIMEOUT_MS }, 'not yet a registered member with led replicas; serving anyway');
    }
    kafka = createKafkaServer({
      host: config.kafkaHost,
      port: config.kafkaPort,
      handlers,
      apiVersionsApi: apiVersionsApi.api,
      codec: protocolCodec,
      logger: logger.child({ component: 'kafka' }),
      metrics,
      ...serverSettings(config.settings),
    });
    await kafka.start();
    const server = kafka;
    // Registered last so it runs first: no new requests while the rest closes.
    cleanups.push(() => server.stop(options.shutdownTimeoutMs ?? 10_000));
  } catch (err) {
    await runCleanups();
    throw err;
  }

  const listener = kafka;
  let stopping: Promise<void> | null = null;
  logger.info({ nodeId: config.nodeId, kafkaPort: listener.port, httpPort: http.port, dataDir: config.dataDir }, 'broker ready');
  return {
    config,
    metrics,
    kafkaPort: listener.port,
    httpPort: http.port,
    adminPort: admin?.port ?? null,
    ready: () => storageReady && listener.listening && cluster?.registered() === true,
    stop() {
      stopping ??= (async () => {
        logger.info('broker stopping');
        await runCleanups();
        logger.info('broker stopped');
      })();
      return stopping;
    },
  };
}
