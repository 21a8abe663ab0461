/**
 * `chronik dev`: a local cluster of broker processes on 127.0.0.1 for development. Broker i gets
 * Kafka port base+i, Raft port base+100+i, admin port base+200+i and HTTP port 9644+i, data in
 * `<data-dir>/dev-i`; the first min(3, N) brokers (5 from 7 up) are the metadata voters. Logs
 * are prefixed by broker id. Ctrl-C stops every broker cleanly; running it again resumes with
 * the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const DEV_USAGE = `Usage: chronik dev [options]

Starts a local cluster of broker processes on 127.0.0.1.

Options:
  --brokers N        number of brokers, 1-9 (default 3)
  --data-dir DIR     parent of each broker's data dir dev-<id> (default ./data)
  --base-port PORT   Kafka port of broker 0; Raft = +100, admin = +200 (default 9092)
  --http-port PORT   HTTP port of broker 0 (default 9644)
  --config K=V       broker config passed to every broker (repeatable)
  -h, --help         this text
`;

export interface DevOptions {
  readonly brokers: number;
  readonly dataDir: string;
  readonly basePort: number;
  readonly httpPort: number;
  readonly configs: readonly string[];
}

export class DevUsageError extends Error {}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined) throw new DevUsageError(`${name} needs a value`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new DevUsageError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

/** Parses `chronik dev` flags; throws DevUsageError naming the bad flag. null = --help. */
export function parseDevArgs(argv: readonly string[]): DevOptions | null {
  let brokers = 3;
  let dataDir = './data';
  let basePort = 9092;
  let httpPort = 9644;
  const configs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (name) {
      case '-h':
      case '--help':
        return null;
      case '--brokers':
        brokers = intFlag('--brokers', value(), 1, 9);
        break;
      case '--data-dir': {
        const v = value();
        if (!v) throw new DevUsageError('--data-dir needs a value');
        dataDir = v;
        break;
      }
      case '--base-port':
        basePort = intFlag('--base-port', value(), 1, 65535 - 299);
        break;
      case '--http-port':
        httpPort = intFlag('--http-port', value(), 1, 65535 - 9);
        break;
      case '--config': {
        const v = value();
        if (!v || !v.includes('=')) throw new DevUsageError('--config needs KEY=VALUE');
        configs.push(v);
        break;
      }
      default:
        throw new DevUsageError(`unknown option '${arg}'`);
    }
  }
  return { brokers, dataDir, basePort, httpPort, configs };
}

/** How many metadata voters a cluster of `n` brokers starts with. */
export function initialVoterCount(n: number): number {
  return n >= 7 ? 5 : Math.min(3, n);
}

export interface DevBrokerPlan {
  readonly nodeId: number;
  readonly kafkaPort: number;
  readonly raftPort: number;
  readonly adminPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly args: readonly string[];
}

/** The flags of every broker of the dev cluster. */
/**
 * Settings a development cluster wants unlike production: a developer's first consumer should not
 * wait Kafka's 3 s for more members (Kafka's shipped config sets 0 for development too).
 */
const DEV_DEFAULTS: readonly string[] = ['group.initial.rebalance.delay.ms=0'];

/** The dev defaults the user did not set, then the user's --config entries. */
export function devConfigs(configs: readonly string[]): string[] {
  const keyOf = (c: string): string => c.slice(0, c.indexOf('=')).trim();
  const given = new Set(configs.map(keyOf));
  return [...DEV_DEFAULTS.filter((d) => !given.has(keyOf(d))), ...configs];
}

export function planDevCluster(o: DevOptions): DevBrokerPlan[] {
  const voters = Array.from({ length: initialVoterCount(o.brokers) }, (_, i) => `${i}@127.0.0.1:${o.basePort + 100 + i}`).join(',');
  return Array.from({ length: o.brokers }, (_, i) => {
    const kafkaPort = o.basePort + i;
    const raftPort = o.basePort + 100 + i;
    const adminPort = o.basePort + 200 + i;
    const httpPort = o.httpPort + i;
    const dataDir = path.join(o.dataDir, `dev-${i}`);
    const args = [
      'broker',
      '--node-id',
      String(i),
      '--data-dir',
      dataDir,
      '--kafka-listen',
      `127.0.0.1:${kafkaPort}`,
      '--http-listen',
      `127.0.0.1:${httpPort}`,
      '--raft-listen',
      `127.0.0.1:${raftPort}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--initial-voters',
      voters,
      ...devConfigs(o.configs).flatMap((c) => ['--config', c]),
    ];
    return { nodeId: i, kafkaPort, raftPort, adminPort, httpPort, dataDir, args };
  });
}

const CLI = fileURLToPath(new URL('../../bin/chronik.mjs', import.meta.url));

async function ready(httpPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Runs the dev cluster until SIGINT/SIGTERM; resolves to the exit code. */
export async function runDev(o: DevOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const plan = planDevCluster(o);
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  for (const b of plan) {
    mkdirSync(b.dataDir, { recursive: true });
    const child = spawn(process.execPath, [CLI, ...b.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CHRONIK_LOG_FORMAT: process.env['CHRONIK_LOG_FORMAT'] ?? 'pretty' },
    });
    children.set(b.nodeId, child);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => out.write(`[broker ${b.nodeId}] ${line}\n`));
    }
    child.once('exit', (code, signal) => {
      children.delete(b.nodeId);
      if (!stopping) out.write(`[dev] broker ${b.nodeId} exited (${signal ?? `code ${code}`}); the others keep running\n`);
    });
  }
  const until = Date.now() + 120_000;
  const pending = new Set(plan.map((b) => b.nodeId));
  while (pending.size > 0 && Date.now() < until && !stopping) {
    for (const id of [...pending]) if (await ready((plan[id] as DevBrokerPlan).httpPort)) pending.delete(id);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  const bootstrap = plan.map((b) => `127.0.0.1:${b.kafkaPort}`).join(',');
  const admins = plan.map((b) => `127.0.0.1:${b.adminPort}`).join(',');
  if (pending.size === 0) {
    out.write(`\n[dev] ${plan.length} broker${plan.length > 1 ? 's' : ''} ready\n`);
    out.write(`[dev] bootstrap servers: ${bootstrap}\n`);
    out.write(`[dev] admin listeners: ${admins} (chronik ctl --admin ${admins.split(',')[0]} status)\n`);
    out.write(`[dev] stop with Ctrl-C; data is kept in ${o.dataDir}\n\n`);
  } else {
    out.write(`[dev] brokers ${[...pending].join(', ')} are not ready yet; bootstrap servers: ${bootstrap}; admin listeners: ${admins}\n`);
  }
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      out.write('[dev] stopping the brokers\n');
      for (const c of children.values()) c.kill('SIGTERM');
      const check = setInterval(() => {
        if (children.size === 0) {
          clearInterval(check);
          resolve(0);
        }
      }, 100);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
