import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { HistoryBuilder } from './history-builder.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function check(history: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const dir = tmpDataDir('chronik-chaos-cli-');
  const file = join(dir, 'history.jsonl');
  writeFileSync(file, history);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'chaos/check.ts', file, ...args], { cwd: REPO, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm run chaos:check', () => {
  it('exits 0 with the summary table on a clean history, 1 on a violation, 2 on bad input', () => {
    const clean = new HistoryBuilder().write('p', 'v0', 0, 0).nemesis('heal-all', {}).write('p', 'v1', 0, 1).finalRead(0, [
      [0, 'v0'],
      [1, 'v1'],
    ]);
    const ok = check(clean.text());
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/acknowledged writes\s+2 acknowledged writes\s+0\s+ok/);
    expect(ok.out).toContain('no violations');

    const lossy = new HistoryBuilder().write('p', 'v0', 0, 0).nemesis('heal-all', {}).write('p', 'v1', 0, 1).finalRead(0, [[1, 'v1']]);
    const bad = check(lossy.text());
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('lost-write: 1');
    expect(bad.out).toContain('VIOLATIONS: lost-write 1');

    const malformed = check('{"process":"p","type":"ok","f":"produce"}\n');
    expect(malformed.code).toBe(2);
    expect(malformed.err).toContain('history line 1: time must be a finite number');
    expect(check(clean.text(), '--data', 'nodir').err).toContain('--data takes NAME=DIR');
    expect(check(clean.text(), '--data', 'b0=/nonexistent/chaos').code).toBe(2);
  });

  it('fails a transactional history whose read_committed read holds an aborted value, naming the row', () => {
    const h = new HistoryBuilder().txn('tp', [[0, 'kept']], 'commit').txn('tp', [[0, 'dropped']], 'abort');
    const ok = check(new HistoryBuilder().txn('tp', [[0, 'kept']], 'commit').txn('tp', [[0, 'dropped']], 'abort').txnRead(0, [[0, 'kept']]).text());
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/txn aborted unread\s+1 values of aborted transactions\s+0\s+ok/);
    const bad = check(
      h.txnRead(0, [
        [0, 'kept'],
        [2, 'dropped'],
      ]).text(),
    );
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/txn aborted unread\s+1 values of aborted transactions\s+1\s+FAIL/);
    expect(bad.out).toContain('VIOLATIONS: aborted-read 1');
  });
});
