/**
 * `npm run chaos -- [options]` (see harness/options.ts): builds the broker image from
 * Dockerfile.broker, runs the brokers as containers on a Docker network, drives producers and a
 * consumer group against them while the nemesis kills, pauses, partitions and corrupts, heals,
 * reads everything back, stops the brokers and checks the history and the replicas' files.
 *
 * Exit status: 0 no violation; 1 violations; 2 bad options; 3 the cluster could not be run at
 * all (the image lacks the cluster flags, brokers never became ready, the topic could not be
 * created); 4 the harness failed or ran out of its time budget.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../broker/test/helpers/random.js';
import { dockerBuild, ensureDocker } from '../e2e/lib/docker.js';
import { sleep } from '../e2e/lib/exec.js';
import { REPO_ROOT } from '../e2e/lib/suite.js';
import { checkHistory } from './checker/check.js';
import { parseHistory } from './checker/history.js';
import { checkReplicas, type ReplicaDir } from './checker/replicas.js';
import { formatReport, type Report } from './checker/report.js';
import { DockerCluster, probeClusterFlags, removeStaleRuns, RUN_LABEL } from './harness/docker-cluster.js';
import { Nemesis } from './harness/nemesis.js';
import { OptionsError, parseOptions, type ChaosOptions } from './harness/options.js';
import { HistoryRecorder } from './harness/recorder.js';
import { TxnWorkload, txnPartitions } from './harness/txn-workload.js';
import { createTopic, currentRoles, endOffsets, finalRead, hostKafka, readCommitted, Workload } from './harness/workload.js';

const BUILT_IMAGE = 'chronik/broker:chaos';
const TOPIC = 'chaos';
const GROUP = 'chaos-group';
const TXN_TOPIC = 'chaos-txn';
const TXN_GROUP = 'chaos-txn-group';

class RunFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

let logFile: string | undefined;
function log(message: string): void {
  const line = `[chaos ${new Date().toISOString().slice(11, 19)}] ${message}\n`;
  process.stderr.write(line);
  if (logFile) appendFileSync(logFile, line);
}

function table(rows: readonly (readonly [string, string | number])[]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

async function waitForEnds(kafka: ReturnType<typeof hostKafka>, timeoutMs: number, topic = TOPIC): Promise<Map<number, number> | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      return await endOffsets(kafka, topic);
    } catch {
      await sleep(1000);
    }
  }
  return undefined;
}

/** Polls the replicas' files (brokers still running) until they agree or time runs out. */
async function waitForConvergence(dirs: readonly ReplicaDir[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (checkReplicas(dirs).violations.length === 0) return true;
    } catch {
      // a file rolled or truncated under us: look again
    }
    if (Date.now() >= deadline) return false;
    await sleep(1000);
  }
}

interface RunResult {
  readonly report: Report;
  readonly summary: Record<string, string | number>;
}

