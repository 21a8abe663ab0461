/** Counting helpers shared by placement and the planners. */

export interface PlacementBroker {
  readonly nodeId: number;
  readonly rack: string | null;
}

/**
 * Replica and preferred-leader counts per broker, and how many partitions each pair of brokers
 * shares, updated as a plan is built.
 */
export class BrokerLoad {
  private readonly replicaCounts = new Map<number, number>();
  private readonly leaderCounts = new Map<number, number>();
  private readonly pairCounts = new Map<number, number>();

  constructor(existing: Iterable<readonly number[]> = []) {
    for (const replicas of existing) this.add(replicas);
  }

  replicas(id: number): number {
    return this.replicaCounts.get(id) ?? 0;
  }

  leaders(id: number): number {
    return this.leaderCounts.get(id) ?? 0;
  }

  /**
   * Partitions held by both brokers. Placement keeps this low so that the replicas of a failed
   * or leaving broker's partitions are spread over many brokers rather than a fixed partner.
   */
  shared(a: number, b: number): number {
    return this.pairCounts.get(pairKey(a, b)) ?? 0;
  }

  add(replicas: readonly number[]): void {
    this.shift(replicas, 1);
  }

  remove(replicas: readonly number[]): void {
    this.shift(replicas, -1);
  }

  private shift(replicas: readonly number[], by: number): void {
    replicas.forEach((id, i) => {
      this.replicaCounts.set(id, this.replicas(id) + by);
      if (i === 0) this.leaderCounts.set(id, this.leaders(id) + by);
      for (let j = i + 1; j < replicas.length; j++) {
        const k = pairKey(id, replicas[j] as number);
        this.pairCounts.set(k, (this.pairCounts.get(k) ?? 0) + by);
      }
    });
  }
}

/** Broker ids are int32, so a pair fits exactly in a double. */
function pairKey(a: number, b: number): number {
  return a < b ? a * 2 ** 31 + b : b * 2 ** 31 + a;
}

/** A rack-less broker gets a key no rack can have, so it shares a failure domain with nobody. */
export function rackKey(b: PlacementBroker): string {
  return b.rack === null ? `\u0000broker-${b.nodeId}` : `rack:${b.rack}`;
}

/** Lexicographic comparison of numeric keys; the last element should make keys unique. */
export function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function minBy<T>(items: readonly T[], key: (item: T) => readonly number[]): T | undefined {
  let best: T | undefined;
  let bestKey: readonly number[] = [];
  for (const item of items) {
    const k = key(item);
    if (best === undefined || compareKeys(k, bestKey) < 0) {
      best = item;
      bestKey = k;
    }
  }
  return best;
}

