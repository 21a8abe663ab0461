import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { freePort } from './ports.js';
import { tmpDataDir } from './tmp.js';

/** The repository root, where `node --import tsx` resolves tsx from node_modules. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI_ENTRY = resolve(REPO_ROOT, 'broker/src/cli/main.ts');

export interface StartBrokerOptions {
  /** Defaults to a fresh temp dir (removed at exit). */
  readonly dataDir?: string;
  /** Added to the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra `chronik broker` arguments, e.g. ['--config', 'num.partitions=3', '--node-id', '1']. */
  readonly args?: readonly string[];
  /** Fixed ports (e.g. to restart on the same address); default: free ones. */
  readonly kafkaPort?: number;
  readonly httpPort?: number;
  /** How long to wait for /readyz; default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Sees the process's output as it comes, with the process (a test may kill it at a given line). */
  readonly onOutput?: (text: string, child: ChildProcess) => void;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface BrokerProcess {
  readonly kafkaPort: number;
  readonly httpPort: number;
  /** "127.0.0.1:<kafkaPort>" for Kafka clients. */
  readonly bootstrap: string;
  readonly dataDir: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  readonly exited: boolean;
  /** Sends `signal` (default SIGTERM) and resolves with the exit status (SIGKILL after 20 s). */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** SIGKILL, like a crash or power loss of the process. */
  kill(): Promise<ExitStatus>;
  /** Stops it if it runs (SIGTERM), then starts it again on the same ports and data dir. */
  restart(): Promise<void>;
  /** Everything the process (all its incarnations) wrote to stdout and stderr. */
  logs(): string;
}

/**
 * Spawns `node --import tsx broker/src/cli/main.ts broker ...` on free 127.0.0.1 ports and
 * resolves once /readyz answers 200. Rejects (with the logs) if it exits or is not ready in time.
 * Set CHRONIK_TEST_ECHO=1 to mirror broker output to the test's stderr.
 */
export async function startBrokerProcess(options: StartBrokerOptions = {}): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? tmpDataDir();
  const fixedPorts = options.kafkaPort !== undefined || options.httpPort !== undefined;
  for (let attempt = 0; ; attempt++) {
    const kafkaPort = options.kafkaPort ?? (await freePort());
    const httpPort = options.httpPort ?? (await freePort());
    const handle = new BrokerProcessHandle(dataDir, kafkaPort, httpPort, options);
    try {
      await handle.launch();
      return handle;
    } catch (err) {
      // Another test may have grabbed a "free" port in between; try fresh ones.
      if (!fixedPorts && attempt < 3 && /EADDRINUSE/.test(handle.logs())) continue;
      throw err;
    }
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

class BrokerProcessHandle implements BrokerProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  private output: string[] = [];

  constructor(
    readonly dataDir: string,
    readonly kafkaPort: number,
    readonly httpPort: number,
    private readonly options: StartBrokerOptions,
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.kafkaPort}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get exited(): boolean {
    return this.child === null || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  logs(): string {
    return this.output.join('');
  }

  async launch(): Promise<void> {
    const args = [
      '--import',
      'tsx',
      CLI_ENTRY,
      'broker',
      '--data-dir',
      this.dataDir,
      '--kafka-listen',
      `127.0.0.1:${this.kafkaPort}`,
      '--http-listen',
      `127.0.0.1:${this.httpPort}`,
      '--log-format',
      'json',
      ...(this.options.args ?? []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    const echo = process.env['CHRONIK_TEST_ECHO'] === '1';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.output.push(text);
      if (echo) process.stderr.write(text);
      this.options.onOutput?.(text, child);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exit = new Promise<ExitStatus>((resolveExit) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolveExit({ code, signal });
      });
    });
    await this.waitReady(this.options.readyTimeoutMs ?? 30_000);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exit.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`broker exited before it was ready; logs:\n${this.logs()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.httpPort}/readyz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    this.child?.kill('SIGKILL');
    await this.exit;
    throw new Error(`broker not ready within ${timeoutMs} ms; logs:\n${this.logs()}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    const child = this.child;
    if (!child || this.exited) return this.exit;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): Promise<ExitStatus> {
    return this.stop('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }
}
