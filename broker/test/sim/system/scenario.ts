/**
 * One system-simulation run as its seed defines it: the cluster's shape, the fault rates (drawn
 * per seed from wide ranges, so some seeds are calm and some are storms), and the script of
 * client and fault actions. As in the core simulator each action draws its own choices from a
 * private sub-seed, so a shrunk script (some actions dropped) keeps the others' meaning.
 */
import { SeededRandom } from '../../../src/raft/random.js';
import type { Weather } from './sim-network.js';

export type SystemActionKind =
  | 'produce'
  | 'consume'
  | 'metadata'
  | 'crash'
  | 'crash-leader'
  | 'crash-mid-write'
  | 'restart'
  | 'partition'
  | 'isolate'
  | 'one-way'
  | 'heal'
  | 'weather'
  | 'transfer';

export interface SystemAction {
  readonly n: number;
  readonly at: number;
  readonly kind: SystemActionKind;
  readonly seed: number;
}

/** Which disk faults a run may inject (see sim-disk.ts). */
export interface DiskFaultSet {
  /** Torn and lost unsynced writes at a crash. */
  readonly crash: boolean;
  /** Transient bit flips on reads of segment data (checksummed per batch). */
  readonly flips: boolean;
  /**
   * Flips also in the batch header fields no CRC covers (base offset, length, partition leader
   * epoch, magic); the raft storage's start-up scan reads a batch that leaves a gap or changes
   * epoch unannounced again before it believes it.
   */
  readonly headerFlips: boolean;
  /** Flips also on reads of the hard-state journal (checksummed per record, read again before a cut). */
  readonly journalFlips: boolean;
  /**
   * Flips also in every other file: the small JSON records (raft snapshot record, checkpoints,
   * clean-shutdown marker, checksummed since), offset and time indexes, the votes file.
   */
  readonly recordFlips: boolean;
  /** Misdirected writes (durable corruption of data a replica had acknowledged). */
  readonly misdirect: boolean;
}

/** What the broker tolerates today; the rest are open findings (see the README). */
export const TOLERATED_DISK_FAULTS: DiskFaultSet = { crash: true, flips: true, headerFlips: true, journalFlips: true, recordFlips: true, misdirect: false };
export const ALL_DISK_FAULTS: DiskFaultSet = { crash: true, flips: true, headerFlips: true, journalFlips: true, recordFlips: true, misdirect: true };

export interface DiskRates {
  readonly flipPerRead: number;
  readonly misdirectPerWrite: number;
  readonly loseAllAtCrash: number;
  readonly reorderAtCrash: number;
  readonly tearAtCrash: number;
  readonly readMs: number;
  readonly writeMs: number;
  readonly fsyncMs: number;
}

export interface SystemShape {
  readonly brokers: number;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Per broker: its timers run at this multiple of the asked periods. */
  readonly tickRates: readonly number[];
  readonly minInsync: number;
  readonly replicaLagMs: number;
  readonly segmentBytes: number;
  readonly retentionBytes: number;
  readonly indexIntervalBytes: number;
  readonly retentionEveryMs: number;
  /** The metadata group snapshots its image (and compacts its log) every this many entries. */
  readonly metadataSnapshotEvery: number;
  /** log.flush.interval.ms: how long a group-commit round waits for more writes. */
  readonly lingerMs: number;
  readonly producers: number;
  readonly requestTimeoutMs: number;
  readonly disk: DiskRates;
  /** The worst weather this seed's 'weather' actions may bring. */
  readonly stormiest: Weather;
  /** 'full': after the faults every broker comes back; 'core': only a quorum does, and it must make progress. */
  readonly liveness: 'full' | 'core';
  readonly actions: SystemAction[];
}

const pick = <T>(rng: SeededRandom, xs: readonly T[]): T => xs[rng.nextInt(xs.length)] as T;

