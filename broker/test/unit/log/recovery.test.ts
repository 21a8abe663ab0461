import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateBatches } from '../../../src/kafka/protocol/records.js';
import { GroupCommitter } from '../../../src/log/group-committer.js';
import { openPartitionLog } from '../../../src/log/recovery.js';
import { batch, captureLogger, config, silent, tmpDir } from './helpers.js';
import { seededRandom } from '../../helpers/random.js';

const cfg = config({ segmentBytes: 8192, indexIntervalBytes: 200 });

async function open(dir: string, logger = silent) {
  return openPartitionLog({ dir, config: cfg, committer: new GroupCommitter(), logger, now: Date.now() });
}

/** Writes `n` batches of 1-3 records, syncs, closes; returns each batch's [base, last, endPos in active segment]. */
async function populate(dir: string, n: number): Promise<{ ends: number[]; leo: number; activeLog: string }> {
  const log = await open(dir);
  for (let i = 0; i < n; i++) log.append(batch(1 + (i % 3), 1000 + i, 'r', 20 + (i % 50)), 0, 0);
  await log.sync();
  await log.close();
  const active = log.segmentBaseOffsets().at(-1)!;
  const activeLog = path.join(dir, String(active).padStart(20, '0') + '.log');
  // batch boundaries in the active segment, with the offset after each
  const buf = fs.readFileSync(activeLog);
  const ends: number[] = [];
  for (const h of validateBatches(buf)) ends.push(h.position + h.sizeInBytes);
  return { ends, leo: log.logEndOffset(), activeLog };
}

function simulateCrash(dir: string): void {
  fs.rmSync(path.join(dir, '.clean-shutdown'), { force: true });
}

async function readAllBatches(log: Awaited<ReturnType<typeof open>>): Promise<number[]> {
  const bases: number[] = [];
  let off = log.logStartOffset();
  while (off < log.logEndOffset()) {
    const r = await log.read(off, 1 << 20, Infinity);
    for (const h of validateBatches(r.records)) bases.push(h.baseOffset);
    off = r.nextOffset;
  }
  return bases;
}

