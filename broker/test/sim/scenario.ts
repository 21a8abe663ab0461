/**
 * The fault and workload script of one simulation run, generated from its seed. Each action draws
 * its own choices from a private sub-seed, so dropping some actions (to shrink a failing run)
 * leaves the others meaning what they meant.
 */
import { SeededRandom } from '../../src/raft/random.js';

export type ActionKind =
  | 'propose'
  | 'read'
  | 'crash'
  | 'crash-leader'
  | 'restart'
  | 'lose-tail'
  | 'partition'
  | 'isolate'
  | 'heal'
  | 'weather'
  | 'membership'
  | 'transfer'
  | 'compact';

export interface Action {
  /** Position in the generated script (stable across shrinking). */
  readonly n: number;
  /** Virtual time at which it happens. */
  readonly at: number;
  readonly kind: ActionKind;
  readonly seed: number;
}

const WEIGHTS: [ActionKind, number][] = [
  ['propose', 40],
  ['read', 8],
  ['crash', 4],
  ['crash-leader', 3],
  ['restart', 7],
  ['lose-tail', 3],
  ['partition', 3],
  ['isolate', 3],
  ['heal', 5],
  ['weather', 4],
  ['membership', 6],
  ['transfer', 4],
  ['compact', 3],
];
const TOTAL = WEIGHTS.reduce((s, [, w]) => s + w, 0);

export interface ScenarioShape {
  /** Founding voters (ids 1..voters); ids up to `pool` exist as spares that may join. */
  readonly voters: number;
  readonly pool: number;
  /** Flow-control knobs: tiny batches and windows make partial replication (Figure 8) likely. */
  readonly maxAppendBytes: number;
  readonly maxInflight: number;
  /** Most seeds run with both (the production setting); some run the plain paper protocol. */
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly actions: Action[];
}

export function generateScenario(seed: number, steps: number): ScenarioShape {
  const rng = new SeededRandom(seed * 2654435761 + 17);
  const voters = rng.chance(0.7) ? 3 : 5;
  const pool = voters + 2;
  const maxAppendBytes = [1, 16, 64, 4096][rng.nextInt(4)] as number;
  const maxInflight = [1, 4, 64][rng.nextInt(3)] as number;
  const preVote = rng.chance(0.8);
  const checkQuorum = rng.chance(0.8);
  const actions: Action[] = [];
  let at = 50;
  for (let n = 0; n < steps; n++) {
    at += rng.nextInt(60);
    let pick = rng.nextInt(TOTAL);
    let kind: ActionKind = 'propose';
    for (const [k, w] of WEIGHTS) {
      if (pick < w) {
        kind = k;
        break;
      }
      pick -= w;
    }
    actions.push({ n, at, kind, seed: rng.nextU32() });
  }
  return { voters, pool, maxAppendBytes, maxInflight, preVote, checkQuorum, actions };
}
