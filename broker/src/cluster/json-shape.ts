/**
 * Checked reading of decoded JSON: each reader takes the value and its path (`brokers[2].kafka.port`)
 * and either returns the typed value or throws a ShapeError naming that path, so a corrupt
 * entry or snapshot is reported precisely instead of failing somewhere later.
 */

export class ShapeError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ShapeError';
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

export type Obj = Readonly<Record<string, unknown>>;

export function anyObj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ShapeError(path, `expected an object, got ${describe(v)}`);
  return v as Obj;
}

/** An object with only the given keys: an unknown key means a writer newer than this reader. */
export function obj(v: unknown, path: string, keys: readonly string[]): Obj {
  const o = anyObj(v, path);
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ShapeError(field(path, k), 'unknown field');
  return o;
}

export function field(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ShapeError(path, `expected an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new ShapeError(path, `${v} is out of range [${min}, ${max}]`);
  return v;
}

export function str(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string {
  if (typeof v !== 'string') throw new ShapeError(path, `expected a string, got ${describe(v)}`);
  if (opts.nonEmpty && v.length === 0) throw new ShapeError(path, 'must not be empty');
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ShapeError(path, `expected true or false, got ${describe(v)}`);
  return v;
}

export function nullable<T>(v: unknown, path: string, read: (v: unknown, path: string) => T): T | null {
  return v === null ? null : read(v, path);
}

export function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ShapeError(path, `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function arrayOf<T>(v: unknown, path: string, read: (item: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) throw new ShapeError(path, `expected an array, got ${describe(v)}`);
  return v.map((item, i) => read(item, `${path}[${i}]`));
}

export function stringMap(v: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(anyObj(v, path))) {
    if (k === '__proto__') throw new ShapeError(`${path}.${k}`, 'not a valid key');
    out[k] = str(s, `${path}.${k}`);
  }
  return out;
}