describe('recovery', () => {
  it('restarts cleanly without rescanning and after a crash by rescanning, same contents', async () => {
    const dir = path.join(tmpDir(), 't-0');
    const { leo } = await populate(dir, 120);
    const { logger, lines } = captureLogger();
    const clean = await open(dir, logger);
    expect(clean.logEndOffset()).toBe(leo);
    const cleanBatches = await readAllBatches(clean);
    await clean.close();
    expect(lines.some((l) => l.msg === 'opened partition log' && l.clean === true && l.scanned === 0)).toBe(true);
    simulateCrash(dir);
    const c2 = captureLogger();
    const crashed = await open(dir, c2.logger);
    expect(crashed.logEndOffset()).toBe(leo);
    expect(await readAllBatches(crashed)).toEqual(cleanBatches);
    expect(c2.lines.some((l) => l.msg === 'opened partition log' && l.clean === false)).toBe(true);
    await crashed.close();
  });

  it('truncates a torn tail exactly to the last whole batch at every cut point', async () => {
    const dir = path.join(tmpDir(), 't-0');
    const { ends, activeLog } = await populate(dir, 60);
    const pristine = fs.readFileSync(activeLog);
    const lastEnd = ends.at(-1)!;
    const rnd = seededRandom(42);
    const cuts = new Set<number>([0, 1, 11, 12, 60, 61, lastEnd - 1]);
    while (cuts.size < 40) cuts.add(Math.floor(rnd() * lastEnd));
    for (const cut of cuts) {
      fs.writeFileSync(activeLog, pristine.subarray(0, cut));
      simulateCrash(dir);
      const { logger, lines } = captureLogger();
      const log = await open(dir, logger);
      const keep = [0, ...ends].filter((e) => e <= cut).at(-1)!;
      expect(fs.statSync(activeLog).size).toBe(keep);
      if (keep < cut) {
        const t = lines.find((l) => l.msg === 'truncating torn or corrupt segment tail');
        expect(t).toMatchObject({ truncatedAtPosition: keep, truncatedBytes: cut - keep });
      }
      // a new append lands right after the surviving data
      const before = log.logEndOffset();
      expect(log.append(batch(1, 5), 0, 0).baseOffset).toBe(before);
      await log.sync();
      await log.close();
      const all = await open(dir);
      expect(all.logEndOffset()).toBe(before + 1);
      await all.close();
    }
  });

  it('truncates before a batch with flipped bytes and never loses earlier batches', async () => {
    const dir = path.join(tmpDir(), 't-0');
    const { ends, activeLog } = await populate(dir, 40);
    const pristine = fs.readFileSync(activeLog);
    const lastStart = ends.at(-2)!;
    const lastEnd = ends.at(-1)!;
    const rnd = seededRandom(7);
    for (let trial = 0; trial < 30; trial++) {
      const damaged = Buffer.from(pristine);
      const flips = 1 + Math.floor(rnd() * 3);
      for (let f = 0; f < flips; f++) {
        // any byte of the last batch except baseOffset/partitionLeaderEpoch (outside CRC and not framing-relevant)
        let at: number;
        do at = lastStart + Math.floor(rnd() * (lastEnd - lastStart));
        while ((at >= lastStart && at < lastStart + 8) || (at >= lastStart + 12 && at < lastStart + 16));
        damaged[at]! ^= 1 + Math.floor(rnd() * 255);
      }
      fs.writeFileSync(activeLog, damaged);
      simulateCrash(dir);
      const log = await open(dir);
      expect(fs.statSync(activeLog).size).toBe(lastStart);
      expect(fs.readFileSync(activeLog).equals(pristine.subarray(0, lastStart))).toBe(true);
      await log.close();
    }
  });

  it('a clean marker that disagrees with the file size triggers recovery', async () => {
    const dir = path.join(tmpDir(), 't-0');
    const { ends, activeLog } = await populate(dir, 20);
    fs.truncateSync(activeLog, ends.at(-1)! - 3); // marker still present
    const { logger, lines } = captureLogger();
    const log = await open(dir, logger);
    expect(lines.some((l) => l.msg === 'clean-shutdown marker does not match the files; recovering')).toBe(true);
    expect(fs.statSync(activeLog).size).toBe(ends.at(-2)!);
    await log.close();
  });

  it('corruption in an older, unsealed-at-crash segment truncates it and drops later segments', async () => {
    const dir = path.join(tmpDir(), 't-0');
    await populate(dir, 150);
    const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    expect(logs.length).toBeGreaterThan(3);
    // pretend nothing was ever checkpointed: every segment is suspect
    fs.rmSync(path.join(dir, 'partition.checkpoint'));
    simulateCrash(dir);
    const victim = path.join(dir, logs[1]!);
    const buf = fs.readFileSync(victim);
    const hs = validateBatches(buf);
    const bad = hs[3]!;
    buf[bad.position + 40]! ^= 0xff;
    fs.writeFileSync(victim, buf);
    const { logger, lines } = captureLogger();
    const log = await open(dir, logger);
    expect(fs.statSync(victim).size).toBe(bad.position);
    expect(log.segmentBaseOffsets()).toHaveLength(2);
    expect(log.logEndOffset()).toBe(bad.baseOffset);
    expect(lines.filter((l) => l.msg === 'deleting segment after a corrupt one')).toHaveLength(logs.length - 2);
    await log.close();
  });

  it('drops later segments when a crash lost the tail of an earlier one (no offset gaps)', async () => {
    const dir = path.join(tmpDir(), 't-0');
    await populate(dir, 150);
    const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    fs.rmSync(path.join(dir, 'partition.checkpoint'));
    simulateCrash(dir);
    const victim = path.join(dir, logs.at(-2)!);
    const hs = validateBatches(fs.readFileSync(victim));
    const lost = hs.at(-1)!;
    fs.truncateSync(victim, lost.position); // a whole batch never reached the disk
    const { logger, lines } = captureLogger();
    const log = await open(dir, logger);
    expect(log.logEndOffset()).toBe(lost.baseOffset);
    expect(log.segmentBaseOffsets()).toHaveLength(logs.length - 1);
    expect(lines.some((l) => l.msg === 'deleting segment that does not continue the previous one')).toBe(true);
    expect(log.append(batch(1, 1), 0, 0).baseOffset).toBe(lost.baseOffset);
    await log.close();
  });

  it('rebuilds missing index files', async () => {
    const dir = path.join(tmpDir(), 't-0');
    const { leo } = await populate(dir, 100);
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.index')) fs.rmSync(path.join(dir, f));
    const log = await open(dir);
    expect(log.logEndOffset()).toBe(leo);
    for (let off = 0; off < leo; off += 7) {
      const [h] = validateBatches((await log.read(off, 1, Infinity)).records);
      expect(h!.baseOffset <= off && off <= h!.lastOffset).toBe(true);
    }
    await log.close();
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.index')).length).toBe(log.segmentBaseOffsets().length);
  });
});

describe('rescanOnClose', () => {
  it('a batch damaged in an old, sealed segment is found by the next open only after rescanOnClose, which cuts the log there', async () => {
    const dir = tmpDir();
    let log = await open(dir);
    for (let i = 0; i < 200; i++) log.append(batch(2, 1000 + i, 'r', 40), 0, 0);
    await log.sync();
    const segments = log.segmentBaseOffsets();
    expect(segments.length).toBeGreaterThan(2);
    const leo = log.logEndOffset();
    // Damage the records of the third batch of the first segment, behind the log's back.
    const first = path.join(dir, `${'0'.padStart(20, '0')}.log`);
    const bytes = fs.readFileSync(first);
    const third = validateBatches(bytes)[2]!;
    bytes.fill(0x5a, third.position + third.sizeInBytes - 6, third.position + third.sizeInBytes);
    fs.writeFileSync(first, bytes);
    // A clean close and open trust the sealed segment: the damage stays unseen.
    await log.close();
    log = await open(dir);
    expect(log.logEndOffset()).toBe(leo);
    log.rescanOnClose(third.baseOffset);
    await log.close();
    log = await open(dir);
    expect(log.logEndOffset()).toBe(third.baseOffset);
    expect(log.segmentBaseOffsets()).toEqual([0]);
    expect(await readAllBatches(log)).toEqual([0, 2]);
    await log.close();
  });
});
