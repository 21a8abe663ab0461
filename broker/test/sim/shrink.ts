/**
 * Shrinks a failing run to a short script that still fails: first the shortest failing prefix of
 * the action script, then greedy removal of single actions. Every candidate is a full,
 * deterministic re-run, so the result replays exactly with `--seed S --steps M --keep ...`.
 */
import { runSimulation, type SimOptions, type SimResult } from './world.js';

/** Options a failing run was made with besides its seed and script (kept while shrinking). */
export type SimVariant = Pick<SimOptions, 'metadata' | 'manyLostTails' | 'ignoreLostTail'>;

export interface Shrunk {
  readonly keep: number[];
  readonly result: SimResult;
  readonly runs: number;
}

export function shrinkFailure(seed: number, steps: number, budgetMs = 60_000, variant: SimVariant = {}): Shrunk {
  const deadline = Date.now() + budgetMs;
  let runs = 0;
  const fails = (keep: number[]): boolean => {
    runs++;
    return !runSimulation({ ...variant, seed, steps, keep: new Set(keep) }).ok;
  };
  let keep = Array.from({ length: steps }, (_, i) => i);

  // Shortest failing prefix (binary search; failure need not be monotone, so verify the result).
  let lo = 0;
  let hi = keep.length;
  while (lo < hi && Date.now() < deadline) {
    const mid = (lo + hi) >> 1;
    if (fails(keep.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  if (fails(keep.slice(0, hi))) keep = keep.slice(0, hi);

  // Drop chunks of actions, halving the chunk size down to single actions (delta debugging).
  for (let chunk = Math.max(1, keep.length >> 1); chunk >= 1 && Date.now() < deadline; chunk >>= 1) {
    for (let start = keep.length - chunk; start >= 0 && Date.now() < deadline; start -= chunk) {
      const candidate = [...keep.slice(0, start), ...keep.slice(start + chunk)];
      if (fails(candidate)) keep = candidate;
    }
    if (chunk === 1) break;
  }
  const result = runSimulation({ ...variant, seed, steps, keep: new Set(keep), trace: true });
  return { keep, result, runs };
}

export function replayCommand(seed: number, steps: number, keep: number[], variant: SimVariant = {}): string {
  const flags = [variant.metadata === true ? ' --metadata' : '', variant.manyLostTails === true ? ' --many-lost-tails' : '', variant.ignoreLostTail === true ? ' --ignore-lost-tail' : ''].join('');
  return `npm run sim -- --seed ${seed} --steps ${steps} --keep ${keep.join(',')}${flags} --trace`;
}
