/**
 * `node --import tsx bench/profile-run.ts ROW [RECORDS]`: one row of bench/vs-kafka.ts against a single
 * Chronik broker started with CHRONIK_BENCH_NODE_ARGS (for --cpu-prof, --trace-gc, ...), for
 * looking at one workload in isolation. ROW: produce1k, produce100, steady, consume.
 * Prints the tool's figures, the broker's CPU seconds and its /metrics event-loop delay.
 */
import { Kafka, logLevel } from 'kafkajs';
import { buildBroker, startBenchBroker } from './broker.js';
import { cleanUpOnExit, parseConsumerPerformance, parseProducerPerformance, runKafkaTool } from './kafka.js';

const row = process.argv[2] ?? 'produce1k';
const records = Number(process.argv[3] ?? 300_000);
cleanUpOnExit();
if (process.env.CHRONIK_BENCH_NO_BUILD !== '1') buildBroker();
const broker = await startBenchBroker(['--config', 'group.initial.rebalance.delay.ms=0']);
try {
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const partitions = row === 'consume' ? 1 : 8;
  await admin.createTopics({ topics: [{ topic: 't', numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const produce = async (n: number, size: number, rate: number): Promise<string> =>
    runKafkaTool('org.apache.kafka.tools.ProducerPerformance', ['--topic', 't', '--num-records', String(n), '--record-size', String(size), '--throughput', String(rate), '--bootstrap-server', broker.bootstrap, '--command-property', 'acks=all'], 600_000);
  const cpu0 = broker.cpuSeconds();
  let out: string;
  if (row === 'produce1k') out = await produce(records, 1024, -1);
  else if (row === 'produce100') out = await produce(records, 100, -1);
  else if (row === 'steady') out = await produce(records, 1024, 5000);
  else {
    await produce(records, 1024, -1);
    const c1 = broker.cpuSeconds();
    out = await runKafkaTool('org.apache.kafka.tools.ConsumerPerformance', ['--topic', 't', '--num-records', String(records), '--bootstrap-server', broker.bootstrap, '--group', 'g', '--timeout', '60000'], 600_000);
    console.log(JSON.stringify(parseConsumerPerformance(out)), `consume broker CPU ${(broker.cpuSeconds() - c1).toFixed(2)} s`);
  }
  const cpu = broker.cpuSeconds() - cpu0;
  if (row !== 'consume') {
    const p = parseProducerPerformance(out);
    console.log(JSON.stringify({ ...p, windows: p.windows.map((w) => w.maxMs) }));
  }
  console.log(`broker CPU ${cpu.toFixed(2)} s`);
  const metrics = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
  for (const line of metrics.split('\n')) if (/event_loop|nodejs_gc_duration_seconds_sum|heap_size_used/.test(line) && !line.startsWith('#')) console.log(line);
} finally {
  await broker.stop();
}
