import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../../src/replication/transport/backoff.js';

describe('backoffDelay', () => {
  it('doubles from the minimum, caps at the maximum, and jitters within the upper half', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, 50, 1000, () => 0.999999))).toEqual(
      [50, 100, 200, 400, 800, 1000].map((c) => expect.closeTo(c, 2)),
    );
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, 50, 1000, () => 0))).toEqual([25, 50, 100, 200, 400, 500]);
    expect(backoffDelay(10_000, 50, 1000, () => 0.5)).toBe(750);
  });
});
