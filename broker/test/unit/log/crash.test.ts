import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeRecords, validateBatches } from '../../../src/kafka/protocol/records.js';
import { FileLogManager } from '../../../src/log/log-manager.js';
import { config, silent, tmpDir } from './helpers.js';
import { seededRandom } from '../../helpers/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'crash-child.ts');

/** Runs the child until its first ack, then SIGKILLs it `delayMs` later; returns the acked offsets. */
function runAndKill(dataDir: string, delayMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dataDir, '8'], {
      cwd: path.resolve(here, '../../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let buf = '';
    let err = '';
    let armed = false;
    const guard = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
        if (line.startsWith('ack ') && !armed) {
          armed = true;
          setTimeout(() => p.kill('SIGKILL'), delayMs);
        }
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${err}`));
      else resolve(acked);
    });
  });
}

describe('crash safety', () => {
  it('every offset acknowledged before SIGKILL is present exactly once and in order', async () => {
    const dataDir = tmpDir('chronik-crash-');
    const rnd = seededRandom(1234);
    const allAcked = new Set<number>();
    for (let round = 0; round < 6; round++) {
      const acked = await runAndKill(dataDir, 50 + Math.floor(rnd() * 400));
      for (const a of acked) allAcked.add(a);
      const m = new FileLogManager({ dataDir, logger: silent });
      const log = await m.open('crash', 0, config({ segmentBytes: 64 * 1024, indexIntervalBytes: 512 }));
      const values: number[] = [];
      let off = 0;
      while (off < log.logEndOffset()) {
        const r = await log.read(off, 1 << 20, Infinity);
        for (const h of validateBatches(r.records)) {
          for (const rec of decodeRecords(r.records, h.position).records) {
            expect(Number(rec.value!.toString())).toBe(rec.offset);
            values.push(rec.offset);
          }
        }
        off = r.nextOffset;
      }
      expect(values).toEqual(Array.from({ length: log.logEndOffset() }, (_, i) => i));
      for (const a of allAcked) expect(a).toBeLessThan(log.logEndOffset());
      expect(acked.length).toBeGreaterThan(0);
      console.log(`crash round ${round}: acked ${acked.length}, log end ${log.logEndOffset()}`);
      await m.close();
    }
  }, 120_000);
});
