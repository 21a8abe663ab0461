/**
 * Shrinks a failing system run to a short script that still fails the same property: the
 * shortest failing prefix, then delta debugging over chunks down to single actions. Every
 * candidate is a full deterministic re-run, so the result replays with `--seed S --keep ...`.
 */
import { runSystemSimulation, type SystemOptions, type SystemResult } from './world.js';

export interface SystemShrunk {
  readonly keep: number[];
  readonly result: SystemResult;
  readonly runs: number;
}

export async function shrinkSystemFailure(opts: SystemOptions, property: string, budgetMs = 120_000): Promise<SystemShrunk> {
  const deadline = Date.now() + budgetMs;
  let runs = 0;
  const fails = async (keep: number[]): Promise<boolean> => {
    runs++;
    const r = await runSystemSimulation({ ...opts, keep: new Set(keep), trace: false });
    return !r.ok && r.property === property;
  };
  let keep = Array.from({ length: opts.steps }, (_, i) => i);
  let lo = 0;
  let hi = keep.length;
  while (lo < hi && Date.now() < deadline) {
    const mid = (lo + hi) >> 1;
    if (await fails(keep.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  if (await fails(keep.slice(0, hi))) keep = keep.slice(0, hi);
  for (let chunk = Math.max(1, keep.length >> 1); chunk >= 1 && Date.now() < deadline; chunk >>= 1) {
    for (let start = keep.length - chunk; start >= 0 && Date.now() < deadline; start -= chunk) {
      const candidate = [...keep.slice(0, start), ...keep.slice(start + chunk)];
      if (await fails(candidate)) keep = candidate;
    }
    if (chunk === 1) break;
  }
  const result = await runSystemSimulation({ ...opts, keep: new Set(keep), trace: true });
  return { keep, result, runs };
}

export function systemReplayCommand(opts: SystemOptions, keep?: readonly number[]): string {
  const faults = opts.diskFaults === undefined ? '' : ` --faults ${faultNames(opts.diskFaults)}`;
  const plant = opts.plant === undefined ? '' : ` --plant ${opts.plant}`;
  const kept = keep === undefined ? '' : ` --keep ${keep.join(',')}`;
  return `npm run sim:system -- --seed ${opts.seed} --steps ${opts.steps}${faults}${plant}${kept} --trace`;
}

function faultNames(f: NonNullable<SystemOptions['diskFaults']>): string {
  return (Object.entries(f) as [string, boolean][])
    .filter(([, on]) => on)
    .map(([k]) => k)
    .join(',') || 'none';
}
