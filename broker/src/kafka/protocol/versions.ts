import type { Versions } from './schema.js';

/** An inclusive version range; `min > max` means "no version". */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const NONE: VersionRange = { min: 1, max: 0 };

/** Parses "0+", "3-7", "5" or "none" (the specification's notation). Throws on anything else. */
export function parseVersions(spec: Versions): VersionRange {
  const s = spec.trim();
  if (s === 'none' || s === '') return NONE;
  if (s.endsWith('+')) return { min: parseVersionNumber(s.slice(0, -1), spec), max: Number.MAX_SAFE_INTEGER };
  const dash = s.indexOf('-');
  if (dash >= 0) {
    return { min: parseVersionNumber(s.slice(0, dash), spec), max: parseVersionNumber(s.slice(dash + 1), spec) };
  }
  const v = parseVersionNumber(s, spec);
  return { min: v, max: v };
}

function parseVersionNumber(text: string, spec: string): number {
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 0) throw new Error(`invalid version range "${spec}"`);
  return n;
}

export function inVersions(spec: Versions | undefined, version: number): boolean {
  if (spec === undefined) return false;
  const r = parseVersions(spec);
  return version >= r.min && version <= r.max;
}
