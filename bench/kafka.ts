/**
 * Apache Kafka for the comparison benchmark (bench/vs-kafka.ts): its jars fetched from Maven
 * Central with mvn into a cache outside the repository, KRaft brokers (combined broker and
 * controller, a static voter list) started with `java -cp` on 127.0.0.1, and Kafka's own perf
 * tools (ProducerPerformance, ConsumerPerformance from the kafka-tools artifact), which the
 * benchmark runs against Chronik and Kafka alike.
 * Environment: CHRONIK_KAFKA_VERSION (default 4.4.0), CHRONIK_KAFKA_CACHE (default
 * ~/.cache/chronik-kafka).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lowPort } from './broker.js';
import { procCpuSeconds, procPeakRssBytes } from './support/proc.js';

export const KAFKA_VERSION = process.env.CHRONIK_KAFKA_VERSION ?? '4.4.0';
const CACHE = process.env.CHRONIK_KAFKA_CACHE ?? join(homedir(), '.cache', 'chronik-kafka');

/** What kafka-run-class.sh gives a broker (KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS). */
const BROKER_JVM = ['-Xmx1G', '-Xms1G', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-Djava.awt.headless=true'];
/** What kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh give the tools. */
const TOOL_JVM = ['-Xmx512M', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-Djava.awt.headless=true'];

/** Processes and temp dirs to remove however the benchmark ends (see cleanUpOnExit). */
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

/** Kills every process this module started and removes its temp dirs, on exit and on SIGINT/SIGTERM. */
export function cleanUpOnExit(extra: () => void = () => undefined): void {
  if (hooked) return;
  hooked = true;
  const cleanup = (): void => {
    extra();
    for (const child of live) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the brokers and removing their data\n`);
      process.exit(130);
    });
  }
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/**
 * The class path of Kafka `version` (broker and tools with their runtime dependencies), fetched
 * once with `mvn dependency:copy-dependencies`; later runs use the cache.
 */
export function kafkaClassPath(version = KAFKA_VERSION): string {
  const home = join(CACHE, version);
  const lib = join(home, 'lib');
  const done = join(home, 'complete');
  if (!existsSync(done)) {
    mkdirSync(home, { recursive: true });
    const dep = (group: string, artifact: string, v: string): string =>
      `<dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${v}</version></dependency>`;
    writeFileSync(
      join(home, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>chronik.bench</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    ${dep('org.apache.kafka', 'kafka_2.13', version)}
    ${dep('org.apache.kafka', 'kafka-tools', version)}
    ${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', '2.25.5')}
  </dependencies>
</project>
`,
    );
    process.stderr.write(`fetching Apache Kafka ${version} from Maven Central into ${home} ...\n`);
    rmSync(lib, { recursive: true, force: true });
    const r = spawnSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`, '-DincludeScope=runtime'], {
      cwd: home,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`mvn could not fetch Kafka ${version} (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    // Warnings and errors of brokers and tools to stderr; their INFO chatter would drown the table.
    writeFileSync(
      join(home, 'log4j2.properties'),
      'rootLogger.level = WARN\nrootLogger.appenderRef.err.ref = err\nappender.err.type = Console\nappender.err.name = err\nappender.err.target = SYSTEM_ERR\nappender.err.layout.type = PatternLayout\nappender.err.layout.pattern = [kafka %p] %c{1}: %m%n\n',
    );
    writeFileSync(done, `${new Date().toISOString()}\n`);
  }
  return `${lib}/*`;
}

function log4j(version = KAFKA_VERSION): string {
  return `-Dlog4j2.configurationFile=${join(CACHE, version, 'log4j2.properties')}`;
}

/** A Java main class from Kafka's class path, bounded by `timeoutMs`; resolves with its stdout. */
export function runKafkaTool(mainClass: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const cp = kafkaClassPath();
  return new Promise((resolve, reject) => {
    const child = spawn('java', [...TOOL_JVM, log4j(), '-cp', cp, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${mainClass.split('.').pop()} ${args.join(' ')} failed (${signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : `exit ${code ?? signal}`}):\n${tail(err || out)}`));
    });
  });
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface KafkaCluster {
  readonly bootstrap: string;
  readonly pids: readonly number[];
  /** User+system CPU seconds of every broker process so far. */
  cpuSeconds(): number;
  /** The largest peak RSS (VmHWM) of one broker process, in bytes. */
  peakRssBytes(): number;
  stop(): Promise<void>;
}

/**
 * `n` combined broker+controller KRaft nodes on 127.0.0.1, formatted with `kafka-storage format`
 * and started with the broker main class. The settings are Kafka's defaults, plus what its shipped
 * config/server.properties sets for a local broker (replication factors of the internal topics
 * capped at the broker count, group.initial.rebalance.delay.ms=0).
 */
export async function startKafka(n: number): Promise<KafkaCluster> {
  const cp = kafkaClassPath();
  const root = tempDir('chronik-bench-kafka-');
  const ports: { client: number; controller: number }[] = [];
  for (let i = 0; i < n; i++) ports.push({ client: await lowPort(), controller: await lowPort() });
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(',');
  const rf = Math.min(3, n);
  const clusterId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
  const configs = ports.map((p, i) => {
    const dir = join(root, `node-${i + 1}`);
    mkdirSync(dir);
    const file = join(dir, 'server.properties');
    writeFileSync(
      file,
      [
        'process.roles=broker,controller',
        `node.id=${i + 1}`,
        `controller.quorum.voters=${voters}`,
        `listeners=PLAINTEXT://127.0.0.1:${p.client},CONTROLLER://127.0.0.1:${p.controller}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${p.client}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${join(dir, 'data')}`,
        `offsets.topic.replication.factor=${rf}`,
        `transaction.state.log.replication.factor=${rf}`,
        `transaction.state.log.min.isr=${Math.min(2, rf)}`,
        `share.coordinator.state.topic.replication.factor=${rf}`,
        `share.coordinator.state.topic.min.isr=${Math.min(2, rf)}`,
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
    );
    return file;
  });
  await Promise.all(
    configs.map((file) =>
      new Promise<void>((resolve, reject) => {
        const r = spawn('java', [log4j(), '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        r.stdout.on('data', (d: Buffer) => (out += d.toString()));
        r.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => r.kill('SIGKILL'), 120_000);
        r.once('exit', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else reject(new Error(`kafka-storage format failed (exit ${code}):\n${tail(out)}`));
        });
      }),
    ),
  );
  const children = configs.map((file, i) => {
    const logFile = join(root, `node-${i + 1}`, 'broker.log');
    const child = spawn('java', [...BROKER_JVM, log4j(), '-cp', cp, 'kafka.Kafka', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let logged = '';
    const keep = (d: Buffer): void => {
      logged = (logged + d.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', () => {
      live.delete(child);
      writeFileSync(logFile, logged);
    });
    return { child, log: () => logged };
  });
  const bootstrap = ports.map((p) => `127.0.0.1:${p.client}`).join(',');
  const cluster: KafkaCluster = {
    bootstrap,
    pids: children.map((c) => c.child.pid ?? -1),
    cpuSeconds: () => children.reduce((s, c) => s + procCpuSeconds(c.child.pid ?? -1), 0),
    peakRssBytes: () => Math.max(...children.map((c) => procPeakRssBytes(c.child.pid ?? -1))),
    async stop() {
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      removeDir(root);
    },
  };
  try {
    await waitForBrokers(bootstrap, n, children.map((c) => c.child), 90_000);
  } catch (err) {
    const logs = children.map((c, i) => `--- kafka node ${i + 1}:\n${tail(c.log())}`).join('\n');
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return cluster;
}

/** Waits until the cluster lists all `n` brokers (the Java admin tool's view of Metadata). */
async function waitForBrokers(bootstrap: string, n: number, children: readonly ChildProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (children.some((c) => c.exitCode !== null || c.signalCode !== null)) throw new Error('a Kafka broker exited while starting');
    try {
      const out = await runKafkaTool('org.apache.kafka.tools.ClusterTool', ['list-endpoints', '--bootstrap-server', bootstrap], 30_000);
      const brokers = out.split('\n').filter((l) => /^\d+\s/.test(l.trim())).length;
      if (brokers >= n) return;
      last = out;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`Kafka did not list ${n} brokers within ${timeoutMs} ms; last answer:\n${tail(last)}`);
}

/** The figures ProducerPerformance prints: the whole run, and each reporting window. */
export interface ProducerFigures {
  records: number;
  recordsPerSec: number;
  avgMs: number;
  maxMs: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  windows: { recordsPerSec: number; avgMs: number; maxMs: number }[];
}

const WINDOW = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency\.$/;
const TOTAL =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/;

/** Parses ProducerPerformance's output (its last summary line, and the window lines before it). */
export function parseProducerPerformance(out: string): ProducerFigures {
  const windows: ProducerFigures['windows'] = [];
  let total: ProducerFigures | null = null;
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    const t = TOTAL.exec(line);
    if (t) {
      total = { records: Number(t[1]), recordsPerSec: Number(t[2]), avgMs: Number(t[4]), maxMs: Number(t[5]), p50: Number(t[6]), p95: Number(t[7]), p99: Number(t[8]), p999: Number(t[9]), windows };
      continue;
    }
    const w = WINDOW.exec(line);
    if (w) windows.push({ recordsPerSec: Number(w[2]), avgMs: Number(w[4]), maxMs: Number(w[5]) });
  }
  if (!total) throw new Error(`no summary line in ProducerPerformance's output:\n${tail(out)}`);
  return total;
}

export interface ConsumerFigures {
  records: number;
  megabytes: number;
  /** Time to join the group and get partitions, as the tool measures it. */
  rebalanceMs: number;
  fetchMs: number;
  /** MB/s over the fetch time only (MiB, as Kafka's tools count). */
  fetchMBps: number;
}

/** Parses ConsumerPerformance's output: a header line of names and one line of values. */
export function parseConsumerPerformance(out: string): ConsumerFigures {
  const lines = out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const h = lines.findIndex((l) => l.startsWith('start.time'));
  if (h < 0 || h + 1 >= lines.length) throw new Error(`no figures in ConsumerPerformance's output:\n${tail(out)}`);
  const names = lines[h]!.split(',').map((s) => s.trim());
  const values = lines[h + 1]!.split(',').map((s) => s.trim());
  const get = (name: string): number => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`ConsumerPerformance printed no ${name}`);
    return Number(values[i]);
  };
  return {
    records: get('data.consumed.in.nMsg'),
    megabytes: get('data.consumed.in.MB'),
    rebalanceMs: get('rebalance.time.ms'),
    fetchMs: get('fetch.time.ms'),
    fetchMBps: get('fetch.MB.sec'),
  };
}
