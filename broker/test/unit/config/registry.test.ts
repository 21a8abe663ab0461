/** The broker-config registry: typed values, precedence, older units, checks, and the builders. */
import { describe, expect, it } from 'vitest';
import {
  BROKER_SETTINGS,
  BrokerSettings,
  closestName,
  custom,
  defaultOf,
  describeAllowed,
  SettingsError,
  SettingValueError,
  type SettingInput,
} from '../../../src/config/index.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    return (err as Error).message;
  }
  throw new Error('expected a SettingsError');
}

const at = (rank: number, ...inputs: SettingInput[]) => inputs.map((i) => ({ ...i, rank }));

describe('the registry', () => {
  it('every default is a value its setting accepts, and comes back as the same text', () => {
    for (const s of BROKER_SETTINGS) {
      const text = BrokerSettings.defaults().effective(s.name).text;
      if (text === null) {
        expect(s.default, s.name).toBeNull();
        continue;
      }
      expect(s.normalize(text), s.name).toBe(text);
    }
  });

  it('gives typed values, normalised text and the source', () => {
    const s = BrokerSettings.of({ 'num.partitions': ' 3 ', 'log.cleanup.policy': 'compact, delete', 'auto.create.topics.enable': 'FALSE' }, '--config');
    expect(s.get('num.partitions')).toBe(3);
    expect(s.get('log.cleanup.policy')).toEqual(['compact', 'delete']);
    expect(s.get('auto.create.topics.enable')).toBe(false);
    expect(s.givenValue('log.cleanup.policy')).toEqual({ text: 'compact,delete', source: '--config' });
    expect(s.isSet('num.partitions')).toBe(true);
    expect(s.isSet('message.max.bytes')).toBe(false);
    expect(s.givenNames()).toEqual(['num.partitions', 'auto.create.topics.enable', 'log.cleanup.policy']);
    expect(s.get('chronik.kafka.listen')).toEqual({ host: '127.0.0.1', port: 9092 }); // the default
    expect(defaultOf('log.flush.interval.messages')).toBe(2 ** 63);
    expect(BrokerSettings.defaults().effective('log.flush.interval.messages').text).toBe('9223372036854775807');
  });

  it('refuses unknown names (with a suggestion when close) and bad values, naming both', () => {
    expect(refusal(() => BrokerSettings.of({ 'num.partition': '3' }, '--config'))).toBe("--config: unknown setting 'num.partition' (did you mean 'num.partitions'?)");
    expect(refusal(() => BrokerSettings.of({ 'zzz.unrelated': '3' }, '--config'))).toBe("--config: unknown setting 'zzz.unrelated'");
    expect(refusal(() => BrokerSettings.of({ 'num.partitions': '0' }, 'CHRONIK_CONFIG'))).toBe("CHRONIK_CONFIG num.partitions: '0' must be at least 1");
    expect(refusal(() => BrokerSettings.of({ 'log.segment.bytes': '9999999999' }))).toMatch(/int32 range/);
    expect(refusal(() => BrokerSettings.of({ 'chronik.kafka.advertised': ':9092' }))).toMatch(/needs a host/);
    expect(refusal(() => BrokerSettings.of({ 'log.cleaner.min.cleanable.ratio': '1.5' }))).toMatch(/at most 1/);
  });

  it('the stronger input wins; two sources at one strength are an error; one source repeated, the last', () => {
    const flag = { name: 'node.id', text: '1', source: '--node-id' };
    const env = { name: 'node.id', text: '2', source: 'CHRONIK_NODE_ID' };
    expect(BrokerSettings.resolve([...at(1, env), ...at(0, flag)]).get('node.id')).toBe(1);
    expect(BrokerSettings.resolve([...at(0, flag), ...at(1, env)]).get('node.id')).toBe(1);
    expect(refusal(() => BrokerSettings.resolve(at(0, flag, { ...env, source: '--config' })))).toBe('node.id is given twice (--node-id and --config)');
    expect(BrokerSettings.resolve(at(0, { ...flag, source: '--config' }, { ...env, source: '--config' })).get('node.id')).toBe(2);
  });

  it('older units feed the setting when it is not given itself; -1 stays "no limit"', () => {
    expect(BrokerSettings.of({ 'log.retention.hours': '2' }).get('log.retention.ms')).toBe(7_200_000);
    expect(BrokerSettings.of({ 'log.retention.hours': '2', 'log.retention.minutes': '3' }).get('log.retention.ms')).toBe(180_000);
    expect(BrokerSettings.of({ 'log.retention.hours': '2', 'log.retention.ms': '5' }).get('log.retention.ms')).toBe(5);
    expect(BrokerSettings.of({ 'log.retention.minutes': '-1' }).get('log.retention.ms')).toBe(-1);
    const e = BrokerSettings.of({ 'log.roll.hours': '1' }).effective('log.roll.ms');
    expect({ value: e.value, text: e.text, from: e.from?.name }).toEqual({ value: 3_600_000, text: '3600000', from: 'log.roll.hours' });
    expect(BrokerSettings.defaults().effective('log.roll.ms').from).toBeNull();
  });

  it('checks rules between settings', () => {
    expect(refusal(() => BrokerSettings.of({ 'group.min.session.timeout.ms': '10', 'group.max.session.timeout.ms': '5' }))).toBe(
      'group.max.session.timeout.ms (5) is below group.min.session.timeout.ms (10)',
    );
  });

  it('describes allowed values in words', () => {
    const words = (name: string) => describeAllowed(BROKER_SETTINGS.find((s) => s.name === name)!);
    expect(words('chronik.max.inflight.requests.per.connection')).toBe('1 to 65536');
    expect(words('num.partitions')).toBe('at least 1');
    expect(words('chronik.log.format')).toBe('pretty, json');
    expect(words('log.cleanup.policy')).toBe('a list of delete, compact');
    expect(words('chronik.kafka.listen')).toBe('HOST:PORT (port 0: any free port)');
  });
});

