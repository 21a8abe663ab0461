/**
 * Command line for the system simulator (replication host loop, partitions and logs over
 * simulated disks and networks; see world.ts).
 *
 *   npm run sim:system -- --seeds 200                    seeds 1..200, 200 scripted actions each
 *   npm run sim:system -- --seeds 5000 --from 10000 --keep-going --progress   a soak
 *   npm run sim:system -- --seed 42 --trace              replay one seed with its event trace
 *   npm run sim:system -- --seed 42 --keep 0,5,9 --trace replay a shrunk failure
 *   --steps N         scripted actions per seed (default 200)
 *   --faults LIST     disk faults: crash,flips,headerFlips,journalFlips,recordFlips,misdirect,
 *                     'all', 'none', or 'tolerated' (the default: all but misdirect, what the
 *                     broker is known to survive)
 *   --plant BUG       ack-before-quorum | fsync-lies | metadata-diverges | offsets-lost:
 *                     a deliberate bug (a test-only switch) the run must catch
 *
 * A failure prints the seed, shrinks the script and prints the trace that replays it.
 */
import { ALL_DISK_FAULTS, TOLERATED_DISK_FAULTS, type DiskFaultSet } from './scenario.js';
import { shrinkSystemFailure, systemReplayCommand } from './shrink.js';
import { PLANTED_BUGS, runSystemSimulation, type PlantedBug, type SystemOptions } from './world.js';

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

const FAULT_NAMES = Object.keys(ALL_DISK_FAULTS) as (keyof DiskFaultSet)[];

function faultsArg(v: string | undefined): DiskFaultSet {
  if (v === undefined || v === 'tolerated') return TOLERATED_DISK_FAULTS;
  if (v === 'all') return ALL_DISK_FAULTS;
  const on = new Set(v === 'none' ? [] : v.split(','));
  for (const n of on) if (!FAULT_NAMES.includes(n as keyof DiskFaultSet)) throw new Error(`--faults: unknown fault ${n} (known: ${FAULT_NAMES.join(', ')}, all, tolerated, none)`);
  return Object.fromEntries(FAULT_NAMES.map((n) => [n, on.has(n)])) as unknown as DiskFaultSet;
}

function plantArg(v: string | undefined): PlantedBug | undefined {
  if (v === undefined) return undefined;
  const known = PLANTED_BUGS.find((b) => b === v);
  if (known !== undefined) return known;
  throw new Error(`--plant must be one of ${PLANTED_BUGS.join(', ')}, got ${v}`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const steps = intArg(args, 'steps', 200);
  const diskFaults = faultsArg(args.get('faults'));
  const plant = plantArg(args.get('plant'));
  const base = { steps, diskFaults, ...(plant !== undefined ? { plant } : {}) };
  if (args.has('seed')) {
    const keepArg = args.get('keep');
    const keep = keepArg === undefined ? undefined : new Set(keepArg.split(',').filter((s) => s !== '').map(Number));
    const opts: SystemOptions = { ...base, seed: intArg(args, 'seed', 1), trace: args.has('trace'), ...(keep !== undefined ? { keep } : {}) };
    const r = await runSystemSimulation(opts);
    if (opts.trace === true) for (const line of r.trace) console.log(line);
    console.log(`seed ${opts.seed}: ${r.ok ? 'ok' : `FAILED ${r.message}`} trace hash ${r.traceHash.toString(16)} events ${r.stats.events} virtual ${r.virtualMs} ms`);
    console.log(JSON.stringify(r.stats));
    return r.ok ? 0 : 1;
  }
  const seeds = intArg(args, 'seeds', 100);
  const from = intArg(args, 'from', 1);
  const started = Date.now();
  const failures: number[] = [];
  let events = 0;
  let virtualMs = 0;
  const totals = { acked: 0, metadataAcked: 0, metadataApplied: 0, offsetCommits: 0, offsetCommitsAcked: 0, offsetFetches: 0, offsetsChecked: 0, batchesChecked: 0, audits: 0, crashes: 0, revivals: 0, scrubFinds: 0, flips: 0, tornAtCrash: 0, lostAtCrash: 0, misdirects: 0, dropped: 0, duplicated: 0, reordered: 0 };
  for (let seed = from; seed < from + seeds; seed++) {
    const opts: SystemOptions = { ...base, seed };
    const r = await runSystemSimulation(opts);
    events += r.stats.events;
    virtualMs += r.virtualMs;
    totals.acked += r.stats.model.acked;
    totals.metadataAcked += r.stats.metadata.acked;
    totals.metadataApplied += r.stats.metadata.applied;
    totals.offsetCommits += r.stats.offsets.commits;
    totals.offsetCommitsAcked += r.stats.offsets.commitsAcked;
    totals.offsetFetches += r.stats.offsets.fetches;
    totals.offsetsChecked += r.stats.offsets.offsetsChecked;
    totals.batchesChecked += r.stats.model.batchesChecked;
    totals.audits += r.stats.model.audits;
    totals.crashes += r.stats.crashes;
    totals.revivals += r.stats.revivals;
    totals.scrubFinds += r.stats.scrubFinds;
    totals.flips += r.stats.disk.flips;
    totals.tornAtCrash += r.stats.disk.tornAtCrash;
    totals.lostAtCrash += r.stats.disk.lostAtCrash;
    totals.misdirects += r.stats.disk.misdirects;
    totals.dropped += r.stats.net.dropped;
    totals.duplicated += r.stats.net.duplicated;
    totals.reordered += r.stats.net.reordered;
    if (!r.ok) {
      console.log(`seed ${seed} FAILED: ${r.message}`);
      console.log(`  replay: ${systemReplayCommand(opts)}`);
      failures.push(seed);
      if (!args.has('keep-going')) {
        console.log('shrinking...');
        const s = await shrinkSystemFailure(opts, r.property ?? '');
        console.log(`shortest failing script: ${s.keep.length} of ${steps} actions (${s.runs} re-runs): ${s.result.message}`);
        for (const line of s.result.trace) console.log(line);
        console.log(`replay: ${systemReplayCommand(opts, s.keep)}`);
        return 1;
      }
    }
    if (args.has('progress') && (seed - from + 1) % 50 === 0) console.log(`${seed - from + 1} seeds, ${failures.length} failed, ${events} events`);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const summary = `${events} events, ${(virtualMs / 1000).toFixed(0)} virtual s, ${Object.entries(totals).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  if (failures.length > 0) {
    console.log(`${failures.length} of ${seeds} seeds FAILED in ${secs}s: ${failures.join(' ')}\n${summary}`);
    return 1;
  }
  console.log(`${seeds} seeds x ${steps} actions ok in ${secs}s: ${summary}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`sim:system: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
