/** The real `chronik` process: exit codes and messages for help and bad flags. */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpDataDir } from '../../helpers/tmp.js';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/broker-process.js';

const BIN = resolve(REPO_ROOT, 'broker/bin/chronik.mjs');

function chronik(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    // Test the source, not a possibly stale broker/dist.
    env: { ...process.env, CHRONIK_FROM_SOURCE: '1', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('chronik command line', () => {
  it('prints help with exit 0', () => {
    const top = chronik(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('chronik <command>');
    const broker = chronik(['broker', '--help']);
    expect(broker.code).toBe(0);
    expect(broker.stdout).toContain('--kafka-listen HOST:PORT');
    expect(broker.stdout).toContain('CHRONIK_DATA_DIR');
  });

  it('runs chronik ctl: help with exit 0, a bad flag with exit 2 naming it, no broker with exit 1', () => {
    const help = chronik(['ctl', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('chronik ctl --admin HOST:PORT');
    const bad = chronik(['ctl', '--admin', '127.0.0.1:1', 'status', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--bogus'");
    const down = chronik(['ctl', '--admin', '127.0.0.1:1', '--timeout', '2', 'brokers']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/brokers failed: .*UNAVAILABLE/);
  });

  it('exits 2 naming the flag for unknown or malformed flags', () => {
    const unknown = chronik(['broker', '--bogus-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("'--bogus-flag'");
    const missing = chronik(['broker', '--data-dir']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--data-dir');
    const bad = chronik(['broker', '--kafka-listen', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kafka-listen');
    const setting = chronik(['broker', '--config', 'num.partition=3']);
    expect(setting.code).toBe(2);
    expect(setting.stderr).toContain("unknown setting 'num.partition' (did you mean 'num.partitions'?)");
    const env = chronik(['broker'], { CHRONIK_NODE_ID: 'seven' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('CHRONIK_NODE_ID');
  });

  it('exits 2 for an unknown command or none', () => {
    const unknown = chronik(['brokr']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'brokr'");
    expect(chronik([]).code).toBe(2);
  });

  it('exits 1 with a fatal log line when the Kafka port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const child = spawn(process.execPath, [BIN, 'broker', '--data-dir', tmpDataDir(), '--kafka-listen', `127.0.0.1:${port}`, '--http-listen', '127.0.0.1:0', '--log-format', 'json'], {
        cwd: REPO_ROOT,
        env: { ...process.env, CHRONIK_FROM_SOURCE: '1' },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code).toBe(1);
      expect(out).toContain('broker failed to start');
      expect(out).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});
