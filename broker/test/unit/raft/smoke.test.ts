import { describe, expect, it } from 'vitest';
import { TestCluster } from './cluster.js';

describe('smoke', () => {
  it('elects and replicates', () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.leaders()).toEqual([1]);
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.tickAll(2);
    for (const id of [1, 2, 3]) expect(c.appliedText(id)).toEqual(['a', 'b']);
  });
});
