import { afterEach, describe, expect, it } from 'vitest';
import { FileLogManager } from '../../../src/log/log-manager.js';
import { batch, config, silent, tmpDir } from './helpers.js';

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});
function manager(lingerMs = 0): FileLogManager {
  const m = new FileLogManager({ dataDir: tmpDir(), logger: silent, lingerMs });
  managers.push(m);
  return m;
}

describe('group commit', () => {
  it('one round covers many partitions with exactly one fsync per dirty file', async () => {
    const m = manager();
    const logs = await Promise.all(Array.from({ length: 20 }, (_, p) => m.open('g', p, config())));
    const base = m.stats();
    const syncs = [];
    for (let round = 0; round < 5; round++) {
      for (const log of logs) log.append(batch(3, round), 0, 0);
    }
    for (const log of logs) syncs.push(log.sync(), log.sync());
    await Promise.all(syncs);
    const s = m.stats();
    expect(s.rounds - base.rounds).toBe(1);
    expect(s.fileFsyncs - base.fileFsyncs).toBe(20);
    expect(s.writes - base.writes).toBe(20); // one writev per file, however many appends
    for (const log of logs) expect(log.flushedOffset()).toBe(15);
    // nothing dirty: sync resolves without a round
    await Promise.all(logs.map((l) => l.sync()));
    expect(m.stats().rounds).toBe(s.rounds);
  });

  it('sync() calls arriving during a round join the next round', async () => {
    const m = manager();
    const a = await m.open('g', 0, config());
    const b = await m.open('g', 1, config());
    a.append(batch(1, 1), 0, 0);
    const first = a.sync();
    // let the round start (it runs on setImmediate), then append + sync while it is in flight
    await new Promise((r) => setImmediate(r));
    const s0 = m.stats();
    expect(s0.rounds).toBe(1);
    a.append(batch(1, 2), 0, 0);
    b.append(batch(1, 2), 0, 0);
    const second = Promise.all([a.sync(), b.sync()]);
    await first;
    expect(a.flushedOffset()).toBe(1);
    await second;
    const s = m.stats();
    expect(s.rounds).toBe(2);
    expect(s.fileFsyncs).toBe(3); // round 1: a; round 2: a and b
    expect(a.flushedOffset()).toBe(2);
    expect(b.flushedOffset()).toBe(1);
  });

  it('a roll makes both segments and the directory durable in one round', async () => {
    const m = manager();
    const log = await m.open('g', 0, config({ segmentBytes: 1000 }));
    log.append(batch(5, 1, 'x', 150), 0, 0);
    log.append(batch(5, 1, 'y', 150), 0, 0); // exceeds 1000 bytes: rolls
    expect(log.segmentBaseOffsets()).toEqual([0, 5]);
    const before = m.stats();
    await log.sync();
    const s = m.stats();
    expect(s.rounds - before.rounds).toBe(1);
    // old .log, new .log, old .index, old .timeindex
    expect(s.fileFsyncs - before.fileFsyncs).toBe(4);
    expect(s.dirFsyncs - before.dirFsyncs).toBe(1);
    expect(log.flushedOffset()).toBe(10);
  });

  it('linger gathers syncs that arrive within the window', async () => {
    const m = manager(20);
    const logs = await Promise.all(Array.from({ length: 4 }, (_, p) => m.open('g', p, config())));
    const waits = [];
    for (const log of logs) {
      log.append(batch(1, 1), 0, 0);
      waits.push(log.sync());
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(waits);
    expect(m.stats().rounds).toBe(1);
    expect(m.stats().fileFsyncs).toBe(4);
  });
});

describe('group commit under a stream of syncs', () => {
  it('acknowledges every sync in order, only after its data is flushed', async () => {
    const m = manager();
    const log = await m.open('g', 0, config());
    const order: number[] = [];
    const pending: Promise<void>[] = [];
    const deadline = Date.now() + 5_000;
    for (let i = 0; i < 300 && Date.now() < deadline; i++) {
      const r = log.append(batch(2, i, 'v', 4_000), 0, 0);
      pending.push(
        log.sync().then(() => {
          // Acknowledged means flushed: the round that covered this append has completed.
          expect(log.flushedOffset()).toBeGreaterThan(r.lastOffset);
          order.push(r.lastOffset);
        }),
      );
      // Let rounds start between appends so later appends land in later, overlapping rounds.
      if (i % 3 === 0) await new Promise((res) => setImmediate(res));
    }
    await Promise.all(pending);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(log.flushedOffset()).toBe(log.logEndOffset());
    const s = m.stats();
    expect(s.rounds).toBeGreaterThan(1);
    // Everything acknowledged reads back, from memory or file (a read stops at a segment end).
    let next = 0;
    while (next < log.flushedOffset()) {
      const read = await log.read(next, 4 * 1024 * 1024, log.flushedOffset());
      expect(read.firstOffset).toBe(next);
      next = read.nextOffset;
    }
    expect(next).toBe(log.logEndOffset());
  });

  it('rolls between rounds: every segment, index and offset survives a reopen', async () => {
    const dir = tmpDir();
    const m = new FileLogManager({ dataDir: dir, logger: silent });
    const log = await m.open('g', 0, config({ segmentBytes: 20_000 }));
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 120; i++) {
      log.append(batch(1, i, 'r', 1_500), 0, 0);
      pending.push(log.sync());
      if (i % 2 === 0) await new Promise((res) => setImmediate(res));
    }
    await Promise.all(pending);
    const end = log.logEndOffset();
    expect(log.segmentBaseOffsets().length).toBeGreaterThan(5);
    await m.close();
    const again = new FileLogManager({ dataDir: dir, logger: silent });
    managers.push(again);
    const reopened = await again.open('g', 0, config({ segmentBytes: 20_000 }));
    expect(reopened.logEndOffset()).toBe(end);
    for (let off = 0; off < end; off += 7) {
      const r = await reopened.read(off, 1, end);
      expect(r.firstOffset).toBe(off);
    }
  });
});
