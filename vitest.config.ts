import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['broker/test/**/*.test.ts', 'operator/test/**/*.test.ts', 'bench/**/*.test.ts', 'scripts/test/**/*.test.mjs'],
    exclude: ['**/node_modules/**', '**/dist/**', 'e2e/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Removes each test file's temp dirs when the file is done (broker/test/helpers/tmp.ts).
    setupFiles: ['broker/test/helpers/cleanup-setup.ts'],
  },
});
