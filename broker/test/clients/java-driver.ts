/**
 * The Java Kafka client (kafka-clients from Maven Central, see java/pom.xml) for the tests: Maven
 * resolves its classpath (from the local repository when it has it), javac compiles
 * java/GroupMember.java into a temp dir, and each member is a JVM process whose JSON lines are
 * collected here. Needs a JDK (11+) and Maven on PATH. The same way, Kafka 3.9's tools (java/tools)
 * run kafka-topics and a Java Admin program for topic configs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tmpDataDir } from '../helpers/tmp.js';

const DIR = fileURLToPath(new URL('./java/', import.meta.url));
// Short-lived JVMs on a shared machine: the client JIT only and one GC thread cost less CPU.
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

export interface JavaClient {
  readonly classpath: string;
}

/** Resolves kafka-clients and compiles the driver; throws with the tools' output when it cannot. */
export function prepareJavaClient(): JavaClient {
  return resolveAndCompile(DIR, ['GroupMember.java']);
}

/**
 * Kafka 3.9's tools (java/tools/pom.xml: TopicCommand, which kafka-topics.sh runs, and
 * kafka-clients 3.9) with java/tools/TopicConfigs.java compiled against them.
 */
export function prepareKafkaTools(): JavaClient {
  return resolveAndCompile(join(DIR, 'tools'), ['TopicConfigs.java']);
}

function resolveAndCompile(pomDir: string, sources: readonly string[]): JavaClient {
  const out = tmpDataDir('chronik-java-');
  const cpFile = join(out, 'classpath.txt');
  const mvnArgs = ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`, '-Dmdep.includeScope=runtime'];
  // Offline first (no network when the local repository has everything), then online.
  let mvn = spawnSync('mvn', ['-o', ...mvnArgs], { cwd: pomDir, encoding: 'utf8' });
  if (mvn.status !== 0) mvn = spawnSync('mvn', mvnArgs, { cwd: pomDir, encoding: 'utf8' });
  if (mvn.status !== 0) throw new Error(`mvn could not resolve ${pomDir}/pom.xml (exit ${mvn.status}): ${mvn.error?.message ?? ''}${mvn.stdout}${mvn.stderr}`);
  const deps = readFileSync(cpFile, 'utf8').trim();
  const javac = spawnSync('javac', ['-nowarn', '-d', out, '-cp', deps, ...sources.map((f) => join(pomDir, f))], { encoding: 'utf8' });
  if (javac.status !== 0) throw new Error(`javac failed (exit ${javac.status}): ${javac.error?.message ?? ''}${javac.stderr}`);
  return { classpath: `${out}:${deps}` };
}

export interface JavaRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A main class of `client`'s classpath to its exit (SIGKILL after `timeoutMs`, then code null). */
export function runJava(client: JavaClient, mainClass: string, args: readonly string[], timeoutMs = 120_000): Promise<JavaRun> {
  return new Promise((resolve) => {
    const child = spawn('java', [...JVM_FLAGS, '-cp', client.classpath, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** TopicConfigs.java's one JSON line (see its header). */
export async function topicConfigWithJava(client: JavaClient, args: readonly string[]): Promise<Record<string, unknown>> {
  const r = await runJava(client, 'TopicConfigs', args);
  const last = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (last === undefined) throw new Error(`TopicConfigs ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(last) as Record<string, unknown>;
}

export type JavaEvent =
  | { event: 'assignment'; partitions: number[] }
  | { event: 'message'; partition: number; offset: number; value: string }
  | { event: 'committed'; offsets: Record<string, number> }
  | { event: 'commit-error' | 'client-error' | 'error' | 'close-error'; error: string; message: string }
  | { event: 'closed' };

export interface JavaMember {
  readonly name: string;
  readonly events: JavaEvent[];
  /** The partitions of its latest assignment. */
  assignment(): number[];
  messages(): Array<{ partition: number; offset: number; value: string }>;
  /** The highest offset it committed per partition (next offset to read). */
  committed(): Map<number, number>;
  exited(): boolean;
  exitCode(): number | null;
  /** Closes its stdin: it leaves the group and exits. */
  close(): Promise<void>;
  /** kill -9 of the JVM (it does not leave the group). */
  kill(): Promise<void>;
  stderr(): string;
  /** Every event with its arrival time. */
  timeline(): string[];
}

export function startJavaMember(
  client: JavaClient,
  o: { name: string; bootstrap: string; topic: string; group: string; protocol: 'consumer' | 'classic'; assignor?: 'uniform' | 'range' | 'cooperative-sticky' },
): JavaMember {
  const child: ChildProcess = spawn('java', [...JVM_FLAGS, '-cp', client.classpath, 'GroupMember', 'member', o.bootstrap, o.topic, o.group, o.protocol, o.assignor ?? '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: JavaEvent[] = [];
  const started = Date.now();
  /** When each event arrived (ms after the start), for the explanation of a failed wait. */
  const times: number[] = [];
  let stderr = '';
  let code: number | null = null;
  let done = false;
  const exited = new Promise<void>((resolve) =>
    child.on('close', (c) => {
      code = c;
      done = true;
      resolve();
    }),
  );
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    events.push(JSON.parse(line) as JavaEvent);
    times.push(Date.now() - started);
  });
  const waitExit = async (): Promise<void> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    name: o.name,
    events,
    assignment() {
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i] as JavaEvent;
        if (e.event === 'assignment') return e.partitions;
      }
      return [];
    },
    messages() {
      return events.flatMap((e) => (e.event === 'message' ? [{ partition: e.partition, offset: e.offset, value: e.value }] : []));
    },
    committed() {
      const out = new Map<number, number>();
      for (const e of events) {
        if (e.event !== 'committed') continue;
        for (const [p, off] of Object.entries(e.offsets)) out.set(Number(p), Math.max(off, out.get(Number(p)) ?? 0));
      }
      return out;
    },
    exited: () => done,
    exitCode: () => code,
    async close() {
      if (done) return;
      child.stdin?.end();
      await waitExit();
    },
    async kill() {
      if (done) return;
      child.kill('SIGKILL');
      await waitExit();
    },
    stderr: () => stderr,
    timeline: () => events.map((e, i) => `${times[i]}ms ${e.event === 'message' ? `message p${e.partition}@${e.offset}` : JSON.stringify(e)}`),
  };
}

export type JavaDescription =
  | { state: string; type: string; assignor: string; members: Array<{ memberId: string; clientId: string; partitions: number[] }> }
  | { error: string; message: string };

/** Admin.describeConsumerGroups of one group (ConsumerGroupDescribe, DescribeGroups for classic groups). */
export function describeWithJava(client: JavaClient, bootstrap: string, group: string): Promise<JavaDescription> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', [...JVM_FLAGS, '-cp', client.classpath, 'GroupMember', 'describe', bootstrap, group], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (last === undefined) reject(new Error(`java describe exited ${c}: ${err}`));
      else resolve(JSON.parse(last) as JavaDescription);
    });
  });
}
