import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];

/** A fresh empty directory under the OS temp dir; removed when the test process exits. */
export function tmpDataDir(prefix = 'chronik-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

process.once('exit', () => {
  if (process.env['CHRONIK_KEEP_TEST_DIRS']) return;
  for (const dir of created) {
    try {
      removeDir(dir);
    } catch {
      // best effort: a leftover temp dir is harmless
    }
  }
});
