// Generated from broker/src/config/registry.ts by `node --import tsx scripts/reference.ts`; do not edit.
// The operator image is built without the broker sources, so it carries this copy; a broker test
// fails when it is stale.

export interface BrokerSettingFacts {
  readonly name: string;
  readonly kind: 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';
  readonly min?: number;
  readonly max?: number;
  readonly oneOf?: readonly string[];
  readonly nonEmpty?: boolean;
  readonly address?: 'listener' | 'advertised';
  readonly path?: boolean;
  readonly pattern?: string;
  readonly allowed?: string;
  readonly flag: string | null;
}

export const BROKER_SETTINGS: readonly BrokerSettingFacts[] = [
  {"name":"node.id","kind":"int","min":0,"max":2147483647,"flag":"node-id"},
  {"name":"log.dirs","kind":"string","path":true,"flag":"data-dir"},
  {"name":"chronik.kafka.listen","kind":"string","address":"listener","flag":"kafka-listen"},
  {"name":"chronik.kafka.advertised","kind":"string","address":"advertised","flag":"advertised"},
  {"name":"chronik.http.listen","kind":"string","address":"listener","flag":"http-listen"},
  {"name":"broker.rack","kind":"string","flag":"rack"},
  {"name":"chronik.raft.listen","kind":"string","address":"listener","flag":"raft-listen"},
  {"name":"chronik.raft.advertised","kind":"string","address":"advertised","flag":"advertised-raft"},
  {"name":"chronik.initial.voters","kind":"string","pattern":"\\d+@[^,@\\s]+:\\d+(,\\d+@[^,@\\s]+:\\d+)*","allowed":"a list of id@host:port","flag":"initial-voters"},
  {"name":"chronik.admin.listen","kind":"string","address":"listener","flag":"admin-listen"},
  {"name":"chronik.admin.token.file","kind":"string","flag":"admin-token-file"},
  {"name":"chronik.cluster.id","kind":"string","flag":"cluster-id"},
  {"name":"chronik.log.format","kind":"string","oneOf":["pretty","json"],"flag":"log-format"},
  {"name":"chronik.log.level","kind":"string","oneOf":["trace","debug","info","warn","error"],"flag":"log-level"},
  {"name":"socket.request.max.bytes","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"connections.max.idle.ms","kind":"long","min":1,"max":2147483647,"flag":null},
  {"name":"chronik.max.inflight.requests.per.connection","kind":"int","min":1,"max":65536,"flag":null},
  {"name":"num.partitions","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"default.replication.factor","kind":"int","min":1,"max":32767,"flag":null},
  {"name":"auto.create.topics.enable","kind":"boolean","oneOf":["true","false"],"flag":null},
  {"name":"log.cleanup.policy","kind":"list","oneOf":["delete","compact"],"nonEmpty":true,"flag":null},
  {"name":"compression.type","kind":"string","oneOf":["uncompressed","zstd","lz4","snappy","gzip","producer"],"flag":null},
  {"name":"log.cleaner.delete.retention.ms","kind":"long","min":0,"flag":null},
  {"name":"log.segment.delete.delay.ms","kind":"long","min":0,"flag":null},
  {"name":"log.flush.interval.messages","kind":"long","min":1,"flag":null},
  {"name":"log.flush.interval.ms","kind":"long","min":0,"flag":null},
  {"name":"follower.replication.throttled.replicas","kind":"list","flag":null},
  {"name":"log.index.interval.bytes","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"leader.replication.throttled.replicas","kind":"list","flag":null},
  {"name":"log.cleaner.max.compaction.lag.ms","kind":"long","min":1,"flag":null},
  {"name":"message.max.bytes","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"log.message.downconversion.enable","kind":"boolean","oneOf":["true","false"],"flag":null},
  {"name":"log.message.timestamp.after.max.ms","kind":"long","min":0,"flag":null},
  {"name":"log.message.timestamp.before.max.ms","kind":"long","min":0,"flag":null},
  {"name":"log.message.timestamp.difference.max.ms","kind":"long","min":0,"flag":null},
  {"name":"log.message.timestamp.type","kind":"string","oneOf":["CreateTime","LogAppendTime"],"flag":null},
  {"name":"log.cleaner.min.cleanable.ratio","kind":"double","min":0,"max":1,"flag":null},
  {"name":"log.cleaner.min.compaction.lag.ms","kind":"long","min":0,"flag":null},
  {"name":"min.insync.replicas","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"log.preallocate","kind":"boolean","oneOf":["true","false"],"flag":null},
  {"name":"log.retention.bytes","kind":"long","min":-1,"flag":null},
  {"name":"log.retention.ms","kind":"long","min":-1,"flag":null},
  {"name":"log.retention.minutes","kind":"int","min":-1,"max":2147483647,"flag":null},
  {"name":"log.retention.hours","kind":"int","min":-1,"max":2147483647,"flag":null},
  {"name":"log.segment.bytes","kind":"int","min":14,"max":2147483647,"flag":null},
  {"name":"log.index.size.max.bytes","kind":"int","min":4,"max":2147483647,"flag":null},
  {"name":"log.roll.jitter.ms","kind":"long","min":0,"flag":null},
  {"name":"log.roll.jitter.hours","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"log.roll.ms","kind":"long","min":1,"flag":null},
  {"name":"log.roll.hours","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"unclean.leader.election.enable","kind":"boolean","oneOf":["true","false"],"flag":null},
  {"name":"log.retention.check.interval.ms","kind":"long","min":1,"flag":null},
  {"name":"replica.lag.time.max.ms","kind":"long","min":1,"max":2147483647,"flag":null},
  {"name":"chronik.raft.tick.ms","kind":"int","min":1,"max":10000,"flag":null},
  {"name":"chronik.raft.election.ticks","kind":"int","min":2,"max":1000,"flag":null},
  {"name":"auto.leader.rebalance.enable","kind":"boolean","oneOf":["true","false"],"flag":null},
  {"name":"leader.imbalance.check.interval.seconds","kind":"int","min":1,"max":86400,"flag":null},
  {"name":"chronik.raft.heartbeat.ticks","kind":"int","min":1,"max":999,"flag":null},
  {"name":"log.cleaner.enable","kind":"boolean","oneOf":["true","false"],"flag":null},
  {"name":"log.cleaner.backoff.ms","kind":"long","min":1,"max":2147483647,"flag":null},
  {"name":"log.cleaner.dedupe.buffer.size","kind":"long","min":65536,"flag":null},
  {"name":"log.cleaner.io.max.bytes.per.second","kind":"double","min":1,"flag":null},
  {"name":"offsets.topic.num.partitions","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"offsets.topic.replication.factor","kind":"int","min":1,"max":32767,"flag":null},
  {"name":"offsets.topic.segment.bytes","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"offsets.retention.minutes","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"offsets.retention.check.interval.ms","kind":"long","min":1,"max":2147483647,"flag":null},
  {"name":"group.initial.rebalance.delay.ms","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"group.min.session.timeout.ms","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"group.max.session.timeout.ms","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"group.max.size","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"offset.metadata.max.bytes","kind":"int","min":0,"max":2147483647,"flag":null},
  {"name":"group.consumer.session.timeout.ms","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"group.consumer.heartbeat.interval.ms","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"group.consumer.assignors","kind":"list","oneOf":["uniform","range"],"nonEmpty":true,"flag":null},
  {"name":"group.consumer.max.size","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transaction.state.log.num.partitions","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transaction.state.log.replication.factor","kind":"int","min":1,"max":32767,"flag":null},
  {"name":"transaction.state.log.segment.bytes","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transaction.max.timeout.ms","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transaction.abort.timed.out.transaction.cleanup.interval.ms","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transactional.id.expiration.ms","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transaction.remove.expired.transaction.cleanup.interval.ms","kind":"int","min":1,"max":2147483647,"flag":null},
  {"name":"transaction.partition.verification.enable","kind":"boolean","oneOf":["true","false"],"flag":null},
];
