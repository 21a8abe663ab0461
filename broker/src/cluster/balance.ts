/**
 * Local improvement of replica sets toward an even spread, shared by placement (on the
 * partitions it just placed) and the rebalance planner (on the whole cluster, a bounded number
 * of steps at a time). Every step lowers (rack violations, sum of squared replica counts, sum of
 * squared preferred-leader counts) in that order, so repeated steps always stop. Replica lists
 * are edited in place; the caller owns the copies.
 */
import { rackKey, type BrokerLoad, type PlacementBroker } from './broker-load.js';

/** One partition the balancer may change; `replicas` is edited in place, preferred leader first. */
export interface MovablePartition {
  replicas: number[];
}

/** How many partitions a plan may still change. */
export interface ChangeBudget {
  /** Whether all these partitions (by index; some may have changed already) may change. */
  allows(indices: readonly number[]): boolean;
  /** Told of each partition changed. */
  spend(index: number): void;
  /** No partition that has not changed yet may change. */
  full(): boolean;
}

export const UNLIMITED: ChangeBudget = { allows: () => true, spend: () => undefined, full: () => false };

export function distinctRacks(replicas: readonly number[], rackOf: ReadonlyMap<number, string>): number {
  return new Set(replicas.map((id) => rackOf.get(id) ?? rackKey({ nodeId: id, rack: null }))).size;
}

export function rackIndex(brokers: readonly PlacementBroker[]): Map<number, string> {
  return new Map(brokers.map((b) => [b.nodeId, rackKey(b)]));
}

/** The movable partitions indexed by the brokers holding and leading them, kept in step with the load. */
export class Layout {
  private readonly holding = new Map<number, Set<number>>();
  private readonly leading = new Map<number, Set<number>>();
  readonly rackOf: ReadonlyMap<number, string>;
  readonly ids: readonly number[];

  constructor(
    readonly parts: readonly MovablePartition[],
    readonly load: BrokerLoad,
    brokers: readonly PlacementBroker[],
    private readonly budget: ChangeBudget,
  ) {
    this.rackOf = rackIndex(brokers);
    this.ids = brokers.map((b) => b.nodeId).sort((a, b) => a - b);
    parts.forEach((p, i) => this.index(p, i, true));
  }

  private index(p: MovablePartition, i: number, add: boolean): void {
    p.replicas.forEach((id, at) => {
      for (const [map, wanted] of [[this.holding, true], [this.leading, at === 0]] as const) {
        if (!wanted) continue;
        let set = map.get(id);
        if (!set) map.set(id, (set = new Set()));
        if (add) set.add(i);
        else set.delete(i);
      }
    });
  }

  private edit(i: number, change: (replicas: number[]) => void): void {
    const p = this.parts[i] as MovablePartition;
    this.load.remove(p.replicas);
    this.index(p, i, false);
    change(p.replicas);
    this.index(p, i, true);
    this.load.add(p.replicas);
    this.budget.spend(i);
  }

  /** Partition i's replica `from` becomes `to`, in the same slot. */
  replace(i: number, from: number, to: number): void {
    this.edit(i, (r) => {
      r[r.indexOf(from)] = to;
    });
  }

  /** Replica `to` of partition i becomes its preferred leader; the old one takes its slot. */
  promote(i: number, to: number): void {
    this.edit(i, (r) => {
      const at = r.indexOf(to);
      r[at] = r[0] as number;
      r[0] = to;
    });
  }

  /** Partitions held (or led) by a broker that the budget still lets change, in index order. */
  heldBy(id: number, leaderOnly = false): number[] {
    const set = (leaderOnly ? this.leading : this.holding).get(id);
    if (!set) return [];
    return [...set].filter((i) => !this.budget.full() || this.budget.allows([i])).sort((a, b) => a - b);
  }

  /** Whether replacing `from` by `to` in partition i keeps (or raises) its number of racks. */
  keepsRacks(i: number, from: number, to: number): boolean {
    const r = (this.parts[i] as MovablePartition).replicas;
    const rack = (id: number): string => this.rackOf.get(id) ?? rackKey({ nodeId: id, rack: null });
    const fromRack = rack(from);
    const toRack = rack(to);
    let toRackTaken = false;
    let fromRackShared = false;
    for (const id of r) {
      if (id === from) continue;
      const k = rack(id);
      if (k === toRack) toRackTaken = true;
      if (k === fromRack) fromRackShared = true;
    }
    // The count drops only when `from` was its rack's sole replica and `to` lands on a used rack.
    return fromRackShared || !toRackTaken || fromRack === toRack;
  }

