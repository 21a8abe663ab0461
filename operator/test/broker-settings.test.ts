/**
 * The operator refuses a spec.brokerConfig value exactly when the broker would: its checker
 * (over the generated facts) against the broker's own parser, on sample values of every setting.
 */
import { describe, expect, it } from 'vitest';
import { BROKER_SETTINGS as BROKER_REGISTRY, custom, SettingValueError, type SettingDef } from '../../broker/src/config/index.js';
import { brokerSetting, settingValueProblem } from '../src/api/broker-setting-check.js';

const SAMPLES = [
  '', ' ', '0', '1', '-1', '-2', '14', '13', '65536', '65537', '2147483647', '2147483648', '-2147483649', '9223372036854775807',
  '9223372036854775808', '1.5', '0.5', '2', 'abc', '1e3', 'true', 'FALSE', 'yes', 'delete', 'compact', 'compact, delete', 'delete,shred',
  'producer', 'zstd', 'CreateTime', 'json', 'pretty', 'info', 'loud', '127.0.0.1:9092', ':9092', 'h:0', '[::1]:80', 'h:70000', 'localhost',
  '/var/lib/x', '/a,/b', 'rack-1',
];

function brokerTakes(def: SettingDef, value: string): boolean {
  try {
    def.parse(value);
    return true;
  } catch (err) {
    if (err instanceof SettingValueError) return false;
    throw err;
  }
}

describe('the operator checks brokerConfig values like the broker', () => {
  for (const s of BROKER_REGISTRY) {
    it(s.name, () => {
      const facts = brokerSetting(s.name);
      expect(facts, 'operator/src/api/broker-settings.ts is stale').toBeDefined();
      if (!facts) return;
      for (const v of SAMPLES) expect(settingValueProblem(facts, v) === null, `${s.name}=${JSON.stringify(v)}`).toBe(brokerTakes(s, v));
    });
  }
});

describe('a broker setting with a value type of its own', () => {
  it('is checked against its pattern', () => {
    const voters = custom('chronik.test.voters', {
      default: null,
      doc: 'Voters.',
      pattern: /\d+@[^,@:]+:\d+(?:,\d+@[^,@:]+:\d+)*/,
      allowed: 'ID@HOST:PORT,...',
      parse: (text) => text.split(','),
      format: (v) => v.join(','),
    });
    const facts = { name: voters.name, kind: voters.kind, ...voters.constraints, flag: null };
    for (const v of ['1@a:9093', '1@a:9093,2@b:1', ' 3@c:2 ', '', '1@a', 'a:1', '1@a:1,']) {
      expect(settingValueProblem(facts, v) === null, JSON.stringify(v)).toBe(brokerTakes(voters, v));
    }
    expect(settingValueProblem(facts, '1@a')).toBe('is not ID@HOST:PORT,...');
  });
});
