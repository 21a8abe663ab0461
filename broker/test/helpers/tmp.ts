import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created = new Set<string>();

/**
 * A fresh empty directory under the OS temp dir. Under vitest it is removed after the test file
 * that made it, pass or fail (cleanup-setup.ts); in a plain process (a child a test spawns), when
 * that process exits. CHRONIK_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
 */
export function tmpDataDir(prefix = 'chronik-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  // Retries: a broker a test just stopped may still be closing files in it.
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  created.delete(dir);
}

/** Removes every directory tmpDataDir made in this process; returns those it could not remove. */
export function removeTmpDirs(): string[] {
  if (process.env['CHRONIK_KEEP_TEST_DIRS']) return [];
  const failed: string[] = [];
  for (const dir of [...created]) {
    try {
      removeDir(dir);
    } catch {
      failed.push(dir);
    }
  }
  return failed;
}

// Vitest ends its workers without a normal exit, so this covers plain processes only.
process.once('exit', () => void removeTmpDirs());
