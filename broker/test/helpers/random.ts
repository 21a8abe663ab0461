/**
 * The one seeded generator of the test suites: the Raft core's own (the simulator uses it too),
 * as a plain `() => number` in [0, 1) for tests that only pick numbers. Same seed, same run.
 */
import { SeededRandom } from '../../src/raft/random.js';

export function seededRandom(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.nextFloat();
}
