/**
 * Which fault comes next and whom it hits: a pure function of the seeded generator, the cluster
 * size and who leads what right now, so a schedule replays from its seed (the timing of the
 * cluster's reactions does not).
 */
import type { NemesisFamily } from './options.js';
import { rulesForGroups, type DropRule } from './network-faults.js';

export interface Roles {
  /** Leader broker of each workload partition, where known. */
  readonly leaders: ReadonlyMap<number, number>;
  readonly controller?: number;
}

export type CorruptMode = 'flip' | 'garbage' | 'truncate';

export type Fault =
  | { readonly family: 'kill'; readonly variant: 'one' | 'leader' | 'controller' | 'minority' | 'all'; readonly nodes: readonly number[] }
  | { readonly family: 'pause'; readonly variant: 'one' | 'leader' | 'minority'; readonly nodes: readonly number[] }
  | {
      readonly family: 'partition';
      readonly variant: 'isolate-one' | 'isolate-leader' | 'halves' | 'bridge' | 'one-way' | 'lossy';
      readonly groups: readonly (readonly number[])[];
      readonly rules: readonly DropRule[];
    }
  | { readonly family: 'corrupt'; readonly variant: CorruptMode; readonly nodes: readonly number[]; readonly leader: boolean };

export type Rng = () => number;

function pick<T>(rng: Rng, items: readonly T[]): T {
  const v = items[Math.floor(rng() * items.length)];
  if (v === undefined) throw new Error('pick from an empty list');
  return v;
}

function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

function ids(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The most brokers that can be lost with a quorum of `n` left: 1 of 3, 2 of 5. */
export function minoritySize(n: number): number {
  return Math.max(1, Math.floor((n - 1) / 2));
}

function leaderOrAny(rng: Rng, n: number, roles: Roles): number {
  const known = [...roles.leaders.values()].filter((l) => l >= 0 && l < n);
  return known.length > 0 ? pick(rng, known) : pick(rng, ids(n));
}

export function planFault(family: NemesisFamily, n: number, rng: Rng, roles: Roles): Fault {
  const all = ids(n);
  switch (family) {
    case 'kill': {
      const variant = pick(rng, n === 1 ? (['one'] as const) : (['one', 'leader', 'controller', 'minority', 'all'] as const));
      const nodes =
        variant === 'one'
          ? [pick(rng, all)]
          : variant === 'leader'
            ? [leaderOrAny(rng, n, roles)]
            : variant === 'controller'
              ? [roles.controller !== undefined && roles.controller < n ? roles.controller : pick(rng, all)]
              : variant === 'minority'
                ? shuffled(rng, all).slice(0, minoritySize(n))
                : all;
      return { family, variant, nodes };
    }
    case 'pause': {
      const variant = pick(rng, n === 1 ? (['one'] as const) : (['one', 'leader', 'minority'] as const));
      const nodes = variant === 'one' ? [pick(rng, all)] : variant === 'leader' ? [leaderOrAny(rng, n, roles)] : shuffled(rng, all).slice(0, minoritySize(n));
      return { family, variant, nodes };
    }
    case 'partition': {
      if (n < 2) throw new Error('a partition needs at least 2 brokers');
      const variant = pick(rng, n >= 3 ? (['isolate-one', 'isolate-leader', 'halves', 'bridge', 'one-way', 'lossy'] as const) : (['isolate-one', 'one-way', 'lossy'] as const));
      if (variant === 'isolate-one' || variant === 'isolate-leader') {
        const x = variant === 'isolate-one' ? pick(rng, all) : leaderOrAny(rng, n, roles);
        const groups = [[x], all.filter((i) => i !== x)];
        return { family, variant, groups, rules: rulesForGroups(groups) };
      }
      if (variant === 'halves') {
        const s = shuffled(rng, all);
        const cut = Math.floor(n / 2);
        const groups = [s.slice(0, cut), s.slice(cut)];
        return { family, variant, groups, rules: rulesForGroups(groups) };
      }
      if (variant === 'bridge') {
        // One broker hears and is heard by both sides, which cannot hear each other.
        const [bridge, ...rest] = shuffled(rng, all);
        const cut = Math.ceil(rest.length / 2);
        const groups = [rest.slice(0, cut), rest.slice(cut)];
        return { family, variant, groups: [...groups, [bridge as number]], rules: rulesForGroups(groups) };
      }
      if (variant === 'one-way') {
        // x stops receiving from everyone, or everyone stops receiving from x; the other direction works.
        const x = pick(rng, all);
        const others = all.filter((i) => i !== x);
        const inbound = rng() < 0.5;
        const rules: DropRule[] = inbound ? [{ at: x, from: others, probability: 1 }] : others.map((o) => ({ at: o, from: [x], probability: 1 }));
        return { family, variant, groups: [[x], others], rules };
      }
      const probability = 0.2 + Math.round(rng() * 30) / 100;
      return { family, variant, groups: [all], rules: all.map((at) => ({ at, from: all.filter((i) => i !== at), probability })) };
    }
    case 'corrupt': {
      const leader = rng() < 0.5;
      const node = leader ? leaderOrAny(rng, n, roles) : pick(rng, all);
      return { family, variant: pick(rng, ['flip', 'garbage', 'truncate'] as const), nodes: [node], leader };
    }
  }
}

/** One line naming the fault and whom it hits, for the log and the summary. */
export function describeFault(f: Fault): string {
  if (f.family === 'partition') return `partition ${f.variant} ${f.groups.map((g) => `[${g.join(',')}]`).join(' ')}`;
  return `${f.family} ${f.variant} [${f.nodes.join(',')}]`;
}
