/**
 * Every broker setting, once. The CLI (flags, environment variables, --config), DescribeConfigs
 * for the broker resource, the topic configs' fallbacks, the operator's check of
 * spec.brokerConfig and the README's configuration table all read this list, so a setting is
 * added by adding one entry here (a flag or variable of its own included).
 *
 * Names are Kafka's where Kafka has the setting; Chronik's own live under `chronik.`. Defaults
 * are Kafka's unless the doc line says otherwise.
 */
import { address, bool, custom, double, int, INT32_MAX, list, LONG_MAX, long, oneOf, parseHostPort, SettingValueError, str, type SettingDef } from './setting.js';
import { DEFAULT_MESSAGE_FORMAT_VERSION, MESSAGE_FORMAT_VERSION_PATTERN } from './kafka-versions.js';

/** One founding voter of the metadata group: `id@host:port` (its raft address). */
export interface VoterAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

function parseVoters(text: string): VoterAddress[] {
  const out: VoterAddress[] = [];
  for (const part of text.split(',')) {
    const at = part.indexOf('@');
    const id = Number(part.slice(0, at));
    if (!Number.isSafeInteger(id) || id < 0 || id > INT32_MAX) throw new SettingValueError(`names node id '${part.slice(0, at)}'`);
    if (out.some((v) => v.nodeId === id)) throw new SettingValueError(`names node ${id} twice`);
    const addr = parseHostPort(part.slice(at + 1), 'advertised');
    out.push({ nodeId: id, host: addr.host, port: addr.port });
  }
  return out;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

/** group.consumer.migration.policy's values, Kafka's names (4.0's default is bidirectional). */
export const MIGRATION_POLICIES = ['bidirectional', 'upgrade', 'downgrade', 'disabled'] as const;
export type MigrationPolicy = (typeof MIGRATION_POLICIES)[number];

/** Longest group-commit linger used: acks wait this long at most for company (larger values are capped). */
export const MAX_GROUP_COMMIT_LINGER_MS = 1000;

export const BROKER_SETTINGS = [
  // The process: where it keeps data, where it listens, how it logs.
  int('node.id', {
    default: 0, min: 0, flag: { name: 'node-id', arg: 'N' }, env: 'CHRONIK_NODE_ID',
    doc: 'This broker\'s id, unique in the cluster.',
  }),
  str('log.dirs', {
    default: './data', path: true, flag: { name: 'data-dir', arg: 'DIR' }, env: 'CHRONIK_DATA_DIR',
    doc: 'The one directory holding partition logs and metadata.',
  }),
  address('chronik.kafka.listen', 'listener', {
    default: { host: '127.0.0.1', port: 9092 }, flag: { name: 'kafka-listen', arg: 'HOST:PORT' }, env: 'CHRONIK_KAFKA_LISTEN',
    doc: 'Where the Kafka listener binds.',
  }),
  address('chronik.kafka.advertised', 'advertised', {
    default: null, defaultText: 'the Kafka listen address (127.0.0.1 for a wildcard host)',
    flag: { name: 'advertised', arg: 'HOST:PORT' }, env: 'CHRONIK_ADVERTISED',
    doc: 'The address Metadata gives clients for this broker.',
  }),
  address('chronik.http.listen', 'listener', {
    default: { host: '127.0.0.1', port: 9644 }, flag: { name: 'http-listen', arg: 'HOST:PORT' }, env: 'CHRONIK_HTTP_LISTEN',
    doc: 'Where /healthz, /readyz and /metrics are served.',
  }),
  str('broker.rack', {
    default: null, defaultText: 'none', flag: { name: 'rack', arg: 'RACK' }, env: 'CHRONIK_RACK',
    doc: 'Rack (availability zone) of this broker, reported in Metadata.',
  }),
  address('chronik.raft.listen', 'listener', {
    default: null, defaultText: 'this broker\'s entry in the initial voters, else 127.0.0.1 on a free port',
    flag: { name: 'raft-listen', arg: 'HOST:PORT' }, env: 'CHRONIK_RAFT_LISTEN',
    doc: 'Where the broker-to-broker raft transport listens.',
  }),
  address('chronik.raft.advertised', 'advertised', {
    default: null, defaultText: 'this broker\'s entry in the initial voters, else the raft listen address',
    flag: { name: 'advertised-raft', arg: 'HOST:PORT' }, env: 'CHRONIK_ADVERTISED_RAFT',
    doc: 'The raft address other brokers are told to reach this broker at.',
  }),
  custom<'chronik.initial.voters', VoterAddress[] | null>('chronik.initial.voters', {
    default: null, defaultText: 'this broker alone (a one-broker cluster)',
    flag: { name: 'initial-voters', arg: 'ID@HOST:PORT,...' }, env: 'CHRONIK_INITIAL_VOTERS',
    pattern: /\d+@[^,@\s]+:\d+(,\d+@[^,@\s]+:\d+)*/,
    allowed: 'a list of id@host:port',
    parse: parseVoters,
    format: (vs) => vs.map((v) => `${v.nodeId}@${v.host.includes(':') ? `[${v.host}]` : v.host}:${v.port}`).join(','),
    doc: 'The founding voters of the metadata group, by raft address; a broker not listed joins the running cluster through them.',
  }),
  address('chronik.admin.listen', 'listener', {
    default: null, defaultText: 'off (no admin listener)', flag: { name: 'admin-listen', arg: 'HOST:PORT' }, env: 'CHRONIK_ADMIN_LISTEN',
    doc: 'Where the admin gRPC service (proto/admin.proto, `chronik ctl`) listens; other brokers and the operator are told this port, on the Kafka advertised host for a wildcard address.',
  }),
  str('chronik.admin.token.file', {
    default: null, defaultText: 'none (no authentication)', flag: { name: 'admin-token-file', arg: 'FILE' }, env: 'CHRONIK_ADMIN_TOKEN_FILE',
    doc: 'A file holding the bearer token every admin call must carry (UNAUTHENTICATED otherwise).',
  }),
  str('chronik.cluster.id', {
    default: null, defaultText: 'derived from the initial voters; a new one for a broker alone', flag: { name: 'cluster-id', arg: 'ID' }, env: 'CHRONIK_CLUSTER_ID',
    doc: 'Name of the cluster; brokers of other clusters are refused, and a data dir of another cluster refuses to start.',
  }),
  oneOf('chronik.log.format', ['pretty', 'json'], {
    default: null, defaultText: 'pretty on a terminal, else json', flag: { name: 'log-format', arg: 'FORMAT' }, env: 'CHRONIK_LOG_FORMAT',
    doc: 'Log output format.',
  }),
  oneOf('chronik.log.level', LOG_LEVELS, {
    default: 'info', flag: { name: 'log-level', arg: 'LEVEL' }, env: 'CHRONIK_LOG_LEVEL',
    doc: 'Least severe log level written.',
  }),

  // The Kafka listener.
  int('socket.request.max.bytes', { default: 104_857_600, min: 1, doc: 'Largest request frame; a larger one closes the connection.' }),
  long('connections.max.idle.ms', { default: 600_000, min: 1, max: INT32_MAX, doc: 'Connections idle this long are closed.' }),
  int('chronik.max.inflight.requests.per.connection', {
    default: 64, min: 1, max: 65_536, doc: 'Pipelined requests handled at once per connection; further ones wait unread.',
  }),

  // Topics.
  int('num.partitions', { default: 1, min: 1, doc: 'Partitions of an auto-created topic, or of a CreateTopics asking for -1.' }),
  int('default.replication.factor', {
    default: null, defaultText: 'min(3, live brokers)', min: 1, max: 32_767, doc: 'Replicas of a topic created without one.',
  }),
  bool('auto.create.topics.enable', { default: true, doc: 'Create unknown topics named by Metadata or Produce.' }),

  // Topic defaults: every topic config falls back to one of these.
  list('log.cleanup.policy', {
    default: ['delete'], elements: ['delete', 'compact'], topicConfig: 'cleanup.policy',
    doc: 'How old segments are discarded: delete (by retention) and/or compact (keep the latest value per key).',
  }),
  oneOf('compression.type', ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'], {
    default: 'producer', topicConfig: 'compression.type', doc: 'Final compression of a topic; producer keeps what the producer sent.',
  }),
  long('log.cleaner.delete.retention.ms', {
    default: 86_400_000, min: 0, topicConfig: 'delete.retention.ms', doc: 'How long delete tombstones are kept on compacted topics.',
  }),
  long('log.segment.delete.delay.ms', {
    default: 60_000, min: 0, topicConfig: 'file.delete.delay.ms', doc: 'Delay before a deleted segment file is removed from disk.',
  }),
  long('log.flush.interval.messages', {
    default: LONG_MAX, min: 1, topicConfig: 'flush.messages',
    doc: 'Accepted for compatibility; Chronik fsyncs every acknowledged write (group commit).',
  }),
  long('log.flush.interval.ms', {
    default: 0, min: 0, topicConfig: 'flush.ms',
    doc: `Group-commit linger: how long an fsync round waits for more writes (Chronik's meaning; capped at ${MAX_GROUP_COMMIT_LINGER_MS}).`,
  }),
  list('follower.replication.throttled.replicas', {
    default: [], topicConfig: 'follower.replication.throttled.replicas', doc: 'Accepted for compatibility; replication throttling is not implemented.',
  }),
  int('log.index.interval.bytes', { default: 4096, min: 0, topicConfig: 'index.interval.bytes', doc: 'Bytes of batches between two offset-index entries.' }),
  list('leader.replication.throttled.replicas', {
    default: [], topicConfig: 'leader.replication.throttled.replicas', doc: 'Accepted for compatibility; replication throttling is not implemented.',
  }),
  long('log.cleaner.max.compaction.lag.ms', {
    default: LONG_MAX, min: 1, topicConfig: 'max.compaction.lag.ms', doc: 'Longest time a record may stay uncompacted.',
  }),
  int('message.max.bytes', {
    default: 1_048_588, min: 0, topicConfig: 'max.message.bytes', doc: 'Largest record batch accepted (MESSAGE_TOO_LARGE above).',
  }),
  bool('log.message.downconversion.enable', {
    default: true, topicConfig: 'message.downconversion.enable', doc: 'Accepted for compatibility; only magic 2 batches are served.',
  }),
  // Deprecated in Kafka 3.0 and gone in 4.0; tools and old scripts still set it on topics they create.
  custom<'log.message.format.version', string>('log.message.format.version', {
    default: DEFAULT_MESSAGE_FORMAT_VERSION, topicConfig: 'message.format.version',
    pattern: MESSAGE_FORMAT_VERSION_PATTERN,
    allowed: 'a Kafka version that Kafka 3.9 accepts, such as 0.10.2, 2.8-IV1 or 3.0-IV1',
    parse: (text) => text,
    format: (v) => v,
    doc: '[DEPRECATED] Accepted and ignored, as by Kafka 3.x with inter.broker.protocol.version 3.0 or newer: every batch is stored in message format v2.',
  }),
  long('log.message.timestamp.after.max.ms', {
    default: LONG_MAX, min: 0, topicConfig: 'message.timestamp.after.max.ms', doc: 'How far in the future a CreateTime timestamp may be.',
  }),
  long('log.message.timestamp.before.max.ms', {
    default: LONG_MAX, min: 0, topicConfig: 'message.timestamp.before.max.ms', doc: 'How far in the past a CreateTime timestamp may be.',
  }),
  long('log.message.timestamp.difference.max.ms', {
    default: LONG_MAX, min: 0, topicConfig: 'message.timestamp.difference.max.ms',
    doc: 'Largest allowed difference between a CreateTime timestamp and the broker clock.',
  }),
  oneOf('log.message.timestamp.type', ['CreateTime', 'LogAppendTime'], {
    default: 'CreateTime', topicConfig: 'message.timestamp.type',
    doc: 'CreateTime keeps the producer timestamp; LogAppendTime stamps the broker time on append.',
  }),
  double('log.cleaner.min.cleanable.ratio', {
    default: 0.5, min: 0, max: 1, topicConfig: 'min.cleanable.dirty.ratio', doc: 'Dirty fraction of a log that makes it eligible for compaction.',
  }),
  long('log.cleaner.min.compaction.lag.ms', {
    default: 0, min: 0, topicConfig: 'min.compaction.lag.ms', doc: 'Shortest time a record stays uncompacted.',
  }),
  int('min.insync.replicas', { default: 1, min: 1, topicConfig: 'min.insync.replicas', doc: 'Replicas that must have a write for acks=all to succeed.' }),
  bool('log.preallocate', { default: false, topicConfig: 'preallocate', doc: 'Accepted for compatibility; segments are not preallocated.' }),
  long('log.retention.bytes', {
    default: -1, min: -1, topicConfig: 'retention.bytes', doc: 'Size a partition log may grow to before old segments are deleted; -1 is unlimited.',
  }),
  long('log.retention.ms', {
    default: 604_800_000, min: -1, topicConfig: 'retention.ms', doc: 'How long segments are kept before deletion; -1 keeps them forever.',
  }),
  int('log.retention.minutes', {
    default: null, min: -1, aliasOf: { name: 'log.retention.ms', scale: 60_000 }, doc: 'log.retention.ms in minutes, when that is not set.',
  }),
  int('log.retention.hours', {
    default: null, min: -1, aliasOf: { name: 'log.retention.ms', scale: 3_600_000 }, doc: 'log.retention.ms in hours, when neither it nor the minutes are set.',
  }),
  int('log.segment.bytes', { default: 1_073_741_824, min: 14, topicConfig: 'segment.bytes', doc: 'Size at which a new segment file is rolled.' }),
  int('log.index.size.max.bytes', { default: 10_485_760, min: 4, topicConfig: 'segment.index.bytes', doc: 'Largest size of a segment offset index.' }),
  long('log.roll.jitter.ms', { default: 0, min: 0, topicConfig: 'segment.jitter.ms', doc: 'Random jitter subtracted from the segment roll time.' }),
  int('log.roll.jitter.hours', {
    default: null, min: 0, aliasOf: { name: 'log.roll.jitter.ms', scale: 3_600_000 }, doc: 'log.roll.jitter.ms in hours, when that is not set.',
  }),
  long('log.roll.ms', { default: 604_800_000, min: 1, topicConfig: 'segment.ms', doc: 'Age at which a new segment is rolled even if not full.' }),
  int('log.roll.hours', {
    default: null, min: 1, aliasOf: { name: 'log.roll.ms', scale: 3_600_000 }, doc: 'log.roll.ms in hours, when that is not set.',
  }),
  bool('unclean.leader.election.enable', {
    default: false, topicConfig: 'unclean.leader.election.enable', doc: 'Accepted for compatibility; Raft never elects an out-of-date leader.',
  }),
  long('log.retention.check.interval.ms', { default: 300_000, min: 1, doc: 'How often retention runs over every partition.' }),
  long('chronik.log.scrub.bytes.per.second', {
    default: 4_194_304,
    min: 0,
    doc: 'Committed log data each broker reads back from disk per second, partition after partition, checking every batch: a batch damaged for good (a misdirected write, decayed media) makes the replica cut its log there and recover the rest from its peers. 0 turns it off.',
  }),

  // Replication.
  long('replica.lag.time.max.ms', { default: 30_000, min: 1, max: INT32_MAX, doc: 'A follower that has not caught up with its leader for this long leaves the ISR.' }),
  int('chronik.raft.tick.ms', { default: 50, min: 1, max: 10_000, doc: 'Length of a raft tick, the unit of the heartbeat and election timeouts.' }),
  int('chronik.raft.election.ticks', {
    default: 10, min: 2, max: 1000, doc: 'Ticks without a leader before a follower campaigns (randomised up to twice that).',
  }),
  bool('auto.leader.rebalance.enable', {
    default: true, doc: 'Leaders hand leadership back to a partition\'s preferred replica (its first) once that one is caught up.',
  }),
  int('leader.imbalance.check.interval.seconds', {
    default: 5, min: 1, max: 86_400, doc: 'How often leaders check for a caught-up preferred replica (Kafka\'s default is 300; Chronik moves back sooner).',
  }),
  oneOf('chronik.raft.transport', ['tcp', 'grpc'], {
    default: 'tcp',
    doc: "The wire of the raft streams this broker opens to its peers: 'tcp' (length-prefixed frames on a plain connection) or 'grpc' (an HTTP/2 stream). Every broker accepts both on its raft port, so a cluster may mix them; snapshots and admin requests always go over gRPC.",
  }),
  int('chronik.raft.heartbeat.ticks', { default: 2, min: 1, max: 999, doc: 'Ticks between a leader\'s heartbeats to busy followers (idle groups go quiet).' }),

  // The log cleaner: compaction of topics whose cleanup.policy includes compact.
  bool('log.cleaner.enable', { default: true, doc: 'Run the log cleaner, which compacts topics whose cleanup.policy includes compact.' }),
  long('log.cleaner.backoff.ms', { default: 15_000, min: 1, max: INT32_MAX, doc: 'How long the cleaner sleeps when no log needs cleaning.' }),
  long('log.cleaner.dedupe.buffer.size', {
    default: 33_554_432, min: 65_536,
    doc: "Memory of the cleaner's key index for one pass, 24 bytes per key; a dirty part with more keys is cleaned over several passes (Chronik's default).",
  }),
  double('log.cleaner.io.max.bytes.per.second', {
    default: 67_108_864, min: 1, doc: "Disk bandwidth the cleaner may use, reads and writes together (Chronik's default; Kafka's is unbounded).",
  }),

  // Consumer groups and committed offsets.
  int('offsets.topic.num.partitions', { default: 50, min: 1, doc: 'Partitions of __consumer_offsets (fixed once the topic exists).' }),
  int('offsets.topic.replication.factor', {
    default: 3, min: 1, max: 32_767, doc: 'Replicas of __consumer_offsets (capped at the number of brokers).',
  }),
  int('offsets.topic.segment.bytes', {
    default: 104_857_600, min: 1, doc: 'segment.bytes of __consumer_offsets: smaller than for other topics, so the cleaner can compact it sooner.',
  }),
  int('offsets.retention.minutes', { default: 10_080, min: 1, doc: 'Committed offsets of an empty group expire after this.' }),
  long('offsets.retention.check.interval.ms', { default: 600_000, min: 1, max: INT32_MAX, doc: 'How often expired offsets are removed.' }),
  int('group.initial.rebalance.delay.ms', { default: 3000, min: 0, doc: 'Wait for more members before the first rebalance of a new group.' }),
  int('group.min.session.timeout.ms', { default: 6000, min: 0, doc: 'Shortest session timeout a member may ask for.' }),
  int('group.max.session.timeout.ms', { default: 1_800_000, min: 0, doc: 'Longest session timeout a member may ask for.' }),
  int('group.max.size', { default: INT32_MAX, min: 1, doc: 'Most members one group may have.' }),
  int('offset.metadata.max.bytes', { default: 4096, min: 0, doc: 'Longest metadata string an offset commit may carry.' }),
  int('group.consumer.session.timeout.ms', {
    default: 45_000, min: 1, doc: 'Consumer-protocol groups (KIP-848): a member that sends no heartbeat for this long leaves.',
  }),
  int('group.consumer.heartbeat.interval.ms', {
    default: 5000, min: 1, doc: 'Consumer-protocol groups: how often members heartbeat (the coordinator tells them).',
  }),
  list('group.consumer.assignors', {
    default: ['uniform', 'range'], elements: ['uniform', 'range'],
    doc: 'Server-side assignors of consumer-protocol groups members may ask for; the first is the default.',
  }),
  int('group.consumer.max.size', { default: INT32_MAX, min: 1, doc: 'Most members one consumer-protocol group may have.' }),
  oneOf('group.consumer.migration.policy', MIGRATION_POLICIES, {
    default: 'bidirectional',
    doc: 'Online conversion of groups with members between the classic and the consumer protocol: bidirectional, upgrade (classic to consumer only), downgrade (consumer to classic only) or disabled. Empty groups convert either way regardless.',
  }),

  // Transactions.
  int('transaction.state.log.num.partitions', { default: 50, min: 1, doc: 'Partitions of __transaction_state (fixed once the topic exists).' }),
  int('transaction.state.log.replication.factor', {
    default: 3, min: 1, max: 32_767, doc: 'Replicas of __transaction_state (capped at the number of brokers).',
  }),
  int('transaction.state.log.segment.bytes', { default: 104_857_600, min: 1, doc: 'segment.bytes of __transaction_state.' }),
  int('transaction.max.timeout.ms', {
    default: 900_000, min: 1, doc: 'Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above).',
  }),
  int('transaction.abort.timed.out.transaction.cleanup.interval.ms', {
    default: 10_000, min: 1, doc: 'How often the coordinator aborts transactions open longer than their timeout.',
  }),
  int('transactional.id.expiration.ms', {
    default: 604_800_000, min: 1, doc: 'A transactional id without a transaction for this long is forgotten.',
  }),
  int('transaction.remove.expired.transaction.cleanup.interval.ms', {
    default: 3_600_000, min: 1, doc: 'How often expired transactional ids are removed.',
  }),
  bool('transaction.partition.verification.enable', {
    default: true, doc: 'A transactional batch that would open a transaction on a partition is first checked with the coordinator (KIP-890).',
  }),
] as const;

