import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { missingFromLock } from '../check-lock.mjs';

describe('package-lock.json', () => {
  it('holds every dependency npm ci checks, other platforms\' optional packages included', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'));
    expect(missingFromLock(lock)).toEqual([]);
  });

  it('a lock whose npm pruned other platforms\' packages is caught', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { devDependencies: { rollup: '^4' } },
        'node_modules/rollup': { version: '4.0.0', optionalDependencies: { '@rollup/rollup-linux-x64-gnu': '4.0.0', '@rollup/rollup-darwin-arm64': '4.0.0' } },
        'node_modules/@rollup/rollup-linux-x64-gnu': { version: '4.0.0', optional: true },
      },
    };
    expect(missingFromLock(lock)).toEqual(['@rollup/rollup-darwin-arm64 (optionalDependencies of node_modules/rollup)']);
  });

  it('a dependency nested under its dependent, or hoisted above a workspace, resolves', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { workspaces: ['broker'] },
        broker: { dependencies: { a: '1', b: '1' } },
        'node_modules/@x/broker': { resolved: 'broker', link: true },
        'broker/node_modules/a': { version: '1.0.0', dependencies: { c: '1' } },
        'broker/node_modules/a/node_modules/c': { version: '1.0.0' },
        'node_modules/b': { version: '1.0.0', peerDependencies: { d: '1' }, peerDependenciesMeta: { d: { optional: true } } },
      },
    };
    expect(missingFromLock(lock)).toEqual([]);
  });
});
