/**
 * The topic configs Chronik knows, their types and ranges, and how each falls back to a broker
 * default. Names, defaults and broker synonyms follow the public Kafka configuration reference.
 * Unknown keys are rejected (INVALID_CONFIG naming the key) so a typo never silently does nothing.
 */
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';

/** ConfigType as DescribeConfigs v3+ reports it. */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigTypeValue = (typeof ConfigType)[keyof typeof ConfigType];

/** ConfigSource as DescribeConfigs v1+ reports it. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

const LONG_MAX = '9223372036854775807';

export interface ConfigDef {
  readonly name: string;
  readonly type: 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';
  /** Kafka's built-in default, used when the broker config does not set the synonym. */
  readonly defaultValue: string;
  /** The broker config a topic falls back to (retention.ms -> log.retention.ms). */
  readonly brokerSynonym: string;
  readonly min?: number;
  readonly max?: number;
  /** Allowed values (for list types: allowed elements). */
  readonly oneOf?: readonly string[];
  readonly documentation: string;
}

const defs: readonly ConfigDef[] = [
  { name: 'cleanup.policy', type: 'list', defaultValue: 'delete', brokerSynonym: 'log.cleanup.policy', oneOf: ['delete', 'compact'],
    documentation: 'How old segments are discarded: delete (by retention) and/or compact (keep the latest value per key).' },
  { name: 'compression.type', type: 'string', defaultValue: 'producer', brokerSynonym: 'compression.type',
    oneOf: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
    documentation: 'Final compression of the topic; producer keeps what the producer sent.' },
  { name: 'delete.retention.ms', type: 'long', defaultValue: '86400000', brokerSynonym: 'log.cleaner.delete.retention.ms', min: 0,
    documentation: 'How long delete tombstones are kept on compacted topics.' },
  { name: 'file.delete.delay.ms', type: 'long', defaultValue: '60000', brokerSynonym: 'log.segment.delete.delay.ms', min: 0,
    documentation: 'Delay before a deleted segment file is removed from disk.' },
  { name: 'flush.messages', type: 'long', defaultValue: LONG_MAX, brokerSynonym: 'log.flush.interval.messages', min: 1,
    documentation: 'Accepted for compatibility; Chronik fsyncs every acknowledged write (group commit).' },
  { name: 'flush.ms', type: 'long', defaultValue: LONG_MAX, brokerSynonym: 'log.flush.interval.ms', min: 0,
    documentation: 'Accepted for compatibility; Chronik fsyncs every acknowledged write (group commit).' },
  { name: 'follower.replication.throttled.replicas', type: 'list', defaultValue: '', brokerSynonym: 'follower.replication.throttled.replicas',
    documentation: 'Accepted for compatibility; replication throttling is not implemented.' },
  { name: 'index.interval.bytes', type: 'int', defaultValue: '4096', brokerSynonym: 'log.index.interval.bytes', min: 0,
    documentation: 'Bytes of batches between two offset-index entries.' },
  { name: 'leader.replication.throttled.replicas', type: 'list', defaultValue: '', brokerSynonym: 'leader.replication.throttled.replicas',
    documentation: 'Accepted for compatibility; replication throttling is not implemented.' },
  { name: 'max.compaction.lag.ms', type: 'long', defaultValue: LONG_MAX, brokerSynonym: 'log.cleaner.max.compaction.lag.ms', min: 1,
    documentation: 'Longest time a record may stay uncompacted.' },
  { name: 'max.message.bytes', type: 'int', defaultValue: '1048588', brokerSynonym: 'message.max.bytes', min: 0,
    documentation: 'Largest record batch the topic accepts, in bytes.' },
  { name: 'message.downconversion.enable', type: 'boolean', defaultValue: 'true', brokerSynonym: 'log.message.downconversion.enable',
    documentation: 'Accepted for compatibility; only magic 2 batches are served.' },
  { name: 'message.timestamp.after.max.ms', type: 'long', defaultValue: LONG_MAX, brokerSynonym: 'log.message.timestamp.after.max.ms', min: 0,
    documentation: 'How far in the future a CreateTime timestamp may be.' },
  { name: 'message.timestamp.before.max.ms', type: 'long', defaultValue: LONG_MAX, brokerSynonym: 'log.message.timestamp.before.max.ms', min: 0,
    documentation: 'How far in the past a CreateTime timestamp may be.' },
  { name: 'message.timestamp.difference.max.ms', type: 'long', defaultValue: LONG_MAX, brokerSynonym: 'log.message.timestamp.difference.max.ms', min: 0,
    documentation: 'Largest allowed difference between a CreateTime timestamp and the broker clock.' },
  { name: 'message.timestamp.type', type: 'string', defaultValue: 'CreateTime', brokerSynonym: 'log.message.timestamp.type',
    oneOf: ['CreateTime', 'LogAppendTime'],
    documentation: 'CreateTime keeps the producer timestamp; LogAppendTime stamps the broker time on append.' },
  { name: 'min.cleanable.dirty.ratio', type: 'double', defaultValue: '0.5', brokerSynonym: 'log.cleaner.min.cleanable.ratio', min: 0, max: 1,
    documentation: 'Dirty fraction of a log that makes it eligible for compaction.' },
  { name: 'min.compaction.lag.ms', type: 'long', defaultValue: '0', brokerSynonym: 'log.cleaner.min.compaction.lag.ms', min: 0,
    documentation: 'Shortest time a record stays uncompacted.' },
  { name: 'min.insync.replicas', type: 'int', defaultValue: '1', brokerSynonym: 'min.insync.replicas', min: 1,
    documentation: 'Replicas that must have a write for acks=all to succeed.' },
  { name: 'preallocate', type: 'boolean', defaultValue: 'false', brokerSynonym: 'log.preallocate',
    documentation: 'Accepted for compatibility; segments are not preallocated.' },
  { name: 'retention.bytes', type: 'long', defaultValue: '-1', brokerSynonym: 'log.retention.bytes', min: -1,
    documentation: 'Largest size a partition log may grow to before old segments are deleted; -1 is unlimited.' },
  { name: 'retention.ms', type: 'long', defaultValue: '604800000', brokerSynonym: 'log.retention.ms', min: -1,
    documentation: 'How long segments are kept before deletion; -1 keeps them forever.' },
  { name: 'segment.bytes', type: 'int', defaultValue: '1073741824', brokerSynonym: 'log.segment.bytes', min: 14,
    documentation: 'Size at which a new segment file is rolled.' },
  { name: 'segment.index.bytes', type: 'int', defaultValue: '10485760', brokerSynonym: 'log.index.size.max.bytes', min: 4,
    documentation: 'Largest size of a segment offset index.' },
  { name: 'segment.jitter.ms', type: 'long', defaultValue: '0', brokerSynonym: 'log.roll.jitter.ms', min: 0,
    documentation: 'Random jitter subtracted from segment.ms.' },
  { name: 'segment.ms', type: 'long', defaultValue: '604800000', brokerSynonym: 'log.roll.ms', min: 1,
    documentation: 'Age at which a new segment is rolled even if not full.' },
  { name: 'unclean.leader.election.enable', type: 'boolean', defaultValue: 'false', brokerSynonym: 'unclean.leader.election.enable',
    documentation: 'Accepted for compatibility; Raft never elects an out-of-date leader.' },
];

