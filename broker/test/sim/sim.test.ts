/**
 * Runs the deterministic Raft simulator under vitest, so CI covers it. CHRONIK_SIM_SEEDS sets how
 * many seeds (default sized for about three minutes on a 2-core machine); CHRONIK_SIM_STEPS the
 * scripted actions per seed. A failure reports the seed and the shrunk trace that replays it.
 */
import { describe, expect, it } from 'vitest';
import { replayCommand, shrinkFailure } from './shrink.js';
import { runSimulation } from './world.js';

const SEEDS = Number(process.env['CHRONIK_SIM_SEEDS'] ?? 5000);
const STEPS = Number(process.env['CHRONIK_SIM_STEPS'] ?? 300);
const FIRST = Number(process.env['CHRONIK_SIM_FIRST_SEED'] ?? 1);
const CHUNK = 200;

describe('raft simulation', () => {
  it('replays a seed to the identical event trace', () => {
    const a = runSimulation({ seed: 4242, steps: STEPS, trace: true });
    const b = runSimulation({ seed: 4242, steps: STEPS, trace: true });
    expect(a.ok).toBe(true);
    expect(a.stats.events).toBeGreaterThan(1000);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.trace).toEqual(a.trace);
    const other = runSimulation({ seed: 4243, steps: STEPS });
    expect(other.traceHash).not.toBe(a.traceHash);
  });

  it('catches a host that sends before it fsyncs (the checks have teeth)', async () => {
    // Lost acknowledged writes can also surface as liveness failures; look for a safety one.
    let caught: string | undefined;
    // Rare enough that the first one is past seed 300 in the current script mix (seed 359).
    for (let seed = 1; seed <= 1000 && caught === undefined; seed++) {
      if (seed % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
      const r = runSimulation({ seed, steps: STEPS, sendBeforeSync: true });
      if (!r.ok && r.property !== 'liveness') caught = r.property;
    }
    expect(caught).toBeDefined();
  }, 120_000);

  it('catches a host that restarts a replica with a lost log tail as if nothing happened (the lost-tail checks have teeth)', async () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 300 && caught === undefined; seed++) {
      if (seed % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
      const r = runSimulation({ seed, steps: STEPS, ignoreLostTail: true });
      if (!r.ok && r.property !== 'liveness') caught = r.property;
    }
    expect(caught).toBe('leader completeness');
  }, 120_000);

  const MANY_LOST_TAILS_SEEDS = Number(process.env['CHRONIK_SIM_MANY_LOST_TAILS_SEEDS'] ?? 1000);
  it(`loses no committed entry when log tails are lost anywhere, several at once (seeds 1..${MANY_LOST_TAILS_SEEDS}, safety only)`, async () => {
    let lostTails = 0;
    for (let seed = 1; seed <= MANY_LOST_TAILS_SEEDS; seed++) {
      if (seed % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
      const r = runSimulation({ seed, steps: STEPS, manyLostTails: true });
      if (!r.ok) {
        const s = shrinkFailure(seed, STEPS, 30_000, { manyLostTails: true });
        throw new Error(`seed ${seed}: ${r.message}\nreplay: ${replayCommand(seed, STEPS, s.keep, { manyLostTails: true })}`);
      }
      lostTails += r.stats.lostTails;
    }
    expect(lostTails).toBeGreaterThan(MANY_LOST_TAILS_SEEDS);
  }, 300_000);

  const METADATA_SEEDS = Number(process.env['CHRONIK_SIM_METADATA_SEEDS'] ?? 300);
  it(`replicates the metadata image: consistent and identical on every replica (seeds 1..${METADATA_SEEDS})`, async () => {
    let applied = 0;
    for (let seed = 1; seed <= METADATA_SEEDS; seed++) {
      if (seed % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
      const r = runSimulation({ seed, steps: STEPS, metadata: true });
      if (!r.ok) throw new Error(`metadata seed ${seed}: ${r.message}\nreplay: npm run sim -- --metadata --seed ${seed} --steps ${STEPS}`);
      applied += r.stats.acked;
    }
    expect(applied).toBeGreaterThan(METADATA_SEEDS);
  }, 300_000);

  it('catches a replica whose metadata image diverges (the metadata checks have teeth)', () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 50 && caught === undefined; seed++) {
      const r = runSimulation({ seed, steps: STEPS, metadata: true, divergeMetadataOn: 2 });
      if (!r.ok) caught = r.property;
    }
    expect(caught).toBe('metadata state machine safety');
  });

  for (let from = FIRST; from < FIRST + SEEDS; from += CHUNK) {
    const to = Math.min(from + CHUNK, FIRST + SEEDS) - 1;
    it(`keeps every invariant for seeds ${from}..${to}`, async () => {
      let lostTails = 0;
      for (let seed = from; seed <= to; seed++) {
        // Yield now and then: a long synchronous stretch starves vitest's worker RPC.
        if (seed % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
        const r = runSimulation({ seed, steps: STEPS });
        if (!r.ok) {
          const s = shrinkFailure(seed, STEPS, 30_000);
          const tail = s.result.trace.slice(-200).join('\n');
          throw new Error(`seed ${seed}: ${r.message}\nshrunk to ${s.keep.length} actions: ${s.result.message}\n${tail}\nreplay: ${replayCommand(seed, STEPS, s.keep)}`);
        }
        lostTails += r.stats.lostTails;
      }
      // The scripts include replicas whose disks lose acknowledged entries (and must recover).
      expect(lostTails).toBeGreaterThan(0);
    }, 300_000);
  }
});
