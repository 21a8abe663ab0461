/**
 * One broker setting as the registry declares it: its name, value type, default, allowed values,
 * whether it can change at runtime, one line of documentation, and where else it may be given
 * (a flag and an environment variable of its own, a topic config that falls back to it, or the
 * setting it is an older alias of). The builders below are the only way to make one, so every
 * setting parses, normalises and documents its values the same way.
 */

/** The value types, as DescribeConfigs (ConfigType) and the documentation name them. */
export type SettingKind = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';

/** Why a value was refused, in words that follow "<name>: '<value>' ...". */
export class SettingValueError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SettingValueError';
  }
}

/** What a value may be, as data: the operator checks spec.brokerConfig against the same facts. */
export interface SettingConstraints {
  readonly min?: number;
  readonly max?: number;
  /** Allowed values (for lists: allowed elements). */
  readonly oneOf?: readonly string[];
  /** For lists whose elements are restricted: at least one element. */
  readonly nonEmpty?: boolean;
  /** HOST:PORT forms: a listener may use port 0 and an empty host; an advertised address may not. */
  readonly address?: 'listener' | 'advertised';
  /** A single path (no commas: one directory). */
  readonly path?: boolean;
  /** A value type of its own: the whole text must match this (a RegExp source, anchored here). */
  readonly pattern?: string;
  /** Words for the allowed values of a value type of its own. */
  readonly allowed?: string;
}

export interface SettingDef<N extends string = string, V = unknown> {
  readonly name: N;
  readonly kind: SettingKind;
  /** The value when nothing sets it; null means unset (then `defaultText` says what applies). */
  readonly default: V;
  /** What applies when the default is null and something else decides (the listen address, a TTY). */
  readonly defaultText: string | null;
  readonly constraints: SettingConstraints;
  /** Whether AlterConfigs may change it while the broker runs. */
  readonly dynamic: boolean;
  readonly doc: string;
  /** Its own flag (`--data-dir DIR`): name without dashes, and the placeholder for --help. */
  readonly flag: { readonly name: string; readonly arg: string } | null;
  /** Its own environment variable (`CHRONIK_DATA_DIR`). */
  readonly env: string | null;
  /** The topic config that falls back to this setting (retention.ms -> log.retention.ms). */
  readonly topicConfig: string | null;
  /** An older unit of another setting (log.retention.hours feeds log.retention.ms, times scale). */
  readonly aliasOf: { readonly name: string; readonly scale: number } | null;
  /** The typed value of a text; throws SettingValueError. */
  parse(text: string): NonNullable<V>;
  /** The canonical text of a text (what DescribeConfigs shows); throws SettingValueError. */
  normalize(text: string): string;
  /** The canonical text of a value. */
  format(value: NonNullable<V>): string;
}

interface Common<V> {
  readonly default: V;
  readonly doc: string;
  readonly defaultText?: string;
  readonly dynamic?: boolean;
  readonly flag?: { readonly name: string; readonly arg: string };
  readonly env?: string;
  readonly topicConfig?: string;
  readonly aliasOf?: { readonly name: string; readonly scale: number };
}

interface Codec<T> {
  /** Value and canonical text of a trimmed text. */
  read(text: string): { value: T; text: string };
  format(value: T): string;
}

function build<const N extends string, V>(
  name: N,
  kind: SettingKind,
  o: Common<V>,
  constraints: SettingConstraints,
  codec: Codec<NonNullable<V>>,
): SettingDef<N, V> {
  const def: SettingDef<N, V> = {
    name,
    kind,
    default: o.default,
    defaultText: o.defaultText ?? null,
    constraints,
    dynamic: o.dynamic ?? false,
    doc: o.doc,
    flag: o.flag ?? null,
    env: o.env ?? null,
    topicConfig: o.topicConfig ?? null,
    aliasOf: o.aliasOf ?? null,
    parse: (text) => codec.read(text.trim()).value,
    normalize: (text) => codec.read(text.trim()).text,
    format: (value) => codec.format(value),
  };
  // A default the setting itself would refuse is a registry bug: fail at load, not at a client.
  if (o.default !== null && o.default !== undefined) codec.read(codec.format(o.default as NonNullable<V>));
  return def;
}

export const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
/** Kafka's "no limit" long; values at or above 2^63 are shown as this. */
export const LONG_MAX = 2 ** 63;
const LONG_MAX_TEXT = '9223372036854775807';

