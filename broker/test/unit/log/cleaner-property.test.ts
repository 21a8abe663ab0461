/**
 * Property tests of the cleaner over random keyed workloads (updates, tombstones, idempotent
 * producers) on real files: after any sequence of appends and cleaning passes, reading from the
 * start gives every key's last value (a tombstone counts as "absent" once older than
 * delete.retention.ms), offsets only grow and each record is the one written at its offset; each
 * producer's last batch is still there; and a reader that started before a pass and reads
 * through it ends with the same state as the model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerStateTable } from '../../../src/coordinator/producer-state.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import type { LogConfig } from '../../../src/log/types.js';
import { seededRandom } from '../../helpers/random.js';
import { cleanerFor, keyedBatch, readLog, readStep, type KeyedRecord, type ReadRecord } from './compaction-helpers.js';
import { config, silent, tmpDir } from './helpers.js';

const managers: FileLogManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
});

interface Written extends KeyedRecord {
  readonly offset: number;
  readonly timestamp: number;
}

interface ProducerLast {
  readonly baseOffset: number;
  readonly baseSequence: number;
  readonly count: number;
}

class Workload {
  readonly written: Written[] = [];
  readonly producers = new Map<number, { seq: number; last: ProducerLast | null }>();
  now = 1_700_000_000_000;
  private serial = 0;

  constructor(
    readonly rnd: () => number,
    readonly keys: number,
  ) {
    for (let p = 0; p < 3; p++) this.producers.set(1000 + p, { seq: 0, last: null });
  }

  /** Appends one random batch; returns its record count. */
  appendOne(log: FilePartitionLog): void {
    const n = 1 + Math.floor(this.rnd() * 4);
    const records: KeyedRecord[] = [];
    for (let i = 0; i < n; i++) {
      const key = `key-${Math.floor(this.rnd() ** 1.5 * this.keys)}`;
      records.push({ key, value: this.rnd() < 0.15 ? null : `v${this.serial++}` });
    }
    this.now += Math.floor(this.rnd() * 50);
    const idempotent = this.rnd() < 0.3;
    const pid = 1000 + Math.floor(this.rnd() * 3);
    const ps = this.producers.get(pid)!;
    const producer = idempotent ? { producerId: pid, producerEpoch: 0, baseSequence: ps.seq } : undefined;
    const r = log.append(keyedBatch(records, producer, this.now), 0, this.now);
    records.forEach((rec, i) => this.written.push({ ...rec, offset: r.baseOffset + i, timestamp: this.now }));
    if (idempotent) {
      ps.last = { baseOffset: r.baseOffset, baseSequence: ps.seq, count: n };
      ps.seq += n;
    }
  }

  /** key -> last written record. */
  latest(): Map<string, Written> {
    const m = new Map<string, Written>();
    for (const w of this.written) m.set(w.key!, w);
    return m;
  }
}

/** What a consumer ends up with: key -> value, a tombstone deleting the key. */
function applyAll(records: readonly ReadRecord[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of records) {
    if (r.value === null) m.delete(r.key!);
    else m.set(r.key!, r.value);
  }
  return m;
}

function modelState(w: Workload): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, rec] of w.latest()) if (rec.value !== null) m.set(k, rec.value);
  return m;
}

async function check(log: FilePartitionLog, w: Workload, deleteRetentionMs: number, lastCleanNow: number): Promise<void> {
  const { records, batches } = await readLog(log, 700);
  const byOffset = new Map(w.written.map((x) => [x.offset, x]));
  for (const r of records) {
    const orig = byOffset.get(r.offset);
    expect(orig, `offset ${r.offset}`).toBeDefined();
    expect({ key: r.key, value: r.value }).toEqual({ key: orig!.key, value: orig!.value });
  }
  const lastRead = new Map<string, ReadRecord>();
  for (const r of records) lastRead.set(r.key!, r);
  for (const [key, rec] of w.latest()) {
    const seen = lastRead.get(key);
    if (rec.value === null && rec.timestamp < lastCleanNow - deleteRetentionMs) {
      // an expired tombstone may be gone, and then nothing of the key may be left either
      if (seen) expect(seen.offset).toBe(rec.offset);
    } else {
      expect(seen?.offset, `last record of ${key}`).toBe(rec.offset);
    }
  }
  expect(applyAll(records)).toEqual(modelState(w));
  // every producer's last batch survives with its sequence, so its state is rebuilt after a restart
  for (const [pid, p] of w.producers) {
    if (!p.last) continue;
    const b = batches.find((x) => x.producerId === pid && x.baseOffset === p.last!.baseOffset);
    expect(b, `producer ${pid}'s last batch`).toBeDefined();
    expect(b).toMatchObject({ baseSequence: p.last.baseSequence, lastOffsetDelta: p.last.count - 1 });
  }
  const table = new ProducerStateTable();
  await table.restore(log.scanBatches(0));
  for (const [pid, p] of w.producers) {
    if (!p.last) continue;
    const next = { producerId: pid, producerEpoch: 0, recordCount: 1, isTransactional: false };
    expect(table.check({ ...next, baseSequence: p.seq }).kind).toBe('append');
    expect(table.check({ ...next, baseSequence: p.seq + 1 }).kind).toBe('error');
  }
}

async function openLog(cfg: LogConfig): Promise<FilePartitionLog> {
  const m = new FileLogManager({ dataDir: tmpDir('chronik-cleanprop-'), logger: silent });
  managers.push(m);
  const log = await m.open('p', 0, cfg);
  return log;
}

