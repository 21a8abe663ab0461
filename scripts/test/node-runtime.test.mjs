import { execFileSync } from 'node:child_process';
import { delimiter } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_MAJOR, NODE_VERSION, envWithNode } from '../node-runtime.mjs';

const major = (v) => Number(v.replace(/^v/, '').split('.')[0]);

describe('the Node.js the tests run on', () => {
  it('is a supported release, and so is the `node` a child started by name finds', () => {
    expect(major(process.version)).toBeGreaterThanOrEqual(MIN_MAJOR);
    // Brokers, clients and tools that tests start as `node ...` or through npx resolve node on PATH.
    const child = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    expect(child).toBe(process.version);
  });

  it('pins a release that is itself supported', () => {
    expect(NODE_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(major(NODE_VERSION)).toBeGreaterThanOrEqual(MIN_MAJOR);
  });

  it('puts the chosen Node first on PATH once', () => {
    const env = envWithNode('/opt/node-x/bin/node', { PATH: ['/usr/bin', '/bin'].join(delimiter) });
    expect(env.PATH).toBe(['/opt/node-x/bin', '/usr/bin', '/bin'].join(delimiter));
    expect(envWithNode('/opt/node-x/bin/node', env).PATH).toBe(env.PATH);
  });
});
