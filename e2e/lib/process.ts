import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { log, processAlive, sleep } from './exec.js';

/** Attached daemons still running; killed when this process exits so a finished test run leaves none behind. */
const attached = new Set<ChildProcess>();
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

function killAttachedOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is the one signal that needs no waiting.
  process.on('exit', () => {
    for (const child of attached) child.kill('SIGKILL');
    for (const cleanup of exitCleanups) cleanup();
  });
}

/** Runs `fn` at process exit, after the attached daemons were killed; returns the undo. */
export function onExitAfterDaemons(fn: () => void): () => void {
  killAttachedOnExit();
  exitCleanups.add(fn);
  return () => exitCleanups.delete(fn);
}

/** A long-running daemon of the cluster (etcd, kube-apiserver, kubelet...) with its log in a file. */
export class ManagedProcess {
  private exited = false;
  private exitCode: number | null = null;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code ?? (signal ? 128 : null);
    });
  }

  /**
   * `detached` puts the daemon in its own session so it outlives this process (a cluster kept
   * for the next run); it is then stopped through its pid with stopPid().
   */
  static start(name: string, cmd: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv, detached = false, cwd?: string): ManagedProcess {
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env, detached, cwd });
    closeSync(fd);
    if (detached) child.unref();
    else {
      attached.add(child);
      child.on('exit', () => attached.delete(child));
      killAttachedOnExit();
    }
    child.on('error', (e) => log(`${name} failed to start: ${e.message}`));
    return new ManagedProcess(name, logFile, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Throws with the tail of the log if the process has died (a clearer error than a later timeout). */
  assertRunning(): void {
    if (!this.exited) return;
    throw new Error(`${this.name} exited with code ${this.exitCode}; last log lines:\n${this.logTail()}`);
  }

  logTail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (!this.exited && Date.now() < deadline) await sleep(100);
    if (!this.exited) {
      this.child.kill('SIGKILL');
      while (!this.exited) await sleep(50);
    }
  }
}

/** Stops a daemon this suite started earlier (pid from its state file): TERM, then KILL. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  if (!processAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(100);
  if (processAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
