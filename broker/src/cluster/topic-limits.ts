/** Bounds on topic shape, shared by the single-broker cluster and the controller commands. */

/** Upper bound on partitions per topic, so one request cannot open an unbounded number of logs. */
export const MAX_PARTITIONS_PER_TOPIC = 10_000;

/** Kafka carries the replication factor as an int16. */
export const MAX_REPLICATION_FACTOR = 32_767;
