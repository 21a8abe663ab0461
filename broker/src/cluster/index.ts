/** The cluster module's public surface. */
export { compactionConfig, startLogCleaning } from './log-cleaning.js';
export * from './topic-limits.js';
export * from './metadata-state.js';
export * from './metadata-records.js';
export * from './metadata-codec.js';
export * from './metadata-delta.js';
export * from './metadata-invariants.js';
export * from './metadata-voters.js';
export * from './placement.js';
export * from './decommission-plan.js';
export * from './rebalance-plan.js';
export * from './reassignment.js';
export * from './controller-commands.js';
export * from './admin-commands.js';
export { validateTopicName, MAX_TOPIC_NAME_LENGTH } from './topic-names.js';
export { validateTopicConfig, validateTopicConfigs, topicConfigDefs } from './topic-configs.js';
export type * from './types.js';
