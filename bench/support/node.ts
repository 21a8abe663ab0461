/**
 * One broker's raft cluster and coordinator in the benchmark's own process (as the broker runs
 * them, without the Kafka listener): for measuring the coordinator and the log directly.
 */
import { claimDataDir } from '../../broker/src/cluster/data-dir-identity.js';
import { openRaftCluster, raftClusterSettings, type RaftCluster } from '../../broker/src/cluster/raft-cluster.js';
import type { BrokerConfig } from '../../broker/src/config/index.js';
import { createCoordinator, type Coordinator } from '../../broker/src/coordinator/index.js';
import { createLogManager, type FileLogManager } from '../../broker/src/log/index.js';
import type { Logger } from '../../broker/src/observability/logger.js';

export interface BenchNode {
  readonly cluster: RaftCluster;
  readonly coordinator: Coordinator;
  readonly manager: FileLogManager;
  close(): Promise<void>;
}

export async function openBenchNode(config: BrokerConfig, logger: Logger): Promise<BenchNode> {
  const manager = createLogManager({ dataDir: config.dataDir, logger });
  const clusterId = await claimDataDir(config.dataDir, config.nodeId, config.clusterId);
  const cluster = await openRaftCluster({ settings: raftClusterSettings(config, clusterId), logger, logManager: manager });
  const coordinator = await createCoordinator({
    cluster,
    config,
    logger,
    producerIdBlocks: () => cluster.allocateProducerIds(),
    onLeadershipChange: (l) => cluster.onPartitionLeadership((p) => l(p.topic, p.partition)),
  });
  await cluster.awaitSettled(60_000);
  return {
    cluster,
    coordinator,
    manager,
    async close() {
      await coordinator.close();
      await cluster.close();
      await manager.close();
    },
  };
}
