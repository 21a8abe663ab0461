/**
 * The operator's check of spec.brokerConfig against the broker's registered settings
 * (broker-settings.ts, generated from the broker's registry): a name the broker does not know or
 * a value it would refuse makes it exit 2 and the pod crash-loop, so both are caught here and
 * reported on the ChronikCluster instead. The value rules mirror the broker's parsers; a test
 * compares the two on sample values of every setting.
 */
import { BROKER_SETTINGS, type BrokerSettingFacts } from './broker-settings.js';

const BY_NAME: ReadonlyMap<string, BrokerSettingFacts> = new Map(BROKER_SETTINGS.map((s) => [s.name, s]));

export function brokerSetting(name: string): BrokerSettingFacts | undefined {
  return BY_NAME.get(name);
}

const INT_RANGE = { int: [-(2n ** 31n), 2n ** 31n - 1n], long: [-(2n ** 63n), 2n ** 63n - 1n] } as const;

function integerProblem(f: BrokerSettingFacts & { kind: 'int' | 'long' }, v: string): string | null {
  if (!/^-?\d+$/.test(v)) return 'is not an integer';
  const n = BigInt(v);
  const [lo, hi] = INT_RANGE[f.kind];
  if (n < lo || n > hi) return `is out of the ${f.kind === 'int' ? 'int32' : 'int64'} range`;
  if (f.min !== undefined && n < BigInt(f.min)) return `must be at least ${f.min}`;
  if (f.max !== undefined && n > BigInt(f.max)) return `must be at most ${f.max}`;
  return null;
}

function addressProblem(use: 'listener' | 'advertised', v: string): string | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(v);
  if (!m) return 'is not HOST:PORT';
  const port = Number(m[3]);
  if (port > 65535 || (use === 'advertised' && port === 0)) return `has port ${m[3]}; it must be ${use === 'listener' ? '0' : '1'}-65535`;
  if (use === 'advertised' && (m[1] ?? m[2] ?? '') === '') return 'needs a host';
  return null;
}

/** Why the broker would refuse `value` for the setting, or null when it would take it. */
export function settingValueProblem(f: BrokerSettingFacts, value: string): string | null {
  const v = value.trim();
  // A value type of its own: the broker's pattern is all the operator can check.
  if (f.pattern !== undefined) return new RegExp(`^(?:${f.pattern})$`).test(v) ? null : `is not ${f.allowed ?? 'valid'}`;
  switch (f.kind) {
    case 'int':
    case 'long':
      return integerProblem({ ...f, kind: f.kind }, v);
    case 'double': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) return 'is not a number';
      if (f.min !== undefined && n < f.min) return `must be at least ${f.min}`;
      if (f.max !== undefined && n > f.max) return `must be at most ${f.max}`;
      return null;
    }
    case 'boolean':
      return v.toLowerCase() === 'true' || v.toLowerCase() === 'false' ? null : 'is not true or false';
    case 'list': {
      const items = v === '' ? [] : v.split(',').map((s) => s.trim());
      if (f.nonEmpty && items.length === 0) return `must list at least one of ${(f.oneOf ?? []).join(', ')}`;
      const bad = f.oneOf ? items.find((i) => !f.oneOf?.includes(i)) : undefined;
      return bad === undefined ? null : `lists ${JSON.stringify(bad)}, which is not one of ${(f.oneOf ?? []).join(', ')}`;
    }
    case 'string':
      if (f.address) return addressProblem(f.address, v);
      if (f.oneOf) return f.oneOf.includes(v) ? null : `must be one of ${f.oneOf.join(', ')}`;
      if (v === '') return 'must not be empty';
      if (f.path && v.includes(',')) return 'must be one directory (no commas)';
      return null;
  }
}