function rangeCheck(n: bigint | number, lo: number | undefined, hi: number | undefined): void {
  const big = typeof n === 'bigint';
  if (lo !== undefined && (big ? n < BigInt(lo) : n < lo)) throw new SettingValueError(`must be at least ${lo}`);
  if (hi !== undefined && hi < LONG_MAX && (big ? n > BigInt(hi) : n > hi)) throw new SettingValueError(`must be at most ${hi}`);
}

function integerCodec(kind: 'int' | 'long', min: number | undefined, max: number | undefined): Codec<number> {
  return {
    read(text) {
      if (!/^-?\d+$/.test(text)) throw new SettingValueError(`is not an integer${kind === 'long' ? ' (long)' : ''}`);
      // Exact comparison: longs beyond 2^53 appear as "no limit" values.
      const n = BigInt(text);
      if (kind === 'int' && (n < BigInt(INT32_MIN) || n > BigInt(INT32_MAX))) throw new SettingValueError('is out of the int32 range');
      if (kind === 'long' && (n < -(2n ** 63n) || n > 2n ** 63n - 1n)) throw new SettingValueError('is out of the int64 range');
      rangeCheck(n, min, max);
      return { value: Number(n), text: n.toString() };
    },
    format: (v) => (v >= LONG_MAX ? LONG_MAX_TEXT : String(Math.trunc(v))),
  };
}

type NumberOpts<V> = Common<V> & { readonly min?: number; readonly max?: number };

function bounds(o: { readonly min?: number; readonly max?: number }): SettingConstraints {
  return { ...(o.min === undefined ? {} : { min: o.min }), ...(o.max === undefined ? {} : { max: o.max }) };
}

export function int<const N extends string>(name: N, o: NumberOpts<number>): SettingDef<N, number>;
export function int<const N extends string>(name: N, o: NumberOpts<number | null>): SettingDef<N, number | null>;
export function int<const N extends string>(name: N, o: NumberOpts<number | null>): SettingDef<N, number | null> {
  return build(name, 'int', o, { min: o.min ?? INT32_MIN, max: o.max ?? INT32_MAX }, integerCodec('int', o.min, o.max));
}

export function long<const N extends string>(name: N, o: NumberOpts<number>): SettingDef<N, number>;
export function long<const N extends string>(name: N, o: NumberOpts<number | null>): SettingDef<N, number | null>;
export function long<const N extends string>(name: N, o: NumberOpts<number | null>): SettingDef<N, number | null> {
  return build(name, 'long', o, bounds(o), integerCodec('long', o.min, o.max));
}

export function double<const N extends string>(name: N, o: NumberOpts<number>): SettingDef<N, number> {
  return build(name, 'double', o, bounds(o), {
    read(text) {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw new SettingValueError('is not a number');
      rangeCheck(n, o.min, o.max);
      return { value: n, text: String(n) };
    },
    format: (v) => String(v),
  });
}

export function bool<const N extends string>(name: N, o: Common<boolean>): SettingDef<N, boolean> {
  return build(name, 'boolean', o, { oneOf: ['true', 'false'] }, {
    read(text) {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw new SettingValueError('is not true or false');
      return { value: lower === 'true', text: lower };
    },
    format: (v) => String(v),
  });
}

/** Free text; `path` settings name one directory. */
export function str<const N extends string>(name: N, o: Common<string> & { readonly path?: boolean }): SettingDef<N, string>;
export function str<const N extends string>(name: N, o: Common<string | null> & { readonly path?: boolean }): SettingDef<N, string | null>;
export function str<const N extends string>(name: N, o: Common<string | null> & { readonly path?: boolean }): SettingDef<N, string | null> {
  return build(name, 'string', o, o.path ? { path: true } : {}, {
    read(text) {
      if (text === '') throw new SettingValueError('must not be empty');
      if (o.path && text.includes(',')) throw new SettingValueError('must be one directory (no commas)');
      return { value: text, text };
    },
    format: (v) => v,
  });
}

/** One of a fixed set of words; the value type is their union. */
export function oneOf<const N extends string, const T extends string>(
  name: N,
  values: readonly T[],
  o: Common<NoInfer<T>>,
): SettingDef<N, T>;
export function oneOf<const N extends string, const T extends string>(
  name: N,
  values: readonly T[],
  o: Common<NoInfer<T> | null>,
): SettingDef<N, T | null>;
export function oneOf<const N extends string, const T extends string>(name: N, values: readonly T[], o: Common<T | null>): SettingDef<N, T | null> {
  const isMember = (v: string): v is T => (values as readonly string[]).includes(v);
  return build(name, 'string', o, { oneOf: values }, {
    read(text) {
      if (!isMember(text)) throw new SettingValueError(`must be one of ${values.join(', ')}`);
      return { value: text, text };
    },
    format: (v) => v,
  });
}