async function chaosRun(opts: ChaosOptions, runId: string, out: string, signal: AbortSignal, onCluster: (c: DockerCluster) => void): Promise<RunResult> {
  const started = Date.now();
  await ensureDocker();
  const image = opts.image ?? BUILT_IMAGE;
  if (opts.build) await dockerBuild({ dockerfile: join(REPO_ROOT, 'Dockerfile.broker'), tag: image, context: REPO_ROOT });
  await removeStaleRuns(log);
  const probe = await probeClusterFlags(image, runId);
  if (!probe.supported && opts.brokers > 1) {
    throw new RunFailure(3, `${image}: \`chronik broker --help\` has no ${probe.missing.join(', ')}, so ${opts.brokers} brokers cannot form one cluster in this build; run with --brokers 1 to test one broker`);
  }
  if (!probe.supported) log(`${image} has no cluster flags (${probe.missing.join(', ')}): running one stand-alone broker`);
  const dataRoot = join(out, 'data');
  const txn = opts.workloads.includes('txn');
  const idempotent = opts.workloads.includes('idempotent');
  const cluster = await DockerCluster.start({
    runId,
    image,
    brokers: opts.brokers,
    voters: opts.voters,
    dataRoot,
    clusterFlags: probe.supported,
    config: [
      'offsets.topic.num.partitions=3',
      'group.initial.rebalance.delay.ms=0',
      `default.replication.factor=${Math.min(3, opts.brokers)}`,
      // Three coordinator partitions, not fifty: the replica check compares every one of them.
      ...(txn ? ['transaction.state.log.num.partitions=3'] : []),
    ],
  });
  onCluster(cluster);
  log(`started ${opts.brokers} brokers: ${cluster.nodes.map((n) => `${n.name}=${n.ip}`).join(' ')}`);
  const notReady = await cluster.waitReady(120_000);
  if (notReady.length > 0) throw new RunFailure(3, `not ready within 120 s: ${notReady.map((n) => n.name).join(', ')} (their logs are in ${join(out, 'logs')})`);
  const kafka = hostKafka(cluster, `chaos-${runId}`);
  const rf = Math.min(3, opts.brokers);
  try {
    await createTopic(kafka, TOPIC, opts.partitions, rf, 90_000);
  } catch (e) {
    throw new RunFailure(3, e instanceof Error ? e.message : String(e));
  }
  log(`topic ${TOPIC}: ${opts.partitions} partitions, replication factor ${rf}`);
  const txnPs = txnPartitions(opts.txnProducers);
  if (txn) {
    try {
      await createTopic(kafka, TXN_TOPIC, txnPs, rf, 90_000);
    } catch (e) {
      throw new RunFailure(3, e instanceof Error ? e.message : String(e));
    }
    log(`topic ${TXN_TOPIC}: ${txnPs} partitions, replication factor ${rf}, ${opts.txnProducers} transactional producers`);
  }

  const rec = new HistoryRecorder(join(out, 'history.jsonl'));
  const workload = new Workload(kafka, rec, { topic: TOPIC, partitions: opts.partitions, producers: idempotent ? opts.producers : 0, consumers: idempotent ? opts.consumers : 0, group: GROUP });
  const txnWorkload = txn ? new TxnWorkload(kafka, rec, { topic: TXN_TOPIC, producers: opts.txnProducers, consumers: 1, group: TXN_GROUP, rng: seededRandom(opts.seed + 1) }) : undefined;
  const nemesis = new Nemesis({
    cluster,
    rec,
    rng: seededRandom(opts.seed),
    families: opts.nemeses,
    topic: TOPIC,
    partitions: opts.partitions,
    corruptAlso: txn ? [{ topic: TXN_TOPIC, partitions: txnPs }] : [],
    roles: () => currentRoles(kafka, TOPIC),
    log,
  });
  const dirs: ReplicaDir[] = cluster.nodes.map((n) => ({ broker: n.name, dir: n.dataDir }));
  let drained = false;
  let finalComplete = false;
  let converged = false;
  let finalRecords = 0;
  let txnDrained = false;
  let txnComplete = false;
  let txnRecords = 0;
  try {
    await workload.start();
    await txnWorkload?.start();
    await sleep(5000);
    log(`faults for ${opts.timeS} s: ${opts.nemeses.join(', ')} (seed ${opts.seed})`);
    await nemesis.runUntil(Date.now() + opts.timeS * 1000, signal);
    await nemesis.healAll();
    log('healed everything');
    const late = await cluster.waitReady(60_000);
    if (late.length > 0) log(`not ready 60 s after the final heal: ${late.map((n) => n.name).join(', ')}`);
    await readCommitted(kafka, rec, GROUP, TOPIC, opts.partitions);
    await sleepUnlessAborted(opts.recoveryS * 1000, signal);
    await Promise.all([workload.stopProducers(), txnWorkload?.stopProducers()]);
    log(`producers stopped: ${workload.acknowledged} writes acknowledged`);
    if (txnWorkload) {
      await txnWorkload.closeTransactions();
      const o = txnWorkload.outcomes;
      log(`transactions: ${o.committed} committed, ${o.aborted} aborted, ${o.failed} failed, ${o.unknown} unknown`);
    }
    const ends = await waitForEnds(kafka, 30_000);
    drained = await workload.drainConsumers(ends ?? new Map(), 30_000);
    if (txnWorkload) txnDrained = await txnWorkload.drainConsumers((await waitForEnds(kafka, 30_000, TXN_TOPIC)) ?? new Map(), 30_000);
    await readCommitted(kafka, rec, GROUP, TOPIC, opts.partitions);
    const fr = await finalRead(kafka, rec, TOPIC, opts.partitions, `chaos-final-${runId}`, 90_000);
    finalComplete = fr.complete;
    finalRecords = fr.records;
    log(`final read: ${fr.records} records${fr.complete ? '' : ' (incomplete)'}`);
    if (txn) {
      const committed = await finalRead(kafka, rec, TXN_TOPIC, txnPs, `chaos-txn-final-${runId}`, 90_000, { f: 'txn-final-read', recordTopic: true });
      const uncommitted = await finalRead(kafka, rec, TXN_TOPIC, txnPs, `chaos-txn-final-raw-${runId}`, 90_000, { f: 'txn-final-read-uncommitted', readUncommitted: true, recordTopic: true });
      txnComplete = committed.complete && uncommitted.complete;
      txnRecords = committed.records;
      log(`final reads of ${TXN_TOPIC}: ${committed.records} records read_committed, ${uncommitted.records} read_uncommitted${txnComplete ? '' : ' (incomplete)'}`);
    }
    if (opts.brokers > 1) converged = await waitForConvergence(dirs, 60_000);
  } finally {
    await Promise.all([workload.stopProducers(), txnWorkload?.stopProducers()]);
    await cluster.stopAll();
    await cluster.saveLogs(join(out, 'logs'));
    rec.close();
  }
  const report = checkHistory(parseHistory(readFileSync(rec.file, 'utf8')), { livenessBoundMs: opts.livenessBoundMs, replicas: dirs, convergedWhileRunning: converged });
  const tally = rec.tally();
  const acked = report.results.find((r) => r.name === 'acknowledged writes');
  const faults = [...nemesis.injected.values()].reduce((a, b) => a + b, 0);
  const summary: Record<string, string | number> = {
    run: runId,
    seed: opts.seed,
    brokers: opts.brokers,
    'cluster flags': probe.supported ? 'yes' : 'no (stand-alone broker)',
    nemeses: opts.nemeses.join(','),
    'faults injected': faults,
    ...Object.fromEntries([...nemesis.injected].sort().map(([k, v]) => [`  ${k}`, v])),
    'history events': rec.events,
    'produce ok / info / fail': `${tally.get('produce ok') ?? 0} / ${tally.get('produce info') ?? 0} / ${tally.get('produce fail') ?? 0}`,
    'polls / commits ok': `${tally.get('poll ok') ?? 0} / ${tally.get('commit ok') ?? 0}`,
    'acknowledged writes checked': acked?.checked ?? 0,
    'final read records': finalRecords,
    'final read complete': finalComplete ? 'yes' : 'no',
    'consumers caught up': drained ? 'yes' : 'no',
    ...(txnWorkload
      ? {
          workloads: opts.workloads.join(','),
          'transactions committed / aborted / failed / unknown': `${txnWorkload.outcomes.committed} / ${txnWorkload.outcomes.aborted} / ${txnWorkload.outcomes.failed} / ${txnWorkload.outcomes.unknown}`,
          'txn values checked (read_committed)': txnRecords,
          'txn final reads complete': txnComplete ? 'yes' : 'no',
          'txn consumer caught up': txnDrained ? 'yes' : 'no',
        }
      : {}),
    'replica files converged before stop': opts.brokers > 1 ? (converged ? 'yes' : 'no') : 'n/a',
    'duration (s)': Math.round((Date.now() - started) / 1000),
  };
  return { report, summary };
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + ms;
  while (!signal.aborted && Date.now() < until) await sleep(Math.min(250, until - Date.now()));
}

