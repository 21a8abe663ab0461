/**
 * The broker's resolved configuration, after flags, CHRONIK_* environment variables and
 * defaults. cli/ parses and validates it; everything else only reads it.
 */
export interface BrokerConfig {
  readonly nodeId: number;
  readonly dataDir: string;
  /** Where the Kafka listener binds. */
  readonly kafkaHost: string;
  readonly kafkaPort: number;
  /** What Metadata tells clients to connect to. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly rack: string | null;
  readonly logFormat: 'pretty' | 'json';
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /**
   * Broker-level defaults in Kafka's own names, as strings (the DescribeConfigs form), e.g.
   * 'num.partitions', 'default.replication.factor', 'auto.create.topics.enable',
   * 'log.segment.bytes', 'log.retention.ms', 'log.retention.bytes', 'message.max.bytes',
   * 'offsets.topic.num.partitions', 'group.min.session.timeout.ms', 'group.max.session.timeout.ms',
   * 'group.initial.rebalance.delay.ms', 'log.flush.interval.ms' (group-commit linger).
   * Topic configs fall back to these (topic 'retention.ms' -> broker 'log.retention.ms').
   */
  readonly defaults: Readonly<Record<string, string>>;
}
