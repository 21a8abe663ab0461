import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { validateTopicName } from '../../../src/cluster/topic-names.js';
import { BrokerSettings } from '../../../src/config/index.js';
import { brokerDefaultFor, ConfigSource, topicConfigDefs, validateTopicConfig } from '../../../src/cluster/topic-configs.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof KafkaError ? err.code : -999;
  }
}

describe('validateTopicName', () => {
  it('accepts Kafka-legal names', () => {
    for (const n of ['a', 'orders.v1', 'my_topic-2', 'A'.repeat(249)]) expect(codeOf(() => validateTopicName(n))).toBeUndefined();
  });
  it('rejects empty, dots, long and illegal names with INVALID_TOPIC_EXCEPTION', () => {
    for (const n of ['', '.', '..', 'A'.repeat(250), 'has space', 'slash/no', 'ümlaut']) {
      expect(codeOf(() => validateTopicName(n))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    }
  });
});

describe('validateTopicConfig', () => {
  it('normalises valid values', () => {
    expect(validateTopicConfig('retention.ms', ' -1 ')).toBe('-1');
    expect(validateTopicConfig('cleanup.policy', 'compact, delete')).toBe('compact,delete');
    expect(validateTopicConfig('preallocate', 'TRUE')).toBe('true');
    expect(validateTopicConfig('min.cleanable.dirty.ratio', '0.25')).toBe('0.25');
    expect(validateTopicConfig('message.timestamp.type', 'LogAppendTime')).toBe('LogAppendTime');
  });
  it('names the key in INVALID_CONFIG errors', () => {
    const cases: [string, string][] = [
      ['retention.msx', '1'],
      ['retention.ms', 'abc'],
      ['retention.ms', '-2'],
      ['segment.bytes', '13'],
      ['segment.bytes', '99999999999'],
      ['cleanup.policy', 'shred'],
      ['cleanup.policy', ''],
      ['min.cleanable.dirty.ratio', '1.5'],
      ['preallocate', 'yes'],
      ['message.timestamp.type', 'Now'],
    ];
    for (const [k, v] of cases) {
      try {
        validateTopicConfig(k, v);
        expect.fail(`${k}=${v} was accepted`);
      } catch (err) {
        expect(err).toBeInstanceOf(KafkaError);
        expect((err as KafkaError).code).toBe(ErrorCode.INVALID_CONFIG);
        expect((err as KafkaError).message).toContain(k);
      }
    }
  });
});

describe('brokerDefaultFor', () => {
  const def = topicConfigDefs.get('retention.ms');
  it('falls back from topic config to broker synonym, its aliases, then the built-in default', () => {
    if (!def) throw new Error('retention.ms missing');
    expect(brokerDefaultFor(def, BrokerSettings.of({ 'log.retention.ms': '5000' }))).toEqual({
      value: '5000',
      source: ConfigSource.STATIC_BROKER_CONFIG,
      name: 'log.retention.ms',
    });
    expect(brokerDefaultFor(def, BrokerSettings.of({ 'log.retention.hours': '2' })).value).toBe('7200000');
    expect(brokerDefaultFor(def, BrokerSettings.of({ 'log.retention.hours': '2', 'log.retention.minutes': '3' })).value).toBe('180000');
    expect(brokerDefaultFor(def, BrokerSettings.of({ 'log.retention.hours': '-1' })).value).toBe('-1');
    expect(brokerDefaultFor(def, BrokerSettings.defaults())).toEqual({ value: '604800000', source: ConfigSource.DEFAULT_CONFIG, name: 'log.retention.ms' });
  });
});

describe('message.format.version', () => {
  // What Kafka 3.9.1's broker accepted and refused for this config, asked one by one.
  const accepted = ['0.10.2', '2.8-IV1', '3.0-IV1', '0.8.0', '0.9.0.0', '1.0.0', '2.8.1', '2.8.foo', '2.8..1', '0.10.2.1', '3.0-IV1.7', '3.9', '4.0-IV0'];
  const refused = ['bogus', '', '2.8.', '2.8..', '0.10', '0.8', '4.0', '3.10', '1.0-IV1', '2.8-IV10', 'x.y'];

  it('accepts every version string Kafka 3.x accepts, and keeps it as given', () => {
    for (const v of accepted) expect(validateTopicConfig('message.format.version', v), v).toBe(v);
    expect(validateTopicConfig('message.format.version', ' 2.8 ')).toBe('2.8');
  });
  it('refuses what Kafka 3.x refuses with INVALID_CONFIG naming the config', () => {
    for (const v of refused) {
      try {
        validateTopicConfig('message.format.version', v);
        expect.fail(`${JSON.stringify(v)} was accepted`);
      } catch (err) {
        expect((err as KafkaError).code, v).toBe(ErrorCode.INVALID_CONFIG);
        expect((err as KafkaError).message).toContain('message.format.version');
      }
    }
  });
  it("falls back to log.message.format.version, whose default is Kafka 3.x's 3.0-IV1", () => {
    const def = topicConfigDefs.get('message.format.version');
    if (!def) throw new Error('message.format.version missing');
    expect(brokerDefaultFor(def, BrokerSettings.defaults())).toEqual({ value: '3.0-IV1', source: ConfigSource.DEFAULT_CONFIG, name: 'log.message.format.version' });
    expect(brokerDefaultFor(def, BrokerSettings.of({ 'log.message.format.version': '2.8' })).value).toBe('2.8');
    expect(() => BrokerSettings.of({ 'log.message.format.version': '2.8.' })).toThrow(/log\.message\.format\.version/);
  });
});