describe('cleaner properties', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}: reading from offset 0 gives every key's last value, in offset order`, async () => {
      const rnd = seededRandom(seed * 7919);
      const deleteRetentionMs = rnd() < 0.5 ? 0 : 2_000;
      const cfg = config({
        cleanupPolicy: rnd() < 0.5 ? 'compact' : 'compact,delete',
        segmentBytes: 600 + Math.floor(rnd() * 3000),
        indexIntervalBytes: 128,
        minCleanableDirtyRatio: 0,
        deleteRetentionMs,
      });
      const log = await openLog(cfg);
      const w = new Workload(rnd, 5 + Math.floor(rnd() * 40));
      const ref = { topic: 'p', partition: 0, log };
      const cleaner = cleanerFor([ref], () => w.now, rnd() < 0.3 ? 24 * 40 : undefined);
      let lastCleanNow = -Infinity;
      let removed = 0;
      for (let step = 0; step < 400; step++) {
        w.appendOne(log);
        if (rnd() < 0.2) await log.sync();
        if (rnd() < 0.04) {
          await log.sync();
          // a bound at a random segment boundary, as a raft snapshot would set it
          const segs = log.segmentBaseOffsets();
          log.setCleanableBelow(rnd() < 0.5 ? Infinity : segs[Math.floor(rnd() * segs.length)]!);
          const r = await cleaner.clean(ref);
          if (r) lastCleanNow = w.now;
          removed += r?.recordsRemoved ?? 0;
          await check(log, w, deleteRetentionMs, lastCleanNow);
        }
      }
      await log.sync();
      log.setCleanableBelow(Infinity);
      for (let i = 0; i < 3; i++) {
        const r = await cleaner.clean(ref);
        if (r) lastCleanNow = w.now;
        removed += r?.recordsRemoved ?? 0;
      }
      await check(log, w, deleteRetentionMs, lastCleanNow);
      expect(removed).toBeGreaterThan(0);
      // and once everything below the active segment is clean, no key appears twice there
      const active = log.segmentBaseOffsets().at(-1)!;
      const cleaned = (await readLog(log)).records.filter((r) => r.offset < active).map((r) => r.key);
      expect(new Set(cleaned).size).toBe(cleaned.length);
    });
  }

  for (let seed = 1; seed <= 4; seed++) {
    it(`seed ${seed}: a reader that started before cleaning and reads through it sees a consistent log`, async () => {
      const rnd = seededRandom(seed * 104_729);
      const cfg = config({ cleanupPolicy: 'compact', segmentBytes: 800, indexIntervalBytes: 128, minCleanableDirtyRatio: 0, deleteRetentionMs: Number.MAX_SAFE_INTEGER });
      const log = await openLog(cfg);
      log.setCleanableBelow(Infinity);
      const w = new Workload(rnd, 20);
      for (let i = 0; i < 500; i++) w.appendOne(log);
      await log.sync();
      const ref = { topic: 'p', partition: 0, log };
      const cleaner = cleanerFor([ref], () => w.now);
      // Readers at random points of the log, reading in small steps; cleaning passes run while
      // they are between two reads and while their reads are in flight.
      const readers = Array.from({ length: 4 }, () => ({ offset: 0, records: [] as ReadRecord[] }));
      const stepReader = async (rd: { offset: number; records: ReadRecord[] }): Promise<void> => {
        const part = await readStep(log, rd.offset, 300);
        rd.records.push(...part.records);
        rd.offset = part.next;
      };
      for (const rd of readers) {
        const stop = Math.floor(rnd() * log.logEndOffset());
        while (rd.offset < stop) await stepReader(rd);
      }
      const scan = log.scanBatches(0)[Symbol.asyncIterator]();
      const scanned: number[] = [];
      for (let i = 0; i < 30; i++) scanned.push((await scan.next()).value!.baseOffset);
      let cleaning: Promise<unknown> = cleaner.clean(ref);
      let stepsDuringCleaning = 0;
      const segmentsBefore = log.segmentBaseOffsets().length;
      for (let round = 0; round < 3; round++) {
        let done = false;
        void cleaning.then(() => (done = true));
        while (!done) {
          for (const rd of readers) {
            if (rd.offset < log.logEndOffset()) {
              await stepReader(rd);
              stepsDuringCleaning++;
            }
          }
          await new Promise((res) => setImmediate(res));
        }
        for (let i = 0; i < 20; i++) w.appendOne(log);
        await log.sync();
        cleaning = cleaner.clean(ref);
      }
      await cleaning;
      expect(stepsDuringCleaning).toBeGreaterThan(0);
      expect(log.segmentBaseOffsets().length).toBeLessThan(segmentsBefore);
      for (;;) {
        const n = await scan.next();
        if (n.done) break;
        scanned.push(n.value.baseOffset);
      }
      for (let i = 1; i < scanned.length; i++) expect(scanned[i]).toBeGreaterThan(scanned[i - 1]!);
      const byOffset = new Map(w.written.map((x) => [x.offset, x]));
      for (const rd of readers) {
        while (rd.offset < log.logEndOffset()) await stepReader(rd);
        for (let i = 1; i < rd.records.length; i++) expect(rd.records[i]!.offset).toBeGreaterThan(rd.records[i - 1]!.offset);
        for (const r of rd.records) expect({ key: r.key, value: r.value }).toEqual({ key: byOffset.get(r.offset)!.key, value: byOffset.get(r.offset)!.value });
        expect(applyAll(rd.records)).toEqual(modelState(w));
      }
    });
  }
});

