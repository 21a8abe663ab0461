import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AdminOutcome, ClientDriver, ConsumedMessage, GroupMember, MemberEvent, ProduceInput } from './driver.js';

const SCRIPT = fileURLToPath(new URL('./python_client.py', import.meta.url));
// Debian's python3 carries the Debian client packages; a pyenv python on PATH would not.
const PYTHON = '/usr/bin/python3';

type Lib = 'confluent' | 'kafka-python';

export function runOnce(lib: Lib, command: string, args: object, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, lib, command, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last) {
        reject(new Error(`${lib} ${command} exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as Record<string, unknown>);
    });
  });
}

/** One command of python_client.py with librdkafka (confluent-kafka): its last JSON line. */
export function runConfluent(command: string, args: object, timeoutMs: number): Promise<Record<string, unknown>> {
  return runOnce('confluent', command, args, timeoutMs);
}

function member(lib: Lib, bootstrap: string, topic: string, group: string): Promise<GroupMember> {
  const child = spawn(PYTHON, [SCRIPT, lib, 'member', JSON.stringify({ bootstrap, topic, group, run_s: 300 })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const owned = new Set<number>();
  const messages: ConsumedMessage[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const ev = JSON.parse(line) as MemberEvent | { event: 'error' | 'done' };
    if (ev.event === 'assigned') {
      owned.clear();
      for (const p of ev.partitions) owned.add(p);
    } else if (ev.event === 'revoked') {
      for (const p of ev.partitions) owned.delete(p);
    } else if (ev.event === 'message') {
      messages.push({ partition: ev.partition, offset: ev.offset, key: ev.key, value: ev.value });
    }
  });
  return Promise.resolve({
    owned: () => owned,
    messages: () => messages,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      if (child.exitCode !== 0 && child.exitCode !== null) throw new Error(`${lib} member exited ${child.exitCode}: ${stderr}`);
    },
  });
}

export function pythonDriver(lib: Lib): ClientDriver {
  return {
    name: lib === 'confluent' ? 'confluent-kafka (librdkafka)' : 'kafka-python',
    compressions: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    async produce(bootstrap, topic, messages: readonly ProduceInput[], opts) {
      const r = await runOnce(lib, 'produce', { bootstrap, topic, messages, compression: opts.compression, acks: 'all' }, 90_000);
      const errors = r.errors as string[];
      if (errors.length > 0 || (r.delivered as unknown[]).length !== messages.length) {
        throw new Error(`${lib} produce: ${(r.delivered as unknown[]).length}/${messages.length} delivered; ${errors.join('; ')}`);
      }
    },
    async consume(bootstrap, topic, group, count, timeoutMs) {
      const r = await runOnce(lib, 'consume', { bootstrap, topic, group, count, timeout_s: timeoutMs / 1000 }, timeoutMs + 30_000);
      return r.messages as ConsumedMessage[];
    },
    joinGroup: (bootstrap, topic, group) => member(lib, bootstrap, topic, group),
    async admin(bootstrap, topic, partitions): Promise<AdminOutcome> {
      const r = await runOnce(lib, 'admin', { bootstrap, topic, partitions }, 90_000);
      const steps = r.steps as Array<string | Record<string, unknown>>;
      const objs = steps.filter((s): s is Record<string, unknown> => typeof s === 'object');
      return {
        partitionsAfterCreate: objs[0]?.partitions as number,
        retentionMs: (objs[1]?.['retention.ms'] as string | null) ?? null,
        partitionsAfterGrow: objs[2]?.partitions as number,
        deleted: steps.includes('deleted'),
      };
    },
  };
}

export type WatcherEvent =
  | { readonly event: 'assigned' | 'revoked'; readonly partitions: readonly number[] }
  | { readonly event: 'message'; readonly partition: number; readonly offset: number }
  | { readonly event: 'error'; readonly error: string }
  | { readonly event: 'topic-gone' | 'closing' | 'closed' };

/** python_client.py's watch-deletion member, run by `python` (a venv's, for another librdkafka). */
export interface DeletionWatcher {
  readonly events: readonly WatcherEvent[];
  /** Resolves once an event matching `pred` has arrived; rejects if the process exits first. */
  until(what: string, pred: (e: WatcherEvent) => boolean): Promise<void>;
  /** Closes its stdin (the consumer closes) and resolves with the exit code once it has exited. */
  close(): Promise<number | null>;
  /** SIGKILL if it still runs: the cleanup of a test that failed or timed out. */
  kill(): Promise<void>;
  stderr(): string;
}

export function startDeletionWatcher(
  python: string,
  args: { bootstrap: string; topic: string; group: string; strategy?: string; propagation_ms?: number },
): DeletionWatcher {
  const child = spawn(python, [SCRIPT, 'confluent', 'watch-deletion', JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: WatcherEvent[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  let exitCode: number | null | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exitCode = code;
      for (const w of waiters.splice(0)) w();
      resolve(code);
    }),
  );
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    events.push(JSON.parse(line) as WatcherEvent);
    for (const w of waiters.splice(0)) w();
  });
  return {
    events,
    until(what, pred) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (events.some(pred)) resolve();
          else if (exitCode !== undefined) reject(new Error(`the consumer exited (${exitCode}) before ${what}: ${stderr}`));
          else waiters.push(check);
        };
        check();
      });
    },
    async close() {
      if (exitCode === undefined) child.stdin.end();
      return exited;
    },
    async kill() {
      if (exitCode !== undefined) return;
      child.kill('SIGKILL');
      await exited;
    },
    stderr: () => stderr,
  };
}
