// Vitest setup file (vitest.config.ts `setupFiles`): runs in every test file's context, so the
// temp dirs a file made go when the file is done, whether its tests passed or not. Its afterAll
// is registered first and therefore runs last, after the file's own hooks stopped its brokers.
import { afterAll } from 'vitest';
import { removeTmpDirs } from './tmp.js';

afterAll(() => {
  const left = removeTmpDirs();
  if (left.length > 0) throw new Error(`could not remove temp dirs: ${left.join(', ')}`);
});
