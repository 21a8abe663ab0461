import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The e2e suite runs against a real cluster that global-setup creates (or reuses) once; files
// run one after another because they share that cluster.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['e2e/test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['e2e/test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    teardownTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
