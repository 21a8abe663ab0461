/**
 * Command line for the deterministic Raft simulator.
 *
 *   npm run sim -- --seeds 200 --steps 300          seeds 1..200, 300 scripted actions each
 *   npm run sim -- --seeds 20000 --steps 500 --from 100000 --keep-going --progress   the long soak
 *       (about an hour on one core; --keep-going lists every failing seed instead of stopping)
 *   npm run sim -- --seed 42 --steps 300 --trace    replay one seed and print its event trace
 *   npm run sim -- --seed 42 --steps 300 --keep 0,5,9 --trace   replay a shrunk failure
 *   add --metadata to any of these to replicate the cluster metadata image (records from the
 *       controller commands, the image's invariants and equality across replicas checked)
 *   add --many-lost-tails to lose log tails on several replicas at once and anywhere (safety
 *       only: the cluster may rightly stay without a leader), or --ignore-lost-tail to restart
 *       such replicas as if nothing happened (the bug the lost-tail recovery fixes)
 *
 * On a failure it prints the seed, shrinks the script and prints the shortest trace that replays it.
 */
import { replayCommand, shrinkFailure } from './shrink.js';
import { runSimulation, type SimStats } from './world.js';

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}

function intArg(args: Map<string, string>, name: string, def: number): number {
  const v = args.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const steps = intArg(args, 'steps', 300);
  const trace = args.has('trace');
  const metadata = args.has('metadata');
  const faults = { manyLostTails: args.has('many-lost-tails'), ignoreLostTail: args.has('ignore-lost-tail') };
  if (args.has('seed')) {
    const seed = intArg(args, 'seed', 1);
    const keepArg = args.get('keep');
    const keep = keepArg === undefined ? undefined : new Set(keepArg.split(',').filter((s) => s !== '').map(Number));
    const r = runSimulation({ seed, steps, trace, metadata, ...faults, ...(keep !== undefined ? { keep } : {}) });
    if (trace) for (const line of r.trace) console.log(line);
    console.log(`seed ${seed}: ${r.ok ? 'ok' : `FAILED ${r.message}`} trace hash ${r.traceHash.toString(16)} ${fmt(r.stats)}`);
    return r.ok ? 0 : 1;
  }
  const seeds = intArg(args, 'seeds', 100);
  const from = intArg(args, 'from', 1);
  const total: SimStats = { events: 0, messages: 0, proposals: 0, acked: 0, elections: 0, snapshotsSent: 0, crashes: 0, lostTails: 0, confChanges: 0, transfers: 0, reads: 0 };
  const started = Date.now();
  const failures: number[] = [];
  for (let seed = from; seed < from + seeds; seed++) {
    const r = runSimulation({ seed, steps, metadata, ...faults });
    for (const k of Object.keys(total) as (keyof SimStats)[]) total[k] += r.stats[k];
    if (!r.ok && args.has('keep-going')) {
      failures.push(seed);
      console.log(`seed ${seed} FAILED: ${r.message}`);
    } else if (!r.ok) {
      console.log(`seed ${seed} FAILED: ${r.message}`);
      console.log('shrinking...');
      const s = shrinkFailure(seed, steps, 60_000, { metadata, ...faults });
      console.log(`shortest failing script: ${s.keep.length} of ${steps} actions (${s.runs} re-runs): ${s.result.message}`);
      for (const line of s.result.trace) console.log(line);
      console.log(`replay: ${replayCommand(seed, steps, s.keep, { metadata, ...faults })}`);
      return 1;
    }
    if (args.has('progress') && (seed - from + 1) % 50 === 0) console.log(`${seed - from + 1} seeds ok`);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    console.log(`${failures.length} of ${seeds} seeds FAILED in ${secs}s: ${failures.join(' ')}`);
    return 1;
  }
  console.log(`${seeds} seeds x ${steps} actions ok in ${secs}s: ${fmt(total)}`);
  return 0;
}

function fmt(s: SimStats): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
