/**
 * `npm run bench -- --vs-kafka [--brokers 1|3] [--reps N]`: Chronik against Apache Kafka on this
 * machine, with Kafka's own Java perf tools (ProducerPerformance, ConsumerPerformance) as the
 * client of both. Three targets, run alternately (the order rotates each repetition) so that the
 * load of the other work on the machine falls on all of them alike:
 *   chronik      - the compiled broker, fsync before every acknowledgement (always);
 *   kafka        - Kafka's defaults (the page cache, no fsync per write);
 *   kafka-flush  - the same Kafka brokers, topics with flush.messages=1 (fsync every message).
 * Rows: a steady 5,000 rec/s of 1 KiB (first, so its first repetition includes the first seconds
 * after the brokers start), produce 1 KiB and 100 B as fast as the tool goes (8 partitions,
 * acks=all), consume 1 KiB from one partition (fetch only), and the group join of the consumer.
 * Each row prints median [min..max] over the repetitions, the ratio of Chronik's median to each
 * Kafka's, the brokers' CPU seconds, and at the end each system's peak RSS and the load average
 * before and after. First a single broker, then 3 brokers with RF=3 (default: both).
 * Every process is bounded in time and killed, every temp dir removed, however the run ends.
 * Environment: CHRONIK_VS_KAFKA_SCALE (multiplies the record counts, default 1),
 * CHRONIK_VS_KAFKA_REPS (default 2), CHRONIK_KAFKA_VERSION, CHRONIK_BENCH_NODE_ARGS (bench/broker.ts).
 */
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { buildBroker, startBenchBroker, startBenchCluster, type BenchBroker } from './broker.js';
import {
  cleanUpOnExit,
  KAFKA_VERSION,
  kafkaClassPath,
  parseConsumerPerformance,
  parseProducerPerformance,
  runKafkaTool,
  startKafka,
  type KafkaCluster,
} from './kafka.js';
import { procPeakRssBytes } from './support/proc.js';

const SCALE = Number(process.env.CHRONIK_VS_KAFKA_SCALE ?? 1);
const TOOL_TIMEOUT_MS = 300_000;
/** The settings `npm start` and `chronik dev` give a broker, which Kafka's shipped config also sets. */
const CHRONIK_ARGS = ['--config', 'group.initial.rebalance.delay.ms=0'];

/** Chronik brokers to kill if the run is interrupted. */
const running = new Set<BenchBroker>();

type TargetName = 'chronik' | 'kafka' | 'kafka-flush';
const TARGETS: readonly TargetName[] = ['chronik', 'kafka', 'kafka-flush'];

interface System {
  readonly bootstrap: string;
  cpuSeconds(): number;
  peakRssBytes(): number;
  stop(): Promise<void>;
}

interface Target {
  readonly name: TargetName;
  readonly system: System;
  /** Topic configs this target's topics are created with. */
  readonly topicConfigs: { name: string; value: string }[];
}

type Figures = Record<string, number>;

interface Metric {
  key: string;
  label: string;
  unit: string;
  /** Whether more is better (throughput) or less (latency, CPU). */
  higherIsBetter: boolean;
  digits: number;
}

interface RowSpec {
  name: string;
  metrics: Metric[];
  run(target: Target, topic: string, rf: number): Promise<Figures>;
}

const m = (key: string, label: string, unit: string, higherIsBetter: boolean, digits = 0): Metric => ({ key, label, unit, higherIsBetter, digits });

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function createTopic(bootstrap: string, topic: string, partitions: number, rf: number, configEntries: { name: string; value: string }[]): Promise<void> {
  const admin = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10 } }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: rf, configEntries }], waitForLeaders: true, timeout: 60_000 });
  } finally {
    await admin.disconnect();
  }
}

/** Runs ProducerPerformance against `target`, with the brokers' CPU seconds over the run. */
async function producerPerformance(target: Target, topic: string, records: number, size: number, throughput: number): Promise<Figures> {
  const cpu0 = target.system.cpuSeconds();
  const out = await runKafkaTool(
    'org.apache.kafka.tools.ProducerPerformance',
    ['--topic', topic, '--num-records', String(records), '--record-size', String(size), '--throughput', String(throughput), '--bootstrap-server', target.system.bootstrap, '--command-property', 'acks=all'],
    TOOL_TIMEOUT_MS,
  );
  const cpu = target.system.cpuSeconds() - cpu0;
  const p = parseProducerPerformance(out);
  const mb = (p.records * size) / 1e6;
  const later = p.windows.slice(1).map((w) => w.maxMs);
  return {
    recordsPerSec: p.recordsPerSec,
    mbPerSec: (p.recordsPerSec * size) / 1e6,
    p50: p.p50,
    p99: p.p99,
    p999: p.p999,
    maxFirstWindow: p.windows[0]?.maxMs ?? p.maxMs,
    maxLaterWindows: later.length > 0 ? Math.max(...later) : NaN,
    cpuSeconds: cpu,
    cpuMsPerMB: (cpu * 1000) / mb,
  };
}

