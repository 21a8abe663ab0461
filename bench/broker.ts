/**
 * The broker the benchmarks measure: the compiled broker/dist (as the image runs it, without
 * tsx), started through broker/bin/chronik.mjs on free 127.0.0.1 ports with a fresh data dir.
 * Also reads the process's CPU time so each figure can say how much of a core it cost.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../broker/test/helpers/ports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'broker/bin/chronik.mjs');
/** Extra node flags for the brokers, e.g. CHRONIK_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile them. */
const NODE_ARGS = (process.env.CHRONIK_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

export interface BenchBroker {
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly pid: number;
  /** The HTTP listener (/metrics). */
  readonly httpPort: number;
  /** User+system CPU seconds the broker process has used so far. */
  cpuSeconds(): number;
  /** Stops it (SIGTERM, or SIGKILL for a crash) and removes its data dir. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A port below the kernel's ephemeral range, so brokers' outgoing connections cannot take it first. */
export async function lowPort(): Promise<number> {
  const { createServer } = await import('node:net');
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** `n` brokers of one cluster (the first min(3, n) the metadata voters), started in parallel. */
export async function startBenchCluster(n: number, extraArgs: readonly string[] = []): Promise<BenchBroker[]> {
  const ports: { kafka: number; http: number; raft: number }[] = [];
  for (let i = 0; i < n; i++) ports.push({ kafka: await lowPort(), http: await lowPort(), raft: await lowPort() });
  const voters = ports
    .slice(0, Math.min(3, n))
    .map((p, i) => `${i}@127.0.0.1:${p.raft}`)
    .join(',');
  return Promise.all(
    ports.map((p, i) =>
      startBenchBroker(['--node-id', String(i), '--raft-listen', `127.0.0.1:${p.raft}`, '--initial-voters', voters, ...extraArgs], { kafka: p.kafka, http: p.http }),
    ),
  );
}

/** Compiles broker/ to broker/dist (incremental); throws with tsc's output if that fails. */
export function buildBroker(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', join(ROOT, 'broker')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -b broker failed:\n${r.stdout}${r.stderr}`);
}

export async function startBenchBroker(extraArgs: readonly string[] = [], ports?: { kafka: number; http: number }): Promise<BenchBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chronik-bench-'));
  const kafkaPort = ports?.kafka ?? (await freePort());
  const httpPort = ports?.http ?? (await freePort());
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, BIN, 'broker', '--data-dir', dataDir, '--kafka-listen', `127.0.0.1:${kafkaPort}`, '--http-listen', `127.0.0.1:${httpPort}`, '--log-format', 'json', '--log-level', 'warn', ...extraArgs],
    { cwd: ROOT, env: { ...process.env, CHRONIK_FROM_SOURCE: '0' }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (dead) throw new Error('bench broker exited before it was ready');
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('bench broker not ready within 30 s');
    }
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ticks = 100; // USER_HZ on Linux
  return {
    bootstrap: `127.0.0.1:${kafkaPort}`,
    dataDir,
    pid: child.pid ?? -1,
    httpPort,
    cpuSeconds(): number {
      // /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks (after the ")" of comm).
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
      if (!dead) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
