/** `chronik ctl` argument handling (exit code 2 naming the bad flag) and `chronik dev`'s admin ports. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CtlUsageError, parseCtlArgs, runCtl } from '../../../src/cli/ctl.js';
import { planDevCluster } from '../../../src/cli/dev.js';

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCtlArgs(argv, env);
  } catch (err) {
    if (err instanceof CtlUsageError) return err.message;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

describe('chronik ctl arguments', () => {
  it('reads commands, their arguments and flags anywhere on the line', () => {
    expect(parseCtlArgs(['--admin', '127.0.0.1:9645', 'decommission', '3', '--wait'], {})).toMatchObject({
      admin: '127.0.0.1:9645',
      command: 'decommission',
      args: ['3'],
      flags: { '--wait': true },
      output: 'table',
    });
    expect(parseCtlArgs(['transfer', 'orders', '2', '--to=1', '--output', 'json'], { CHRONIK_ADMIN: 'b-0:9645' })).toMatchObject({
      admin: 'b-0:9645',
      args: ['orders', '2'],
      flags: { '--to': '1' },
      output: 'json',
    });
    expect(parseCtlArgs(['--admin', '[::1]:9645', 'rebalance', '--max-moves', '8', '--timeout', '2.5'], {})).toMatchObject({ timeoutMs: 2500 });
    expect(parseCtlArgs(['--help'], {})).toBeNull();
  });

  it('names the bad flag, argument or command', () => {
    const a = ['--admin', 'h:1'];
    expect(usageError([...a, 'status', '--wiat'])).toBe("unknown option '--wiat' (did you mean '--wait'?)");
    expect(usageError([...a, 'status', '--wait'])).toBe("unknown option '--wait' for 'status'");
    expect(usageError([...a, 'stauts'])).toBe("unknown command 'stauts' (did you mean 'status'?)");
    expect(usageError(['status'])).toMatch(/--admin HOST:PORT is required/);
    expect(usageError(['--admin', 'nowhere', 'status'])).toBe("--admin must be HOST:PORT, got 'nowhere'");
    expect(usageError([...a, 'decommission'])).toBe("'decommission' needs ID (decommission ID)");
    expect(usageError([...a, 'decommission', 'x'])).toBe("decommission: ID must be a broker id, got 'x'");
    expect(usageError([...a, 'maintenance', '1', 'maybe'])).toBe("maintenance: the mode must be on or off, got 'maybe'");
    expect(usageError([...a, 'transfer', 't', '0', '--to', 'two'])).toBe("--to must be a broker id, got 'two'");
    expect(usageError([...a, 'drain', '1', '2'])).toBe("unexpected argument '2' (drain ID)");
    expect(usageError([...a, '--output', 'yaml', 'status'])).toBe("--output must be table or json, got 'yaml'");
    expect(usageError([...a, 'status', '--timeout'])).toBe('--timeout needs a value');
    expect(usageError([...a, 'status', '--timeout', '-1'])).toBe("--timeout must be a number of seconds, got '-1'");
  });

  it('exits 2 with the message on bad usage, 0 with the help text, 1 when no broker answers', async () => {
    const out = sink();
    const err = sink();
    expect(await runCtl(['--admin', 'h:1', 'decommission'], {}, { out: out.stream, err: err.stream })).toBe(2);
    expect(err.text()).toContain("chronik ctl: 'decommission' needs ID");
    expect(await runCtl(['-h'], {}, { out: out.stream, err: err.stream })).toBe(0);
    expect(out.text()).toContain('Usage: chronik ctl');
    // Port 1 on loopback refuses connections.
    const failed = sink();
    expect(await runCtl(['--admin', '127.0.0.1:1', '--timeout', '2', 'status'], {}, { out: out.stream, err: failed.stream })).toBe(1);
    expect(failed.text()).toMatch(/status failed: .*UNAVAILABLE/);
  });
});

describe('chronik dev', () => {
  it('gives broker i the admin listener base+200+i', () => {
    const plan = planDevCluster({ brokers: 3, dataDir: '/d', basePort: 9092, httpPort: 9644, configs: [] });
    expect(plan.map((b) => b.adminPort)).toEqual([9292, 9293, 9294]);
    expect(plan[1]?.args.join(' ')).toContain('--admin-listen 127.0.0.1:9293');
  });

  it('starts groups without the initial rebalance delay unless --config says otherwise', () => {
    const plain = planDevCluster({ brokers: 1, dataDir: '/d', basePort: 9092, httpPort: 9644, configs: ['num.partitions=3'] });
    expect(plain[0]?.args.join(' ')).toContain('--config group.initial.rebalance.delay.ms=0 --config num.partitions=3');
    const own = planDevCluster({ brokers: 1, dataDir: '/d', basePort: 9092, httpPort: 9644, configs: ['group.initial.rebalance.delay.ms=3000'] });
    expect(own[0]?.args.filter((a) => a.startsWith('group.initial'))).toEqual(['group.initial.rebalance.delay.ms=3000']);
  });
});
