/** Builds sample message values from a MessageDef, for round-trip and robustness tests. */
import type { FieldDef, MessageDef } from '../../../src/kafka/protocol/schema.js';
import { inVersions } from '../../../src/kafka/protocol/versions.js';

export type Value = Record<string, unknown>;

export interface SampleOptions {
  /** Use null for every field that is nullable in this version. */
  readonly nulls?: boolean;
  readonly seed?: number;
}

export function sampleMessage(def: MessageDef, version: number, opts: SampleOptions = {}): Value {
  const state = { n: opts.seed ?? 1 };
  return sampleStruct(def.fields, version, opts, state);
}

function sampleStruct(fields: readonly FieldDef[], version: number, opts: SampleOptions, state: { n: number }): Value {
  const out: Value = {};
  for (const f of fields) {
    if (!inVersions(f.versions, version)) continue;
    out[f.name] = sampleField(f, version, opts, state);
  }
  return out;
}

function sampleField(f: FieldDef, version: number, opts: SampleOptions, state: { n: number }): unknown {
  if (opts.nulls === true && inVersions(f.nullableVersions, version)) return null;
  if (f.array === true) {
    return [0, 1].map(() => (f.type === 'struct' ? sampleStruct(f.fields ?? [], version, opts, state) : samplePrimitive(f.type, state)));
  }
  if (f.type === 'struct') return sampleStruct(f.fields ?? [], version, opts, state);
  return samplePrimitive(f.type, state);
}

function samplePrimitive(type: FieldDef['type'], state: { n: number }): unknown {
  const n = ++state.n;
  switch (type) {
    case 'bool':
      return n % 2 === 0;
    case 'int8':
      return (n % 200) - 100;
    case 'int16':
      return 1000 + n;
    case 'uint16':
      return 40000 + n;
    case 'int32':
      return n % 3 === 0 ? -(100000 + n) : 100000 + n;
    case 'uint32':
      return 3000000000 + n;
    case 'int64':
      return n % 3 === 0 ? -(2 ** 40 + n) : 2 ** 41 + n;
    case 'float64':
      return n + 0.25;
    case 'uuid':
      return `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${(n * 7919).toString(16).padStart(12, '0')}`;
    case 'string':
      return `s${n}-é`;
    case 'bytes':
    case 'records':
      return Buffer.from([n & 0xff, 1, 2, 3, (n * 3) & 0xff]);
    default:
      return null;
  }
}

/** Keeps only the fields present in `version` (decoding fills in defaults for the others). */
export function projectToVersion(fields: readonly FieldDef[], version: number, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Value;
  const out: Value = {};
  for (const f of fields) {
    if (!inVersions(f.versions, version)) continue;
    const v = obj[f.name];
    if (f.type === 'struct' && v !== null && v !== undefined) {
      out[f.name] = f.array === true ? (v as unknown[]).map((e) => projectToVersion(f.fields ?? [], version, e)) : projectToVersion(f.fields ?? [], version, v);
    } else {
      out[f.name] = v;
    }
  }
  return out;
}