function rows(): RowSpec[] {
  const n1k = Math.round(300_000 * SCALE);
  const n100 = Math.round(1_000_000 * SCALE);
  const steadySeconds = Math.max(10, Math.round(20 * SCALE));
  return [
    {
      name: `produce 1 KiB at a steady 5,000 rec/s for ${steadySeconds} s, 8 partitions, acks=all (fresh topic)`,
      metrics: [
        m('p50', 'p50', 'ms', false),
        m('p99', 'p99', 'ms', false),
        m('p999', 'p99.9', 'ms', false),
        m('maxFirstWindow', 'max in first 5 s', 'ms', false),
        m('maxLaterWindows', 'max per 5 s after', 'ms', false),
        m('cpuSeconds', 'broker CPU', 's', false, 2),
      ],
      run: async (t, topic, rf) => {
        await createTopic(t.system.bootstrap, topic, 8, rf, t.topicConfigs);
        return producerPerformance(t, topic, 5000 * steadySeconds, 1024, 5000);
      },
    },
    {
      name: `produce 1 KiB, 8 partitions, acks=all, ${n1k} records`,
      metrics: [
        m('recordsPerSec', 'throughput', 'rec/s', true),
        m('p50', 'p50', 'ms', false),
        m('p99', 'p99', 'ms', false),
        m('cpuSeconds', 'broker CPU', 's', false, 2),
        m('cpuMsPerMB', 'broker CPU per MB', 'ms', false, 1),
      ],
      run: async (t, topic, rf) => {
        await createTopic(t.system.bootstrap, topic, 8, rf, t.topicConfigs);
        return producerPerformance(t, topic, n1k, 1024, -1);
      },
    },
    {
      name: `produce 100 B, 8 partitions, acks=all, ${n100} records`,
      metrics: [m('recordsPerSec', 'throughput', 'rec/s', true), m('p50', 'p50', 'ms', false), m('cpuSeconds', 'broker CPU', 's', false, 2)],
      run: async (t, topic, rf) => {
        await createTopic(t.system.bootstrap, topic, 8, rf, t.topicConfigs);
        return producerPerformance(t, topic, n100, 100, -1);
      },
    },
    {
      name: `consume 1 KiB, 1 partition, ${n1k} records (written first, untimed), a new group`,
      metrics: [
        m('fetchMBps', 'fetch only', 'MB/s', true),
        m('cpuMsPerMB', 'broker CPU per MB', 'ms', false, 1),
        m('rebalanceMs', 'group join (first member)', 'ms', false),
      ],
      run: async (t, topic, rf) => {
        await createTopic(t.system.bootstrap, topic, 1, rf, t.topicConfigs);
        await producerPerformance(t, topic, n1k, 1024, -1);
        const cpu0 = t.system.cpuSeconds();
        const out = await runKafkaTool(
          'org.apache.kafka.tools.ConsumerPerformance',
          ['--topic', topic, '--num-records', String(n1k), '--bootstrap-server', t.system.bootstrap, '--group', `${topic}-group`, '--timeout', '60000'],
          TOOL_TIMEOUT_MS,
        );
        const cpu = t.system.cpuSeconds() - cpu0;
        const c = parseConsumerPerformance(out);
        if (c.records < n1k) throw new Error(`ConsumerPerformance read ${c.records} of ${n1k} records from ${topic}`);
        // Kafka's tools count MiB; the table is in MB like the rest.
        const fetchMBps = c.fetchMBps * 1.048576;
        return { fetchMBps, rebalanceMs: c.rebalanceMs, cpuMsPerMB: (cpu * 1000) / (c.megabytes * 1.048576) };
      },
    },
  ];
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(xs: readonly number[], digits: number): string {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return '-';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return `${fmt(median(finite), digits)} [${fmt(lo, digits)}..${fmt(hi, digits)}]`;
}

/** Chronik's median over Kafka's, as "x times": >1 means Chronik is ahead for throughput, behind for latency/CPU. */
function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}x` : '-';
}

function loadLine(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

async function phase(brokers: 1 | 3, reps: number): Promise<string[]> {
  const rf = brokers === 1 ? 1 : 3;
  const loadBefore = loadLine();
  log(`\n== ${brokers === 1 ? 'single broker' : '3 brokers, RF=3'}: starting Chronik and Kafka ${KAFKA_VERSION} ...`);
  let chronik: BenchBroker[] = [];
  let kafka: KafkaCluster | null = null;
  try {
    chronik = brokers === 1 ? [await startBenchBroker(CHRONIK_ARGS)] : await startBenchCluster(3, CHRONIK_ARGS);
    for (const b of chronik) running.add(b);
    kafka = await startKafka(brokers);
    const chronikSystem: System = {
      bootstrap: chronik.map((b) => b.bootstrap).join(','),
      cpuSeconds: () => chronik.reduce((s, b) => s + b.cpuSeconds(), 0),
      peakRssBytes: () => Math.max(...chronik.map((b) => procPeakRssBytes(b.pid))),
      stop: async () => void (await Promise.all(chronik.map((b) => b.stop()))),
    };
    const targets: Target[] = [
      { name: 'chronik', system: chronikSystem, topicConfigs: [] },
      { name: 'kafka', system: kafka, topicConfigs: [] },
      { name: 'kafka-flush', system: kafka, topicConfigs: [{ name: 'flush.messages', value: '1' }] },
    ];
    const specs = rows();
    const results = specs.map(() => new Map<TargetName, Figures[]>(TARGETS.map((t) => [t, []])));
    for (let rep = 0; rep < reps; rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
      for (const [r, spec] of specs.entries()) {
        for (const target of order) {
          const topic = `vs-${brokers}-r${rep}-row${r}-${target.name}`;
          log(`rep ${rep + 1}/${reps}, ${target.name.padEnd(11)}: ${spec.name} (load ${loadLine()})`);
          const figures = await spec.run(target, topic, rf);
          results[r]!.get(target.name)!.push(figures);
        }
      }
    }
    const rss = new Map<TargetName, number>(targets.map((t) => [t.name, t.system.peakRssBytes()]));
    const out: string[] = [];
    out.push('');
    out.push(`### ${brokers === 1 ? 'Single broker' : '3 brokers, RF=3'}: Chronik vs Apache Kafka ${KAFKA_VERSION}, ${reps} repetitions, median [min..max]`);
    out.push(`load average (1/5/15 min) before ${loadBefore}, after ${loadLine()}, on ${cpus().length} cores`);
    out.push('');
    out.push('| row | metric | Chronik (fsync before every ack) | Kafka default (no fsync) | Kafka, flush every message | Chronik / Kafka default | Chronik / Kafka flush |');
    out.push('|---|---|---|---|---|---|---|');
    for (const [r, spec] of specs.entries()) {
      for (const metric of spec.metrics) {
        const of = (t: TargetName): number[] => results[r]!.get(t)!.map((f) => f[metric.key] ?? NaN);
        const c = median(of('chronik'));
        out.push(
          `| ${spec.name} | ${metric.label} (${metric.unit}${metric.higherIsBetter ? '' : ', less is better'}) | ${cell(of('chronik'), metric.digits)} | ${cell(of('kafka'), metric.digits)} | ${cell(of('kafka-flush'), metric.digits)} | ${ratio(c, median(of('kafka')))} | ${ratio(c, median(of('kafka-flush')))} |`,
        );
      }
    }
    const mb = (t: TargetName): string => `${(rss.get(t)! / 1e6).toFixed(0)} MB`;
    out.push(`| broker RSS | peak of one broker process (VmHWM) | ${mb('chronik')} | ${mb('kafka')} (same processes as flush) | ${mb('kafka-flush')} | ${ratio(rss.get('chronik')!, rss.get('kafka')!)} | |`);
    return out;
  } finally {
    await Promise.all([kafka?.stop(), ...chronik.map((b) => b.stop())]);
    for (const b of chronik) running.delete(b);
  }
}

export async function vsKafka(argv: readonly string[]): Promise<void> {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const brokersArg = flag('--brokers');
  const phases: (1 | 3)[] = brokersArg === undefined ? [1, 3] : brokersArg === '1' ? [1] : brokersArg === '3' ? [3] : [];
  if (phases.length === 0) throw new Error(`--brokers must be 1 or 3, got '${brokersArg}'`);
  const reps = Number(flag('--reps') ?? process.env.CHRONIK_VS_KAFKA_REPS ?? 2);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got '${reps}'`);
  cleanUpOnExit(() => {
    for (const b of running) {
      try {
        process.kill(b.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(b.dataDir, { recursive: true, force: true });
    }
  });
  kafkaClassPath();
  buildBroker();
  for (const brokers of phases) process.stdout.write(`${(await phase(brokers, reps)).join('\n')}\n`);
}