export function generateSystemScenario(seed: number, steps: number, disk: DiskFaultSet): SystemShape {
  const rng = new SeededRandom(seed * 2246822519 + 3);
  const brokers = rng.chance(0.75) ? 3 : 5;
  const partitions = 1 + rng.nextInt(3);
  const tickMs = 10;
  const tickRates = Array.from({ length: brokers }, () => 0.7 + rng.nextFloat() * 0.7);
  // Action weights are drawn per seed: some runs crash a lot, some partition a lot, some neither.
  const w = {
    produce: 30 + rng.nextInt(40),
    consume: 4 + rng.nextInt(8),
    metadata: pick(rng, [2, 5, 10]),
    crash: pick(rng, [0, 1, 3, 6]),
    'crash-leader': pick(rng, [0, 1, 3, 5]),
    'crash-mid-write': pick(rng, [0, 1, 3, 5]),
    restart: 4 + rng.nextInt(6),
    partition: pick(rng, [0, 1, 3, 5]),
    isolate: pick(rng, [0, 1, 3]),
    'one-way': pick(rng, [0, 1, 3]),
    heal: 3 + rng.nextInt(5),
    weather: pick(rng, [0, 2, 4]),
    transfer: pick(rng, [0, 1, 3]),
  } satisfies Record<SystemActionKind, number>;
  const total = Object.values(w).reduce((s, x) => s + x, 0);
  const stormiest: Weather = {
    drop: pick(rng, [0, 0.01, 0.05, 0.2, 0.4]),
    duplicate: pick(rng, [0, 0.01, 0.05, 0.2]),
    reorder: pick(rng, [0, 0.02, 0.1, 0.3]),
    minDelayMs: 0.1,
    maxDelayMs: pick(rng, [1, 5, 20, 80]),
  };
  const diskRates: DiskRates = {
    flipPerRead: disk.flips || disk.journalFlips || disk.recordFlips ? pick(rng, [0, 0.0005, 0.005, 0.03]) : 0,
    misdirectPerWrite: disk.misdirect ? pick(rng, [0, 0.0005, 0.003]) : 0,
    loseAllAtCrash: disk.crash ? pick(rng, [0.2, 0.5, 1]) : 1,
    reorderAtCrash: disk.crash ? pick(rng, [0, 0.3]) : 0,
    tearAtCrash: disk.crash ? pick(rng, [0, 0.5, 1]) : 0,
    readMs: pick(rng, [0.05, 0.5, 2]),
    writeMs: pick(rng, [0.05, 0.5, 2]),
    fsyncMs: pick(rng, [0.5, 3, 15]),
  };
  const actions: SystemAction[] = [];
  let at = 200;
  const gap = pick(rng, [20, 40, 80]);
  for (let n = 0; n < steps; n++) {
    at += rng.nextInt(2 * gap);
    let r = rng.nextInt(total);
    let kind: SystemActionKind = 'produce';
    for (const [k, weight] of Object.entries(w) as [SystemActionKind, number][]) {
      if (r < weight) {
        kind = k;
        break;
      }
      r -= weight;
    }
    actions.push({ n, at, kind, seed: rng.nextU32() });
  }
  return {
    brokers,
    partitions,
    replicationFactor: 3,
    tickMs,
    electionTicks: 10,
    heartbeatTicks: pick(rng, [1, 2, 3]),
    tickRates,
    minInsync: pick(rng, [1, 2]),
    replicaLagMs: pick(rng, [300, 1000, 3000]),
    segmentBytes: pick(rng, [2048, 8192, 65536]),
    retentionBytes: pick(rng, [-1, 4096, 16384]),
    indexIntervalBytes: pick(rng, [256, 4096]),
    retentionEveryMs: pick(rng, [500, 2000]),
    metadataSnapshotEvery: pick(rng, [8, 30, 1000]),
    lingerMs: pick(rng, [0, 0, 1, 5]),
    producers: 1 + rng.nextInt(3),
    requestTimeoutMs: pick(rng, [500, 2000]),
    disk: diskRates,
    stormiest,
    liveness: rng.chance(0.3) ? 'core' : 'full',
    actions,
  };
}
