import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import { config, silent, tmpDir } from './helpers.js';
import { seededRandom } from '../../helpers/random.js';

describe('offsetForTimestamp', () => {
  it('matches a brute-force search with unordered timestamps, before and after restart', async () => {
    const dataDir = tmpDir();
    const cfg = config({ segmentBytes: 3000, indexIntervalBytes: 150 });
    const rnd = seededRandom(99);
    const timestamps: number[] = [];
    let m = new FileLogManager({ dataDir, logger: silent });
    let log = await m.open('ts', 0, cfg);
    for (let b = 0; b < 150; b++) {
      const n = 1 + Math.floor(rnd() * 4);
      const recs = Array.from({ length: n }, () => {
        const ts = 1000 + Math.floor(rnd() * 5000);
        timestamps.push(ts);
        return { value: 'x', timestamp: ts };
      });
      log.append(buildRecordBatch({ records: recs }), 0, 0);
    }
    await log.sync();
    expect(log.segmentBaseOffsets().length).toBeGreaterThan(3);
    const expected = (target: number) => {
      const i = timestamps.findIndex((t) => t >= target);
      return i < 0 ? null : { offset: i, timestamp: timestamps[i]! };
    };
    const check = async () => {
      for (let k = 0; k < 200; k++) {
        const target = 900 + Math.floor(rnd() * 5300);
        expect(await log.offsetForTimestamp(target)).toEqual(expected(target));
      }
    };
    await check();
    await m.close();
    m = new FileLogManager({ dataDir, logger: silent });
    log = await m.open('ts', 0, cfg);
    await check();
    await m.close();
    fs.rmSync(path.join(dataDir, 'ts-0', '.clean-shutdown'));
    fs.rmSync(path.join(dataDir, 'ts-0', 'partition.checkpoint'));
    m = new FileLogManager({ dataDir, logger: silent });
    log = await m.open('ts', 0, cfg);
    await check();
    await m.close();
  });
});
