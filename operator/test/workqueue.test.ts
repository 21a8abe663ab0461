import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../src/kube/workqueue.js';

describe('work queue', () => {
  it('merges duplicates and never hands one key to two workers', async () => {
    const q = new WorkQueue({ ratePerSecond: 1000, burst: 1000 });
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    const k1 = await q.get();
    expect(k1).toBe('a');
    q.add('a'); // changed while processing: must come back after done, not in parallel
    expect(await q.get()).toBe('b');
    const pending = q.get();
    let got: string | null = null;
    void pending.then((k) => (got = k));
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toBeNull();
    q.done('a');
    expect(await pending).toBe('a');
    q.shutdown();
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')]).toEqual([100, 200, 400, 800, 1000]);
    expect(q.addRateLimited('other')).toBe(100);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(100);
    q.shutdown();
  });

  it('rate-limits globally', async () => {
    const q = new WorkQueue({ ratePerSecond: 20, burst: 2 });
    for (let i = 0; i < 6; i++) q.add(`k${i}`);
    const t = Date.now();
    for (let i = 0; i < 6; i++) q.done((await q.get())!);
    // 2 from the burst, 4 more at 20/s: at least ~200ms.
    expect(Date.now() - t).toBeGreaterThanOrEqual(180);
    q.shutdown();
  });

  it('addAfter delays and an immediate add overrides it', async () => {
    const q = new WorkQueue({ ratePerSecond: 1000, burst: 1000 });
    q.addAfter('x', 60_000);
    expect(q.depth).toBe(1);
    q.add('x');
    expect(await q.get()).toBe('x');
    q.shutdown();
  });
});
