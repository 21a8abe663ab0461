/** The cluster module's public surface. */
export { openLocalCluster, MAX_PARTITIONS_PER_TOPIC, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';
export * from './metadata-state.js';
export * from './metadata-records.js';
export * from './metadata-codec.js';
export { validateTopicName, MAX_TOPIC_NAME_LENGTH } from './topic-names.js';
export { validateTopicConfig, validateTopicConfigs, topicConfigDefs } from './topic-configs.js';
export type * from './types.js';
