/**
 * `node --import tsx bench/raft-transport.ts [--reps N]`: the cluster bench's throughput row
 * (librdkafka produce of 1 KiB records, acks=all, idempotent, 6 partitions) against a single
 * broker (RF 1) and against 3 brokers (RF 3) with each `chronik.raft.transport`, alternating
 * (the order rotates every repetition), a fresh broker or cluster per run. Prints each setup's
 * median [min..max] and the RF 3 / single-broker ratio of the medians (target >= 60%), and the
 * brokers' CPU per record (all brokers' CPU seconds / records / s, in microseconds), which a
 * crowded machine disturbs less than throughput.
 * Environment: CHRONIK_BENCH_MESSAGES (records per run, default 150000).
 */
import { cpus, loadavg } from 'node:os';
import { buildBroker, startBenchBroker, startBenchCluster, type BenchBroker } from './broker.js';
import { createTopic, produceRun, type Produced } from './cluster.js';

const repsAt = process.argv.indexOf('--reps');
const REPS = repsAt >= 0 ? Number(process.argv[repsAt + 1]) : 3;
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps N: N must be an integer >= 1');

type Setup = 'rf1' | 'rf3-grpc' | 'rf3-tcp';
const SETUPS: readonly Setup[] = ['rf1', 'rf3-grpc', 'rf3-tcp'];

async function once(setup: Setup): Promise<Produced> {
  let brokers: BenchBroker[];
  if (setup === 'rf1') brokers = [await startBenchBroker(['--config', 'default.replication.factor=1'])];
  else brokers = await startBenchCluster(3, ['--config', `chronik.raft.transport=${setup === 'rf3-tcp' ? 'tcp' : 'grpc'}`]);
  try {
    await createTopic(brokers[0]!.bootstrap, 'bench', 6, setup === 'rf1' ? 1 : 3);
    return await produceRun(brokers, 'bench');
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
}

const cpuPerRecordUs = (r: Produced): number => (r.brokerCores / r.msgsPerSec) * 1e6;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

buildBroker();
const loadBefore = loadavg()[0]!;
const results = new Map<Setup, Produced[]>(SETUPS.map((s) => [s, []]));
for (let rep = 0; rep < REPS; rep++) {
  for (let i = 0; i < SETUPS.length; i++) {
    const setup = SETUPS[(i + rep) % SETUPS.length]!;
    const r = await once(setup);
    results.get(setup)!.push(r);
    console.log(
      `rep ${rep + 1} ${setup}: ${r.msgsPerSec.toFixed(0)} msgs/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, broker cores ${r.brokerCores.toFixed(2)}, ${cpuPerRecordUs(r).toFixed(1)} CPU-us/record`,
    );
  }
}
console.log('');
console.log(`load average (1 min) before ${loadBefore.toFixed(1)}, after ${loadavg()[0]!.toFixed(1)}, on ${cpus().length} cores; ${REPS} repetitions, median [min..max]`);
const fmt = (xs: number[], digits: number): string => `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}]`;
for (const setup of SETUPS) {
  const rs = results.get(setup)!;
  console.log(
    `${setup.padEnd(9)} msgs/s ${fmt(rs.map((r) => r.msgsPerSec), 0)}  p50 ms ${fmt(rs.map((r) => r.p50), 1)}  p99 ms ${fmt(rs.map((r) => r.p99), 1)}  broker cores ${fmt(rs.map((r) => r.brokerCores), 2)}  CPU-us/record ${fmt(rs.map(cpuPerRecordUs), 1)}`,
  );
}
const one = median(results.get('rf1')!.map((r) => r.msgsPerSec));
for (const setup of ['rf3-grpc', 'rf3-tcp'] as const) {
  console.log(`${setup} / rf1 throughput: ${((median(results.get(setup)!.map((r) => r.msgsPerSec)) / one) * 100).toFixed(0)}% (target >= 60%)`);
}
