import type { RandomSource } from './types.js';

/**
 * A small seeded generator (32-bit state, multiply-xorshift mixing) for election timeouts and for
 * the simulator. Deterministic: the same seed always yields the same sequence.
 */
export class SeededRandom implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  nextInt(bound: number): number {
    if (bound <= 1) return 0;
    return this.nextU32() % bound;
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  chance(p: number): boolean {
    return this.nextFloat() < p;
  }
}