export type AnySetting = (typeof BROKER_SETTINGS)[number];
export type SettingName = AnySetting['name'];
/** The typed value of a setting: `SettingValue<'num.partitions'>` is number. */
export type SettingValue<N extends SettingName> = Extract<AnySetting, { readonly name: N }> extends SettingDef<N, infer V> ? V : never;

const BY_NAME: ReadonlyMap<string, AnySetting> = new Map(BROKER_SETTINGS.map((s) => [s.name, s]));

export function settingDef(name: string): AnySetting | undefined {
  return BY_NAME.get(name);
}

export function isSettingName(name: string): name is SettingName {
  return BY_NAME.has(name);
}

/** The settings older units feed (log.retention.ms <- minutes, hours), in the order they apply. */
export function aliasesOf(name: string): readonly AnySetting[] {
  return BROKER_SETTINGS.filter((s) => s.aliasOf?.name === name);
}

/** Rules between settings; each returns a message when broken. */
export const SETTING_CHECKS: ReadonlyArray<(get: <N extends SettingName>(name: N) => SettingValue<N>) => string | null> = [
  (get) =>
    get('chronik.raft.heartbeat.ticks') >= get('chronik.raft.election.ticks')
      ? `chronik.raft.heartbeat.ticks (${get('chronik.raft.heartbeat.ticks')}) must be below chronik.raft.election.ticks (${get('chronik.raft.election.ticks')})`
      : null,
  (get) =>
    get('group.max.session.timeout.ms') < get('group.min.session.timeout.ms')
      ? `group.max.session.timeout.ms (${get('group.max.session.timeout.ms')}) is below group.min.session.timeout.ms (${get('group.min.session.timeout.ms')})`
      : null,
];

