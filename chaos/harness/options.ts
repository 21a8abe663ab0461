/**
 * `npm run chaos -- [options]`. Every phase is bounded: the fault schedule lasts --time seconds,
 * and setup, recovery and the final reads have fixed budgets, so a run always ends by itself.
 */
import { DEFAULT_LIVENESS_BOUND_MS } from '../checker/check.js';

export const NEMESES = ['kill', 'pause', 'partition', 'corrupt'] as const;
export type NemesisFamily = (typeof NEMESES)[number];

export const WORKLOADS = ['idempotent', 'txn'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface ChaosOptions {
  /** Which workloads run side by side, each on its own topic. */
  readonly workloads: readonly WorkloadName[];
  /** Transactional producers of the txn workload, one transactional.id each. */
  readonly txnProducers: number;
  /** Seconds of fault schedule (the workload runs before, during and after it). */
  readonly timeS: number;
  readonly nemeses: readonly NemesisFamily[];
  readonly brokers: number;
  /** Initial Raft voters: the first min(3, brokers) ids, 5 from 7 brokers up (as the operator does). */
  readonly voters: number;
  readonly partitions: number;
  readonly producers: number;
  readonly consumers: number;
  readonly seed: number;
  readonly livenessBoundMs: number;
  /** Seconds the workload keeps writing after the final heal. */
  readonly recoveryS: number;
  /** Where history, logs and (on failure) data dirs are kept. */
  readonly outDir?: string;
  /** Use this image instead of building Dockerfile.broker. */
  readonly image?: string;
  readonly build: boolean;
  readonly keepData: boolean;
}

export class OptionsError extends Error {}

export const USAGE = `usage: npm run chaos -- [options]
  --time S             seconds of faults (default 60; --ci: 45)
  --nemesis LIST       comma-separated: ${NEMESES.join(', ')} (default: all that fit the broker count)
  --brokers N          broker containers, 1 to 9 (default 3)
  --voters N           initial Raft voters (default: 3, or 5 from 7 brokers up)
  --partitions N       partitions of the workload topic (default 3)
  --producers N        idempotent acks=all producers (default 3)
  --consumers N        consumers in one group, committing offsets (default 2)
  --workload LIST      comma-separated: ${WORKLOADS.join(', ')} (default idempotent); txn adds
                       transactional producers on topic chaos-txn and a read_committed consumer
  --txn-producers N    transactional producers of the txn workload, 2 partitions each (default 2)
  --seed N             seed of the fault schedule (default: random, printed)
  --liveness-bound-ms  writes must succeed this soon after the final heal (default ${DEFAULT_LIVENESS_BOUND_MS})
  --recovery S         seconds of writes after the final heal (default 20)
  --out DIR            where the run's files go (default: $TMPDIR/chronik-chaos/<run>)
  --image TAG          run this broker image instead of building Dockerfile.broker
  --keep-data          keep the brokers' data dirs even when the run passes
  --ci                 the bounded CI run: 3 brokers, 45 s of faults`;

function int(name: string, raw: string | undefined, min: number, max: number): number {
  const v = Number(raw);
  if (raw === undefined || !Number.isInteger(v) || v < min || v > max) throw new OptionsError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return v;
}

export function defaultVoters(brokers: number): number {
  return brokers >= 7 ? 5 : Math.min(3, brokers);
}

/** Families that make sense with this many brokers. */
export function applicableNemeses(brokers: number): NemesisFamily[] {
  // Partitions need two sides; a corrupted tail is only recoverable from other replicas.
  return NEMESES.filter((n) => (n === 'partition' ? brokers >= 2 : n === 'corrupt' ? brokers >= 3 : true));
}

export function parseOptions(argv: readonly string[]): ChaosOptions {
  const raw = new Map<string, string>();
  const flags = new Set<string>();
  const valued = new Set(['--time', '--nemesis', '--brokers', '--voters', '--partitions', '--producers', '--consumers', '--seed', '--liveness-bound-ms', '--recovery', '--out', '--image', '--workload', '--txn-producers']);
  const bare = new Set(['--keep-data', '--ci']);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i] ?? '';
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (a === '--help' || a === '-h') throw new OptionsError(USAGE);
    if (bare.has(a)) {
      flags.add(a);
    } else if (valued.has(a)) {
      value ??= argv[++i];
      if (value === undefined) throw new OptionsError(`${a} needs a value`);
      raw.set(a, value);
    } else {
      throw new OptionsError(`unknown option ${a}\n${USAGE}`);
    }
  }
  const ci = flags.has('--ci');
  const brokers = raw.has('--brokers') ? int('--brokers', raw.get('--brokers'), 1, 9) : 3;
  const fits = applicableNemeses(brokers);
  let nemeses: NemesisFamily[] = fits;
  if (raw.has('--nemesis')) {
    const asked = (raw.get('--nemesis') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (asked.length === 0) throw new OptionsError('--nemesis needs at least one of ' + NEMESES.join(', '));
    for (const n of asked) {
      if (!(NEMESES as readonly string[]).includes(n)) throw new OptionsError(`unknown nemesis ${JSON.stringify(n)}; known: ${NEMESES.join(', ')}`);
      if (!fits.includes(n as NemesisFamily)) throw new OptionsError(`nemesis ${n} needs ${n === 'partition' ? 'at least 2' : 'at least 3'} brokers (got ${brokers})`);
    }
    nemeses = [...new Set(asked)] as NemesisFamily[];
  }
  let workloads: WorkloadName[] = ['idempotent'];
  if (raw.has('--workload')) {
    const asked = (raw.get('--workload') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (asked.length === 0) throw new OptionsError('--workload needs at least one of ' + WORKLOADS.join(', '));
    for (const w of asked) if (!(WORKLOADS as readonly string[]).includes(w)) throw new OptionsError(`unknown workload ${JSON.stringify(w)}; known: ${WORKLOADS.join(', ')}`);
    workloads = [...new Set(asked)] as WorkloadName[];
  }
  const voters = raw.has('--voters') ? int('--voters', raw.get('--voters'), 1, brokers) : defaultVoters(brokers);
  return {
    workloads,
    txnProducers: raw.has('--txn-producers') ? int('--txn-producers', raw.get('--txn-producers'), 1, 16) : 2,
    timeS: raw.has('--time') ? int('--time', raw.get('--time'), 1, 24 * 3600) : ci ? 45 : 60,
    nemeses,
    brokers,
    voters,
    partitions: raw.has('--partitions') ? int('--partitions', raw.get('--partitions'), 1, 64) : 3,
    producers: raw.has('--producers') ? int('--producers', raw.get('--producers'), 1, 32) : 3,
    consumers: raw.has('--consumers') ? int('--consumers', raw.get('--consumers'), 0, 16) : 2,
    seed: raw.has('--seed') ? int('--seed', raw.get('--seed'), 0, 2 ** 31 - 1) : Math.floor(Math.random() * 2 ** 31),
    livenessBoundMs: raw.has('--liveness-bound-ms') ? int('--liveness-bound-ms', raw.get('--liveness-bound-ms'), 1, 3_600_000) : DEFAULT_LIVENESS_BOUND_MS,
    recoveryS: raw.has('--recovery') ? int('--recovery', raw.get('--recovery'), 1, 3600) : 20,
    outDir: raw.get('--out'),
    image: raw.get('--image'),
    build: !raw.has('--image'),
    keepData: flags.has('--keep-data'),
  };
}
