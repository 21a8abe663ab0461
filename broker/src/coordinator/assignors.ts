/**
 * Server-side partition assignors of KIP-848 consumer groups: pure functions from the members
 * (what each subscribes to, what each holds now) and the topics (by id, with partition counts) to
 * the target assignment. Deterministic (members and partitions are taken in sorted order), so
 * the same inputs always give the same target.
 *
 * - uniform: every partition of every subscribed topic to one of the members subscribed to it,
 *   as evenly as the subscriptions allow, keeping partitions where they are when that does not
 *   unbalance anyone (sticky), so a rebalance moves as little as possible.
 * - range: per topic, its subscribers (sorted by member id) get contiguous ranges of partitions,
 *   the first ones one more when they do not divide evenly: co-partitioned topics line up.
 */

/** Topic id -> partitions. */
export type Assignment = Map<string, Set<number>>;

export interface AssignorMember {
  readonly memberId: string;
  /** Topic ids the member subscribes to (that exist). */
  readonly topics: ReadonlySet<string>;
  /** What the member holds now (uniform keeps it where it can). */
  readonly current: Assignment;
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[];
  /** Topic id -> partition count, for every subscribed topic that exists. */
  readonly topics: ReadonlyMap<string, number>;
}

export type Assignor = (input: AssignorInput) => Map<string, Assignment>;

export const ASSIGNOR_NAMES = ['uniform', 'range'] as const;
export type AssignorName = (typeof ASSIGNOR_NAMES)[number];

function emptyResult(members: readonly AssignorMember[]): Map<string, Assignment> {
  return new Map(members.map((m) => [m.memberId, new Map<string, Set<number>>()]));
}

function give(out: Map<string, Assignment>, memberId: string, topicId: string, partition: number): void {
  const a = out.get(memberId) as Assignment;
  let set = a.get(topicId);
  if (set === undefined) a.set(topicId, (set = new Set()));
  set.add(partition);
}

const byId = (a: AssignorMember, b: AssignorMember): number => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);

export const rangeAssignor: Assignor = ({ members, topics }) => {
  const out = emptyResult(members);
  const sorted = [...members].sort(byId);
  for (const topicId of [...topics.keys()].sort()) {
    const n = topics.get(topicId) ?? 0;
    const subs = sorted.filter((m) => m.topics.has(topicId));
    if (subs.length === 0) continue;
    const base = Math.floor(n / subs.length);
    const extra = n % subs.length;
    let p = 0;
    subs.forEach((m, i) => {
      const count = base + (i < extra ? 1 : 0);
      for (let k = 0; k < count; k++) give(out, m.memberId, topicId, p++);
    });
  }
  return out;
};

export const uniformAssignor: Assignor = ({ members, topics }) => {
  const out = emptyResult(members);
  const sorted = [...members].sort(byId);
  const partitions: Array<{ topicId: string; partition: number; eligible: AssignorMember[] }> = [];
  for (const topicId of [...topics.keys()].sort()) {
    const eligible = sorted.filter((m) => m.topics.has(topicId));
    if (eligible.length === 0) continue;
    for (let p = 0; p < (topics.get(topicId) ?? 0); p++) partitions.push({ topicId, partition: p, eligible });
  }
  // The most constrained partitions (fewest subscribers) first, so the others can even things out.
  partitions.sort((x, y) => x.eligible.length - y.eligible.length || (x.topicId < y.topicId ? -1 : x.topicId > y.topicId ? 1 : x.partition - y.partition));
  // Quotas: what a plain least-loaded placement gives each member (balanced for its subscriptions).
  const quota = new Map(sorted.map((m) => [m.memberId, 0]));
  for (const p of partitions) {
    let best = p.eligible[0] as AssignorMember;
    for (const m of p.eligible) if ((quota.get(m.memberId) ?? 0) < (quota.get(best.memberId) ?? 0)) best = m;
    quota.set(best.memberId, (quota.get(best.memberId) ?? 0) + 1);
  }
  const load = new Map(sorted.map((m) => [m.memberId, 0]));
  const placed = new Set<string>();
  const key = (topicId: string, partition: number): string => `${topicId}:${partition}`;
  // Sticky: members keep what they hold, up to their quota.
  for (const m of sorted) {
    for (const [topicId, set] of [...m.current].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!m.topics.has(topicId)) continue;
      const n = topics.get(topicId) ?? 0;
      for (const p of [...set].sort((a, b) => a - b)) {
        if (p >= n || placed.has(key(topicId, p)) || (load.get(m.memberId) ?? 0) >= (quota.get(m.memberId) ?? 0)) continue;
        give(out, m.memberId, topicId, p);
        placed.add(key(topicId, p));
        load.set(m.memberId, (load.get(m.memberId) ?? 0) + 1);
      }
    }
  }
  // The rest to the least loaded eligible member still under its quota (or the least loaded).
  for (const p of partitions) {
    if (placed.has(key(p.topicId, p.partition))) continue;
    let best: AssignorMember | null = null;
    for (const m of p.eligible) {
      const under = (load.get(m.memberId) ?? 0) < (quota.get(m.memberId) ?? 0);
      if (best === null) {
        best = m;
        continue;
      }
      const bestUnder = (load.get(best.memberId) ?? 0) < (quota.get(best.memberId) ?? 0);
      if ((under && !bestUnder) || (under === bestUnder && (load.get(m.memberId) ?? 0) < (load.get(best.memberId) ?? 0))) best = m;
    }
    const chosen = best as AssignorMember;
    give(out, chosen.memberId, p.topicId, p.partition);
    placed.add(key(p.topicId, p.partition));
    load.set(chosen.memberId, (load.get(chosen.memberId) ?? 0) + 1);
  }
  return out;
};

export const ASSIGNORS: Readonly<Record<AssignorName, Assignor>> = { uniform: uniformAssignor, range: rangeAssignor };

export function isAssignorName(name: string): name is AssignorName {
  return (ASSIGNOR_NAMES as readonly string[]).includes(name);
}
