/**
 * One broker's cluster in the test process, as the broker runs it (a one-voter raft cluster on
 * real files, its transport on a free loopback port), without the Kafka listener: for tests of
 * the coordinator and the APIs against the real cluster.
 */
import { claimDataDir } from '../../src/cluster/data-dir-identity.js';
import { openRaftCluster, raftClusterSettings, type RaftCluster } from '../../src/cluster/raft-cluster.js';
import { brokerConfigOf, type BrokerConfig } from '../../src/config/index.js';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import { createLogManager, type FileLogManager } from '../../src/log/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { freePort } from './ports.js';

export interface SingleNode {
  readonly config: BrokerConfig;
  readonly cluster: RaftCluster;
  readonly coordinator: Coordinator;
  readonly logs: FileLogManager;
  close(): Promise<void>;
}

const running = new Set<SingleNode>();

export async function startSingleNode(
  dataDir: string,
  settings: Readonly<Record<string, string>> = {},
  opts: { readonly now?: () => number } = {},
): Promise<SingleNode> {
  const config = brokerConfigOf({
    'log.dirs': dataDir,
    'chronik.kafka.advertised': '127.0.0.1:9092',
    'chronik.raft.listen': `127.0.0.1:${await freePort()}`,
    ...settings,
  });
  const logger = silentLogger();
  const logs = createLogManager({ dataDir, logger, ...(opts.now ? { now: opts.now } : {}) });
  const clusterId = await claimDataDir(dataDir, config.nodeId, config.clusterId);
  const cluster = await openRaftCluster({ settings: raftClusterSettings(config, clusterId), logger, logManager: logs });
  const coordinator = await createCoordinator({
    cluster,
    config,
    logger,
    producerIdBlocks: () => cluster.allocateProducerIds(),
    onLeadershipChange: (l) => cluster.onPartitionLeadership((p) => l(p.topic, p.partition)),
  });
  if (!(await cluster.awaitSettled(20_000))) throw new Error('single node did not settle');
  const node: SingleNode = {
    config,
    cluster,
    coordinator,
    logs,
    async close() {
      if (!running.delete(node)) return;
      await coordinator.close();
      await cluster.close();
      await logs.close();
    },
  };
  running.add(node);
  return node;
}

/** Closes every node still running (call it in afterEach). */
export async function closeSingleNodes(): Promise<void> {
  for (const n of [...running]) await n.close();
}
