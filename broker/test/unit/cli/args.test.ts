import { describe, expect, it } from 'vitest';
import { CliUsageError, parseBrokerArgs, parseHostPort } from '../../../src/cli/args.js';

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
  it('has the documented defaults', () => {
    expect(config([])).toEqual({
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
      defaults: {},
    });
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
      '--config', 'cleanup.policy=compact,delete',
    ]);
    expect(c).toEqual({
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
      defaults: { 'num.partitions': '3', 'cleanup.policy': 'compact,delete' },
    });
  });

  it('takes CHRONIK_* variables, and flags win over them', () => {
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
    expect(fromEnv.defaults).toEqual({ 'num.partitions': '2', 'log.retention.ms': '1000', 'auto.create.topics.enable': 'false' });
    const flagsWin = config(['--node-id', '4', '--kafka-listen', '127.0.0.1:3333', '--config', 'num.partitions=9'], env);
    expect(flagsWin).toMatchObject({ nodeId: 4, kafkaPort: 3333, dataDir: '/env/data' });
    expect(flagsWin.defaults['num.partitions']).toBe('9');
  });

  it('advertises loopback, not a wildcard, when listening on all interfaces', () => {
    expect(config(['--kafka-listen', ':9093'])).toMatchObject({ kafkaHost: '0.0.0.0', advertisedHost: '127.0.0.1', advertisedPort: 9093 });
  });

  it('names the offending flag or variable in every error', () => {
    expect(usageError(['--bogus'])).toContain("'--bogus'");
    expect(usageError(['--node-id'])).toContain('--node-id');
    expect(usageError(['--node-id', '-1'])).toContain('--node-id');
    expect(usageError(['--node-id', 'abc'])).toContain('--node-id');
    expect(usageError(['--kafka-listen', 'localhost'])).toContain('--kafka-listen');
    expect(usageError(['--kafka-listen', 'h:70000'])).toContain('--kafka-listen');
    expect(usageError(['--advertised', 'h:0'])).toContain('--advertised');
    expect(usageError(['--advertised', ':9092'])).toContain('--advertised');
    expect(usageError(['--log-format', 'xml'])).toContain('--log-format');
    expect(usageError(['--log-level', 'loud'])).toContain('--log-level');
    expect(usageError(['--config', 'novalue'])).toContain('--config');
    expect(usageError(['--config', 'Bad Key=1'])).toContain('--config');
    expect(usageError(['stray'])).toContain("'stray'");
    expect(usageError([], { CHRONIK_NODE_ID: 'x' })).toContain('CHRONIK_NODE_ID');
    expect(usageError([], { CHRONIK_CONFIG: 'a.b' })).toContain('CHRONIK_CONFIG');
    expect(usageError(['--config', 'socket.request.max.bytes=lots'])).toContain('socket.request.max.bytes');
    expect(usageError(['--config', 'connections.max.idle.ms=0'])).toContain('connections.max.idle.ms');
  });

  it('returns help for -h and --help', () => {
    expect(parseBrokerArgs(['-h'], {})).toEqual({ help: true });
    expect(parseBrokerArgs(['--help', '--node-id', '1'], {})).toEqual({ help: true });
  });

  it('parses IPv6 listen addresses', () => {
    expect(parseHostPort('[::]:9092', '--x', true)).toEqual({ host: '::', port: 9092 });
  });
});