function checkRegistry(): void {
  const flags = new Set<string>();
  const envs = new Set<string>(['CHRONIK_CONFIG']);
  const topics = new Set<string>();
  for (const s of BROKER_SETTINGS) {
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(s.name)) throw new Error(`setting ${s.name}: not a config name`);
    if (s.flag) {
      if (flags.has(s.flag.name) || s.flag.name === 'config' || s.flag.name === 'help') throw new Error(`setting ${s.name}: flag --${s.flag.name} taken`);
      flags.add(s.flag.name);
    }
    if (s.env) {
      if (envs.has(s.env)) throw new Error(`setting ${s.name}: variable ${s.env} taken`);
      envs.add(s.env);
    }
    if (s.topicConfig) {
      if (topics.has(s.topicConfig)) throw new Error(`setting ${s.name}: topic config ${s.topicConfig} taken`);
      topics.add(s.topicConfig);
    }
    if (s.aliasOf) {
      const target = BY_NAME.get(s.aliasOf.name);
      if (!target || target.aliasOf || (target.kind !== 'int' && target.kind !== 'long')) throw new Error(`setting ${s.name}: alias of a non-numeric setting`);
    }
  }
  if (BY_NAME.size !== BROKER_SETTINGS.length) throw new Error('a setting is registered twice');
}
checkRegistry();
