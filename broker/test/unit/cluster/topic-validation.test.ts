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
