import { describe, expect, it } from 'vitest';
import { BROKER_USAGE, CliUsageError, parseBrokerArgs } from '../../../src/cli/args.js';
import { BROKER_SETTINGS } from '../../../src/config/index.js';

function config(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseBrokerArgs(argv, env);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.config;
}

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseBrokerArgs(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(CliUsageError);
    expect((err as CliUsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('chronik broker arguments', () => {
  it('has the registered defaults', () => {
    const { settings, ...rest } = config([]);
    expect(rest).toEqual({
      nodeId: 0,
      dataDir: './data',
      kafkaHost: '127.0.0.1',
      kafkaPort: 9092,
      advertisedHost: '127.0.0.1',
      advertisedPort: 9092,
      httpHost: '127.0.0.1',
      httpPort: 9644,
      rack: null,
      logFormat: 'json',
      logLevel: 'info',
      // Alone: a one-voter cluster on an ephemeral raft port, its cluster id from the data dir.
      raftListen: { host: '127.0.0.1', port: 0 },
      raftAdvertised: { host: '127.0.0.1', port: 0 },
      initialVoters: null,
      clusterId: null,
      adminListen: null,
      adminAdvertised: null,
      adminTokenFile: null,
    });
    expect(settings.givenNames()).toEqual([]);
    expect(settings.get('num.partitions')).toBe(1);
    expect(parseBrokerArgs([], {}, true)).toMatchObject({ config: { logFormat: 'pretty' } });
  });

  it('reads every flag', () => {
    const c = config([
      '--data-dir', '/var/chronik',
      '--kafka-listen', '0.0.0.0:19092',
      '--advertised', 'broker-1.example:9092',
      '--http-listen', '[::1]:8080',
      '--node-id', '7',
      '--rack', 'eu-west-1a',
      '--log-format', 'pretty',
      '--log-level', 'debug',
      '--config', 'num.partitions=3',
      '--config', 'log.cleanup.policy=compact, delete',
    ]);
    expect(c).toMatchObject({
      nodeId: 7,
      dataDir: '/var/chronik',
      kafkaHost: '0.0.0.0',
      kafkaPort: 19092,
      advertisedHost: 'broker-1.example',
      advertisedPort: 9092,
      httpHost: '::1',
      httpPort: 8080,
      rack: 'eu-west-1a',
      logFormat: 'pretty',
      logLevel: 'debug',
    });
    expect(c.settings.get('num.partitions')).toBe(3);
    expect(c.settings.get('log.cleanup.policy')).toEqual(['compact', 'delete']);
    expect(c.settings.givenValue('log.cleanup.policy')).toEqual({ text: 'compact,delete', source: '--config' });
    expect(c.settings.givenValue('node.id')).toEqual({ text: '7', source: '--node-id' });
  });

  it('reads the admin listener and token file; a wildcard admin address is advertised on the Kafka advertised host', () => {
    const c = config(['--admin-listen', '0.0.0.0:9645', '--advertised', 'b-1.svc:9092', '--admin-token-file', '/etc/chronik/token']);
    expect(c).toMatchObject({ adminListen: { host: '0.0.0.0', port: 9645 }, adminAdvertised: { host: 'b-1.svc', port: 9645 }, adminTokenFile: '/etc/chronik/token' });
    expect(config([], { CHRONIK_ADMIN_LISTEN: '127.0.0.1:7000' })).toMatchObject({ adminAdvertised: { host: '127.0.0.1', port: 7000 } });
    expect(usageError(['--admin-listen', 'nowhere'])).toContain('--admin-listen');
  });

  it('every setting, flagged or not, can be given with --config under its name', () => {
    const c = config(['--config', 'node.id=4', '--config', 'chronik.kafka.listen=127.0.0.1:1234', '--config', 'chronik.max.inflight.requests.per.connection=8']);
    expect(c).toMatchObject({ nodeId: 4, kafkaPort: 1234, advertisedPort: 1234 });
    expect(c.settings.get('chronik.max.inflight.requests.per.connection')).toBe(8);
  });

  it('takes CHRONIK_* variables; the command line wins over the environment', () => {
    const env = {
      CHRONIK_DATA_DIR: '/env/data',
      CHRONIK_KAFKA_LISTEN: '127.0.0.1:1111',
      CHRONIK_HTTP_LISTEN: '127.0.0.1:2222',
      CHRONIK_NODE_ID: '3',
      CHRONIK_RACK: 'r1',
      CHRONIK_LOG_LEVEL: 'warn',
      CHRONIK_LOG_FORMAT: 'json',
      CHRONIK_CONFIG: 'num.partitions=2;log.retention.ms=1000\nauto.create.topics.enable=false',
    };
    const fromEnv = config([], env);
    expect(fromEnv).toMatchObject({ dataDir: '/env/data', kafkaPort: 1111, advertisedPort: 1111, httpPort: 2222, nodeId: 3, rack: 'r1', logLevel: 'warn' });
    expect(fromEnv.settings.get('num.partitions')).toBe(2);
    expect(fromEnv.settings.get('log.retention.ms')).toBe(1000);
    expect(fromEnv.settings.get('auto.create.topics.enable')).toBe(false);
    expect(fromEnv.settings.givenValue('num.partitions')?.source).toBe('CHRONIK_CONFIG');
    const flagsWin = config(['--node-id', '4', '--kafka-listen', '127.0.0.1:3333', '--config', 'num.partitions=9', '--config', 'log.dirs=/cli'], env);
    expect(flagsWin).toMatchObject({ nodeId: 4, kafkaPort: 3333, dataDir: '/cli' });
    expect(flagsWin.settings.get('num.partitions')).toBe(9);
  });

  it('refuses a setting given twice at the same strength', () => {
    expect(usageError(['--node-id', '1', '--config', 'node.id=2'])).toMatch(/node\.id is given twice \(--node-id and --config\)/);
    expect(usageError([], { CHRONIK_NODE_ID: '1', CHRONIK_CONFIG: 'node.id=2' })).toMatch(/node\.id is given twice/);
    // Repeating --config itself: the last one applies, as with any repeated flag.
    expect(config(['--config', 'num.partitions=2', '--config', 'num.partitions=5']).settings.get('num.partitions')).toBe(5);
  });

  it('advertises loopback, not a wildcard, when listening on all interfaces', () => {
    expect(config(['--kafka-listen', ':9093'])).toMatchObject({ kafkaHost: '0.0.0.0', advertisedHost: '127.0.0.1', advertisedPort: 9093 });
  });

  it('names the offending flag, variable or setting in every error', () => {
    expect(usageError(['--bogus'])).toContain("'--bogus'");
    expect(usageError(['--data-dri', '/x'])).toMatch(/'--data-dri'.*did you mean '--data-dir'\?/);
    expect(usageError(['--node-id'])).toContain('--node-id');
    expect(usageError(['--node-id', '-1'])).toContain('--node-id');
    expect(usageError(['--node-id', 'abc'])).toContain('--node-id');
    expect(usageError(['--kafka-listen', 'localhost'])).toContain('--kafka-listen');
    expect(usageError(['--kafka-listen', 'h:70000'])).toContain('--kafka-listen');
    expect(usageError(['--advertised', 'h:0'])).toContain('--advertised');
    expect(usageError(['--advertised', ':9092'])).toContain('--advertised');
    expect(usageError(['--log-format', 'xml'])).toContain('--log-format');
    expect(usageError(['--log-level', 'loud'])).toContain('--log-level');
    expect(usageError(['--data-dir', '/a,/b'])).toContain('--data-dir');
    expect(usageError(['--config', 'novalue'])).toContain('--config');
    expect(usageError(['stray'])).toContain("'stray'");
    expect(usageError([], { CHRONIK_NODE_ID: 'x' })).toContain('CHRONIK_NODE_ID');
    expect(usageError([], { CHRONIK_CONFIG: 'a.b' })).toContain('CHRONIK_CONFIG');
    expect(usageError(['--config', 'socket.request.max.bytes=lots'])).toContain('socket.request.max.bytes');
    expect(usageError(['--config', 'connections.max.idle.ms=0'])).toContain('connections.max.idle.ms');
    expect(usageError(['--config', 'group.min.session.timeout.ms=10', '--config', 'group.max.session.timeout.ms=5'])).toContain('group.max.session.timeout.ms');
  });

  it('refuses an unknown setting by name, suggesting the one meant', () => {
    expect(usageError(['--config', 'num.partition=3'])).toBe("--config: unknown setting 'num.partition' (did you mean 'num.partitions'?)");
    // A topic config's name points at the broker setting it falls back to.
    expect(usageError(['--config', 'cleanup.policy=compact'])).toContain("did you mean 'log.cleanup.policy'?");
    expect(usageError([], { CHRONIK_CONFIG: 'chronik.max.inflight=3' })).toContain("CHRONIK_CONFIG: unknown setting 'chronik.max.inflight'");
    expect(usageError(['--config', 'jmx.port=9999'])).toBe("--config: unknown setting 'jmx.port'");
    expect(usageError(['--config', 'Bad Key=1'])).toContain("unknown setting 'Bad Key'");
  });

  it('returns help for -h and --help, listing every setting', () => {
    expect(parseBrokerArgs(['-h'], {})).toEqual({ help: true });
    expect(parseBrokerArgs(['--help', '--node-id', '1'], {})).toEqual({ help: true });
    for (const s of BROKER_SETTINGS) {
      expect(BROKER_USAGE).toContain(`  ${s.name}: `);
      if (s.flag) expect(BROKER_USAGE).toContain(`--${s.flag.name} ${s.flag.arg}`);
      if (s.env) expect(BROKER_USAGE).toContain(s.env);
    }
  });
});
