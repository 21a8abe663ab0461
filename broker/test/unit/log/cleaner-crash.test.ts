/**
 * kill -9 during cleaning: a child appends keyed records and compacts without pause; it is
 * SIGKILLed at each point of a segment rewrite (and at random moments), then the log is
 * recovered here. Nothing acknowledged may be lost (every key's last acknowledged write, or a
 * later one, is still the key's last record), nothing duplicated, and no rewrite leftovers stay.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileLogManager } from '../../../src/log/log-manager.js';
import type { RewritePoint } from '../../../src/log/segment-rewrite.js';
import { seededRandom } from '../../helpers/random.js';
import { readLog } from './compaction-helpers.js';
import { captureLogger, config, tmpDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'cleaner-crash-child.ts');

type Target = RewritePoint | { readonly afterMs: number };

/** Runs the child until `target`, SIGKILLs it there; returns the acknowledged (offset, key) pairs. */
function runAndKill(dataDir: string, run: number, target: Target): Promise<{ acked: [number, string][]; hit: boolean }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dataDir, String(run), typeof target === 'string' ? target : ''], {
      cwd: path.resolve(here, '../../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: [number, string][] = [];
    let buf = '';
    let err = '';
    let hit = false;
    let armed = false;
    // Never longer than this, even if the point is not reached (the test then fails on `hit`).
    const guard = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) {
          const [, off, key] = line.split(' ');
          acked.push([Number(off), key!]);
          if (!armed && typeof target !== 'string') {
            armed = true;
            setTimeout(() => {
              hit = true;
              p.kill('SIGKILL');
            }, target.afterMs);
          }
        } else if (typeof target === 'string' && line === `at ${target}` && !hit && acked.length > 200) {
          hit = true;
          p.kill('SIGKILL');
        }
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${err}`));
      else resolve({ acked, hit });
    });
  });
}

describe('cleaner crash safety', () => {
  it('kill -9 at every point of a rewrite loses nothing acknowledged, duplicates nothing, leaves no leftovers', async () => {
    const dataDir = tmpDir('chronik-cleancrash-');
    const partitionDir = path.join(dataDir, 'crash-0');
    const rnd = seededRandom(4242);
    const points: RewritePoint[] = ['cleaned-written', 'swap-committed', 'old-removed', 'swapped-in'];
    const targets: Target[] = [...points, ...points, { afterMs: 150 }, { afterMs: 400 }, { afterMs: 50 + Math.floor(rnd() * 600) }];
    const lastAcked = new Map<string, number>();
    const recoveryLines = new Map<string, number>();
    for (let run = 0; run < targets.length; run++) {
      const target = targets[run]!;
      const { acked, hit } = await runAndKill(dataDir, run, target);
      expect(hit, `reached ${JSON.stringify(target)}`).toBe(true);
      for (const [off, key] of acked) lastAcked.set(key, Math.max(lastAcked.get(key) ?? -1, off));

      const { logger, lines } = captureLogger();
      const m = new FileLogManager({ dataDir, logger });
      const log = await m.open('crash', 0, config({ cleanupPolicy: 'compact', segmentBytes: 6 * 1024, indexIntervalBytes: 512 }));
      for (const l of lines) {
        const msg = String(l['msg']);
        if (/cleaner/.test(msg)) recoveryLines.set(msg, (recoveryLines.get(msg) ?? 0) + 1);
      }
      if (target === 'swap-committed' || target === 'old-removed') {
        expect(lines.some((l) => l['msg'] === 'finishing an interrupted cleaner swap'), `${target}: swap finished`).toBe(true);
      }
      if (target === 'cleaned-written') {
        expect(lines.some((l) => l['msg'] === 'removing an uncommitted cleaner rewrite'), `${target}: rewrite dropped`).toBe(true);
      }
      expect(fs.readdirSync(partitionDir).filter((n) => /\.cleaned$|\.swap$/.test(n))).toEqual([]);

      const { records } = await readLog(log, 64 * 1024);
      const values = records.filter((r) => r.value !== null).map((r) => r.value);
      expect(new Set(values).size, 'no record twice').toBe(values.length);
      const lastOfKey = new Map<string, number>();
      for (const r of records) lastOfKey.set(r.key!, r.offset);
      for (const [key, off] of lastAcked) {
        // the acknowledged write, or a later write of the key, is the key's last record
        expect(lastOfKey.get(key) ?? -1, `key ${key} acked at ${off}`).toBeGreaterThanOrEqual(off);
      }
      expect(log.logEndOffset()).toBeGreaterThan(Math.max(...lastAcked.values()));
      await m.close();
    }
    console.log(`cleaner crash rounds: ${targets.length}; recovery actions: ${JSON.stringify(Object.fromEntries(recoveryLines))}`);
  }, 300_000);
});