export const topicConfigDefs: ReadonlyMap<string, ConfigDef> = new Map(defs.map((d) => [d.name, d]));

/** Older broker names that also set a default (log.retention.hours feeds log.retention.ms). */
export const brokerSynonymAliases: Readonly<Record<string, readonly { name: string; toCanonical: (v: string) => string }[]>> = {
  'log.retention.ms': [
    { name: 'log.retention.minutes', toCanonical: (v) => String(Number(v) * 60_000) },
    { name: 'log.retention.hours', toCanonical: (v) => String(Number(v) * 3_600_000) },
  ],
  'log.roll.ms': [{ name: 'log.roll.hours', toCanonical: (v) => String(Number(v) * 3_600_000) }],
  'log.roll.jitter.ms': [{ name: 'log.roll.jitter.hours', toCanonical: (v) => String(Number(v) * 3_600_000) }],
};

export function configTypeCode(def: ConfigDef): ConfigTypeValue {
  switch (def.type) {
    case 'boolean':
      return ConfigType.BOOLEAN;
    case 'string':
      return ConfigType.STRING;
    case 'int':
      return ConfigType.INT;
    case 'long':
      return ConfigType.LONG;
    case 'double':
      return ConfigType.DOUBLE;
    case 'list':
      return ConfigType.LIST;
  }
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function invalid(key: string, value: string, why: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${JSON.stringify(value)} for configuration ${key}: ${why}`);
}

/** Checks one topic config and returns its normalised string form; throws INVALID_CONFIG. */
export function validateTopicConfig(key: string, value: string): string {
  const def = topicConfigDefs.get(key);
  if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${key}`);
  const v = value.trim();
  switch (def.type) {
    case 'boolean': {
      const lower = v.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw invalid(key, value, 'expected true or false');
      return lower;
    }
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) throw invalid(key, value, `expected an ${def.type === 'int' ? 'integer' : 'integer (long)'}`);
      // Longs beyond 2^53 only appear as "no limit" defaults; compare as BigInt to stay exact.
      const n = BigInt(v);
      if (def.type === 'int' && (n < BigInt(INT_MIN) || n > BigInt(INT_MAX))) throw invalid(key, value, 'out of int32 range');
      if (def.type === 'long' && (n < -(2n ** 63n) || n > 2n ** 63n - 1n)) throw invalid(key, value, 'out of int64 range');
      if (def.min !== undefined && n < BigInt(def.min)) throw invalid(key, value, `must be at least ${def.min}`);
      if (def.max !== undefined && n > BigInt(def.max)) throw invalid(key, value, `must be at most ${def.max}`);
      return n.toString();
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) throw invalid(key, value, 'expected a number');
      if (def.min !== undefined && n < def.min) throw invalid(key, value, `must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) throw invalid(key, value, `must be at most ${def.max}`);
      return v;
    }
    case 'string': {
      if (def.oneOf && !def.oneOf.includes(v)) throw invalid(key, value, `must be one of ${def.oneOf.join(', ')}`);
      return v;
    }
    case 'list': {
      const items = v === '' ? [] : v.split(',').map((s) => s.trim());
      if (def.oneOf) {
        if (items.length === 0) throw invalid(key, value, `must list at least one of ${def.oneOf.join(', ')}`);
        for (const item of items) {
          if (!def.oneOf.includes(item)) throw invalid(key, value, `${JSON.stringify(item)} is not one of ${def.oneOf.join(', ')}`);
        }
      }
      return items.join(',');
    }
  }
}

/** Validates a whole set of topic configs, returning the normalised copy. */
export function validateTopicConfigs(configs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(configs)) out[k] = validateTopicConfig(k, v);
  return out;
}

/**
 * The broker-level default for a topic config: the broker config synonym if set (or one of
 * its older aliases), else Kafka's built-in default.
 */
export function brokerDefaultFor(
  def: ConfigDef,
  brokerDefaults: Readonly<Record<string, string>>,
): { value: string; source: number; name: string } {
  const direct = brokerDefaults[def.brokerSynonym];
  if (direct !== undefined) return { value: direct, source: ConfigSource.STATIC_BROKER_CONFIG, name: def.brokerSynonym };
  for (const alias of brokerSynonymAliases[def.brokerSynonym] ?? []) {
    const v = brokerDefaults[alias.name];
    if (v !== undefined) return { value: alias.toCanonical(v), source: ConfigSource.STATIC_BROKER_CONFIG, name: alias.name };
  }
  return { value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG, name: def.brokerSynonym };
}