describe('a value type of its own', () => {
  type Voter = { id: number; host: string; port: number };
  const voters = custom('chronik.test.voters', {
    default: null,
    doc: 'Voters.',
    kind: 'list',
    pattern: /\d+@[^,@:]+:\d+(?:,\d+@[^,@:]+:\d+)*/,
    allowed: 'ID@HOST:PORT,...',
    parse: (text): Voter[] =>
      text.split(',').map((v) => {
        const [id, rest] = v.split('@') as [string, string];
        const [host, port] = rest.split(':') as [string, string];
        if (Number(port) > 65535) throw new SettingValueError(`has port ${port}`);
        return { id: Number(id), host, port: Number(port) };
      }),
    format: (v) => v.map((x) => `${x.id}@${x.host}:${x.port}`).join(','),
  });

  it('parses, normalises and refuses like the built-in types', () => {
    expect(voters.parse(' 1@a:9093,2@b:9093 ')).toEqual([{ id: 1, host: 'a', port: 9093 }, { id: 2, host: 'b', port: 9093 }]);
    expect(voters.normalize('01@a:9093')).toBe('1@a:9093');
    expect(() => voters.parse('1@a')).toThrow('is not ID@HOST:PORT,...');
    expect(() => voters.parse('1@a:99999')).toThrow('has port 99999');
    expect(describeAllowed(voters)).toBe('ID@HOST:PORT,...');
    expect(voters.constraints.pattern).toBe('\\d+@[^,@:]+:\\d+(?:,\\d+@[^,@:]+:\\d+)*');
  });

  it('may not use pattern flags (the operator would not see them)', () => {
    expect(() => custom('chronik.test.x', { default: null, doc: 'x', pattern: /a/i, allowed: 'a', parse: (t) => t, format: (t) => t })).toThrow(/flags/);
  });
});

describe('did you mean', () => {
  it('suggests close names and the broker setting behind a topic config name', () => {
    const names = BROKER_SETTINGS.map((s) => s.name);
    expect(closestName('log.retention.hour', names)).toBe('log.retention.hours');
    expect(closestName('cleanup.policy', names)).toBe('log.cleanup.policy');
    expect(closestName('admin.listen', names)).toBe('chronik.admin.listen');
    expect(closestName('jmx.port', names)).toBeNull();
  });
});
