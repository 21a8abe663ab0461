import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRecordBatch, decodeRecords, validateBatches } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { FilePartitionLog } from '../../../src/log/partition-log.js';
import { config, silent, tmpDir } from './helpers.js';
import { seededRandom } from '../../helpers/random.js';

/** Random operations checked against a plain array of record values after every step. */
describe('partition log against a model', () => {
  for (const seed of (process.env.LOG_MODEL_SEEDS ?? "1,2,3").split(",").map(Number)) {
    it(`seed ${seed}`, async () => {
      const rnd = seededRandom(seed);
      const dataDir = tmpDir();
      const cfg = config({ segmentBytes: 600 + Math.floor(rnd() * 2000), indexIntervalBytes: 64 + Math.floor(rnd() * 400) });
      let m = new FileLogManager({ dataDir, logger: silent });
      let log: FilePartitionLog = await m.open('m', 0, cfg);
      const model: string[] = []; // value of the record at each offset
      let start = 0;
      let counter = 0;

      const verify = async () => {
        expect(log.logEndOffset()).toBe(model.length);
        expect(log.logStartOffset()).toBe(start);
        const seen: string[] = [];
        let off = start;
        while (off < log.logEndOffset()) {
          const r = await log.read(off, 1 + Math.floor(rnd() * 800), Infinity);
          expect(r.records.length).toBeGreaterThan(0);
          for (const h of validateBatches(r.records)) {
            for (const rec of decodeRecords(r.records, h.position).records) {
              if (rec.offset >= off) seen[rec.offset - start] = rec.value!.toString();
            }
          }
          off = r.nextOffset;
        }
        expect(seen).toEqual(model.slice(start));
      };

      for (let step = 0; step < 250; step++) {
        const op = rnd();
        if (op < 0.55) {
          const n = 1 + Math.floor(rnd() * 5);
          const values = Array.from({ length: n }, () => `v${counter++}`);
          const r = log.append(buildRecordBatch({ records: values.map((v) => ({ value: v, timestamp: 1000 + counter })) }), 0, 0);
          expect(r.baseOffset).toBe(model.length);
          model.push(...values);
          if (rnd() < 0.5) await log.sync();
        } else if (op < 0.65) {
          await log.sync();
          expect(log.flushedOffset()).toBe(model.length);
        } else if (op < 0.72 && model.length > start) {
          // truncate at a batch boundary: find one by reading
          const target = start + Math.floor(rnd() * (model.length - start));
          const r = await log.read(target, 1, Infinity);
          const base = validateBatches(r.records)[0]!.baseOffset;
          if (base >= start) {
            await log.truncateTo(base);
            model.length = base;
          }
        } else if (op < 0.78 && model.length > start) {
          const target = start + Math.floor(rnd() * (model.length - start + 1));
          await log.advanceLogStart(target);
          start = target;
        } else if (op < 0.84) {
          await m.close();
          if (rnd() < 0.5) fs.rmSync(path.join(dataDir, 'm-0', '.clean-shutdown'), { force: true });
          m = new FileLogManager({ dataDir, logger: silent });
          log = await m.open('m', 0, cfg);
        } else if (op < 0.88) {
          await log.sync();
          await log.applyRetention(Date.now());
        } else {
          await verify();
        }
      }
      await verify();
      await m.close();
    }, 60_000);
  }
});
