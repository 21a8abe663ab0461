import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The checker's unit tests and the test that shows it catches a lost write; the Docker fault
// runs themselves are `npm run chaos`, not tests.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['chaos/test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Removes the temp dirs a test file made when it ends (the broker suites' helper).
    setupFiles: ['broker/test/helpers/cleanup-setup.ts'],
  },
});