async function main(): Promise<number> {
  let opts: ChaosOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof OptionsError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const out = opts.outDir ?? join(tmpdir(), 'chronik-chaos', runId);
  mkdirSync(out, { recursive: true });
  logFile = join(out, 'harness.log');
  log(`run ${runId}: ${opts.brokers} brokers, ${opts.timeS} s of ${opts.nemeses.join(',')}, seed ${opts.seed}; files in ${out}`);

  const abort = new AbortController();
  let cluster: DockerCluster | undefined;
  let interrupted = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted++;
    log(`${sig}: stopping`);
    abort.abort();
    if (interrupted > 1) {
      // A second signal: remove this run's containers synchronously and go.
      const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=${RUN_LABEL}=${runId}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...ids]);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The whole run's budget: image build, cluster start, faults, recovery, reads, checks.
  const budgetMs = 30 * 60_000 + (opts.timeS + opts.recoveryS) * 1000;
  const watchdog = setTimeout(() => {
    log(`the run exceeded its budget of ${Math.round(budgetMs / 1000)} s: stopping`);
    abort.abort();
    setTimeout(() => onSignal('SIGTERM'), 120_000).unref();
    interrupted = Math.max(interrupted, 1);
  }, budgetMs);
  watchdog.unref();

  let code = 4;
  try {
    const { report, summary } = await chaosRun(opts, runId, out, abort.signal, (c) => (cluster = c));
    const text = `${table(Object.entries(summary))}\n\n${formatReport(report)}\n`;
    process.stdout.write(`\n${text}`);
    writeFileSync(join(out, 'summary.txt'), text);
    writeFileSync(join(out, 'report.json'), JSON.stringify({ summary, report }, null, 2) + '\n');
    code = abort.signal.aborted ? 4 : report.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof RunFailure) {
      log(e.message);
      code = e.code;
    } else {
      log(`harness failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      code = 4;
    }
    if (cluster) await cluster.saveLogs(join(out, 'logs')).catch(() => undefined);
  } finally {
    clearTimeout(watchdog);
    if (cluster) await cluster.destroy().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    if (code === 0 && !opts.keepData) rmSync(join(out, 'data'), { recursive: true, force: true });
  }
  log(`${code === 0 ? 'passed' : `exit ${code}`}; history, logs and summary in ${out}${code !== 0 || opts.keepData ? ' (with the data dirs)' : ''}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chaos: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(4);
  },
);