  byReplicas(order: 1 | -1): number[] {
    return [...this.ids].sort((a, b) => order * (this.load.replicas(a) - this.load.replicas(b)) || a - b);
  }

  byLeaders(order: 1 | -1): number[] {
    return [...this.ids].sort(
      (a, b) => order * (this.load.leaders(a) - this.load.leaders(b)) || order * (this.load.replicas(a) - this.load.replicas(b)) || a - b,
    );
  }
}

interface ReplicaStep {
  readonly index: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Moves replicas from the most to the least loaded brokers while the counts differ by two or
 * more, never lowering a partition's rack spread; a follower moves rather than a leader when it
 * can. When no single move keeps the racks (the emptier broker is on the wrong rack for every
 * candidate), a chain A -> B -> C moves one replica per link so that B keeps its count.
 * Returns the number of replicas moved.
 */
export function balanceReplicas(layout: Layout, budget: ChangeBudget): number {
  let moves = 0;
  for (;;) {
    const found = findReplicaMove(layout, budget);
    const steps = found ? [found] : findReplicaChain(layout, budget);
    if (!steps) return moves;
    for (const step of steps) layout.replace(step.index, step.from, step.to);
    moves += steps.length;
  }
}

function findReplicaChain(layout: Layout, budget: ChangeBudget): ReplicaStep[] | null {
  const { load, parts, ids } = layout;
  const asc = layout.byReplicas(1);
  const edges = new Map<number, ReplicaStep[]>();
  // One step per reachable broker: the first partition (by index) that can carry it.
  const edgesFrom = (a: number): ReplicaStep[] => {
    const known = edges.get(a);
    if (known) return known;
    const out = new Map<number, ReplicaStep>();
    for (const index of layout.heldBy(a)) {
      const r = (parts[index] as MovablePartition).replicas;
      for (const b of ids) {
        if (out.has(b) || r.includes(b) || !layout.keepsRacks(index, a, b)) continue;
        out.set(b, { index, from: a, to: b });
      }
    }
    const list = [...out.values()].sort((x, y) => x.to - y.to);
    edges.set(a, list);
    return list;
  };
  for (const source of layout.byReplicas(-1)) {
    if (load.replicas(source) - load.replicas(asc[0] as number) < 2) return null;
    const via = new Map<number, ReplicaStep>();
    const seen = new Set([source]);
    let frontier = [source];
    let target: number | null = null;
    while (frontier.length > 0 && target === null) {
      const next: number[] = [];
      for (const a of frontier) {
        for (const step of edgesFrom(a)) {
          if (seen.has(step.to)) continue;
          seen.add(step.to);
          via.set(step.to, step);
          next.push(step.to);
        }
      }
      const reachable = next.filter((b) => load.replicas(source) - load.replicas(b) >= 2);
      if (reachable.length > 0) target = reachable.sort((x, y) => load.replicas(x) - load.replicas(y) || x - y)[0] as number;
      frontier = next;
    }
    if (target === null) continue;
    const chain: ReplicaStep[] = [];
    for (let b = target; b !== source; ) {
      const step = via.get(b) as ReplicaStep;
      chain.unshift(step);
      b = step.from;
    }
    // Each link was checked against its partition alone: two links in one partition are not safe.
    const indices = chain.map((c) => c.index);
    if (new Set(indices).size === indices.length && budget.allows(indices)) return chain;
  }
  return null;
}

function findReplicaMove(layout: Layout, budget: ChangeBudget): ReplicaStep | null {
  const { load, parts } = layout;
  const asc = layout.byReplicas(1);
  for (const from of layout.byReplicas(-1)) {
    if (load.replicas(from) - load.replicas(asc[0] as number) < 2) return null;
    const held = layout.heldBy(from);
    for (const to of asc) {
      if (load.replicas(from) - load.replicas(to) < 2) break;
      let fallback: number | null = null;
      for (const index of held) {
        const p = parts[index] as MovablePartition;
        if (p.replicas.includes(to) || !budget.allows([index]) || !layout.keepsRacks(index, from, to)) continue;
        if (p.replicas[0] !== from) return { index, from, to };
        fallback ??= index;
      }
      if (fallback !== null) return { index: fallback, from, to };
    }
  }
  return null;
}

/**
 * Evens out preferred leaders by reordering replica lists: along a chain of partitions
 * A -> B -> ... -> Z (each led by one broker and holding the next), every link hands
 * leadership to the next broker, so A leads one fewer and Z one more and the brokers between
 * keep their count. Runs while some broker leads at least two more than one it can reach.
 * Only brokers in `canLead` receive leadership.
 */
export function balanceLeaders(layout: Layout, canLead: ReadonlySet<number>, budget: ChangeBudget): number {
  let changes = 0;
  for (;;) {
    const chain = findLeaderChain(layout, canLead, budget);
    if (!chain) return changes;
    for (const { index, to } of chain) layout.promote(index, to);
    changes += chain.length;
  }
}

function findLeaderChain(layout: Layout, canLead: ReadonlySet<number>, budget: ChangeBudget): { index: number; to: number }[] | null {
  const { load, parts } = layout;
  const asc = layout.byLeaders(1);
  const edges = new Map<number, [number, number][]>();
  const edgesFrom = (a: number): [number, number][] => {
    const known = edges.get(a);
    if (known) return known;
    const out = new Map<number, number>();
    for (const index of layout.heldBy(a, true)) {
      for (const r of (parts[index] as MovablePartition).replicas.slice(1)) if (canLead.has(r) && !out.has(r)) out.set(r, index);
    }
    const list = [...out].sort((x, y) => x[0] - y[0]);
    edges.set(a, list);
    return list;
  };
  for (const source of layout.byLeaders(-1)) {
    if (load.leaders(source) - load.leaders(asc[0] as number) < 2) return null;
    // Breadth first, so the chain (and the number of partitions changed) is shortest.
    const via = new Map<number, { from: number; index: number }>();
    const seen = new Set([source]);
    let frontier = [source];
    let target: number | null = null;
    while (frontier.length > 0 && target === null) {
      const next: number[] = [];
      for (const a of frontier) {
        for (const [b, index] of edgesFrom(a)) {
          if (seen.has(b)) continue;
          seen.add(b);
          via.set(b, { from: a, index });
          next.push(b);
        }
      }
      const reachable = next.filter((b) => load.leaders(source) - load.leaders(b) >= 2);
      if (reachable.length > 0) target = reachable.sort((x, y) => load.leaders(x) - load.leaders(y) || x - y)[0] as number;
      frontier = next;
    }
    if (target === null) continue;
    const chain: { index: number; to: number }[] = [];
    for (let b = target; b !== source; ) {
      const step = via.get(b) as { from: number; index: number };
      chain.unshift({ index: step.index, to: b });
      b = step.from;
    }
    if (budget.allows(chain.map((c) => c.index))) return chain;
  }
  return null;
}

/**
 * When reordering cannot even out preferred leaders (a broker leads partitions whose other
 * replicas all lead enough, or partitions with one replica), moves the leading replica itself
 * to a broker B with at least two fewer leaderships: directly if B has fewer replicas, else
 * swapped with one of B's follower replicas, so replica counts do not get worse and the
 * leader spread gets better.
 */
export function moveLeadersToReplicas(layout: Layout, budget: ChangeBudget): number {
  let moves = 0;
  for (;;) {
    const found = findLeaderMove(layout, budget);
    if (!found) return moves;
    const { index, from, to, swapWith } = found;
    layout.replace(index, from, to);
    moves++;
    if (swapWith !== undefined) {
      layout.replace(swapWith, to, from);
      moves++;
    }
  }
}

function findLeaderMove(layout: Layout, budget: ChangeBudget): { index: number; from: number; to: number; swapWith?: number } | null {
  const { load, parts } = layout;
  const asc = layout.byLeaders(1);
  for (const from of layout.byLeaders(-1)) {
    if (load.leaders(from) - load.leaders(asc[0] as number) < 2) return null;
    const ledByFrom = layout.heldBy(from, true);
    for (const to of asc) {
      if (load.leaders(from) - load.leaders(to) < 2) break;
      const led = ledByFrom.filter((i) => !(parts[i] as MovablePartition).replicas.includes(to) && layout.keepsRacks(i, from, to));
      if (led.length === 0) continue;
      if (load.replicas(from) - load.replicas(to) >= 1) {
        const index = led.find((i) => budget.allows([i]));
        if (index !== undefined) return { index, from, to };
        continue;
      }
      // Same replica count: give `to` the leading replica and `from` one of `to`'s followers.
      for (const q of layout.heldBy(to)) {
        const r = (parts[q] as MovablePartition).replicas;
        if (r[0] === to || r.includes(from) || !layout.keepsRacks(q, to, from)) continue;
        const index = led.find((i) => i !== q && budget.allows([i, q]));
        if (index !== undefined) return { index, from, to, swapWith: q };
      }
    }
  }
  return null;
}