/** Comma-separated words; with `elements`, each must be one of them and at least one is given. */
export function list<const N extends string>(
  name: N,
  o: Common<readonly string[]> & { readonly elements?: readonly string[] },
): SettingDef<N, readonly string[]> {
  const elements = o.elements;
  return build(name, 'list', o, elements ? { oneOf: elements, nonEmpty: true } : {}, {
    read(text) {
      const items = text === '' ? [] : text.split(',').map((s) => s.trim());
      if (elements) {
        if (items.length === 0) throw new SettingValueError(`must list at least one of ${elements.join(', ')}`);
        const bad = items.find((i) => !elements.includes(i));
        if (bad !== undefined) throw new SettingValueError(`lists ${JSON.stringify(bad)}, which is not one of ${elements.join(', ')}`);
      }
      return { value: items, text: items.join(',') };
    },
    format: (v) => v.join(','),
  });
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * "host:port", "[v6addr]:port", or for a listener ":port" (all interfaces, reported as 0.0.0.0)
 * and port 0 (any free port).
 */
export function parseHostPort(text: string, use: 'listener' | 'advertised'): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!m) throw new SettingValueError('is not HOST:PORT');
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  const listener = use === 'listener';
  if (!Number.isInteger(port) || port > 65535 || (!listener && port === 0)) {
    throw new SettingValueError(`has port ${m[3]}; it must be ${listener ? '0' : '1'}-65535`);
  }
  if (!listener && host === '') throw new SettingValueError('needs a host');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A network address: where something listens, or what clients are told to connect to. */
export function address<const N extends string>(name: N, use: 'listener' | 'advertised', o: Common<HostPort>): SettingDef<N, HostPort>;
export function address<const N extends string>(name: N, use: 'listener' | 'advertised', o: Common<HostPort | null>): SettingDef<N, HostPort | null>;
export function address<const N extends string>(name: N, use: 'listener' | 'advertised', o: Common<HostPort | null>): SettingDef<N, HostPort | null> {
  return build(name, 'string', o, { address: use }, {
    read(text) {
      const value = parseHostPort(text, use);
      return { value, text: formatHostPort(value) };
    },
    format: formatHostPort,
  });
}

/**
 * A value type of its own, such as a list of voters `1@host:port,2@host:port`: the text must match
 * `pattern` (which the operator checks too, so it should say all it can), then `parse` makes the
 * value or throws SettingValueError; `format` gives the canonical text back.
 */
export function custom<const N extends string, T>(
  name: N,
  o: Common<T | null> & {
    readonly kind?: SettingKind;
    readonly pattern: RegExp;
    readonly allowed: string;
    readonly parse: (text: string) => NonNullable<T>;
    readonly format: (value: NonNullable<T>) => string;
  },
): SettingDef<N, T | null> {
  // The operator gets the pattern's source only, so flags would make the two disagree.
  if (o.pattern.flags !== '') throw new Error(`setting ${name}: its pattern must not have flags`);
  const anchored = new RegExp(`^(?:${o.pattern.source})$`);
  return build(name, o.kind ?? 'string', o, { pattern: o.pattern.source, allowed: o.allowed }, {
    read(text) {
      if (!anchored.test(text)) throw new SettingValueError(`is not ${o.allowed}`);
      const value = o.parse(text);
      return { value, text: o.format(value) };
    },
    format: (v) => o.format(v),
  });
}

/** Words for the allowed values, for --help and the README: "1 to 65536", "at least 0", "pretty, json". */
export function describeAllowed(def: SettingDef): string {
  const c = def.constraints;
  if (c.allowed !== undefined) return c.allowed;
  if (c.address === 'listener') return 'HOST:PORT (port 0: any free port)';
  if (c.address === 'advertised') return 'HOST:PORT';
  if (c.path) return 'a directory';
  if (c.oneOf) return def.kind === 'list' ? `a list of ${c.oneOf.join(', ')}` : c.oneOf.join(', ');
  const lo = c.min;
  const hi = c.max;
  const typeMin = def.kind === 'int' ? INT32_MIN : undefined;
  const typeMax = def.kind === 'int' ? INT32_MAX : undefined;
  const hasLo = lo !== undefined && lo !== typeMin;
  const hasHi = hi !== undefined && hi !== typeMax;
  if (hasLo && hasHi) return `${lo} to ${hi}`;
  if (hasLo) return `at least ${lo}`;
  if (hasHi) return `at most ${hi}`;
  return def.kind === 'list' ? 'a comma-separated list' : def.kind === 'string' ? 'text' : 'a number';
}
