/**
 * The checker catches a broker that acknowledges writes it does not keep, on a history recorded
 * from real clients against a real broker process. The harness's own workload (idempotent acks=all
 * kafkajs producers, a committing consumer group, the final read) runs against a broker; the
 * broker is killed with SIGKILL and its partition log loses its last acknowledged batches, cut at
 * a batch boundary, which is what survives a crash of a broker that answered acks=all before the
 * write was durable on a quorum (the log is valid, only shorter, so recovery accepts it). After a
 * restart the producers write on, reusing those offsets for new values. The checker must name
 * exactly the writes that were cut as lost, and find the history clean before the cut.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startBrokerProcess, type BrokerProcess } from '../../broker/test/helpers/broker-process.js';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { sleep } from '../../e2e/lib/exec.js';
import { checkHistory } from '../checker/check.js';
import { parseHistory } from '../checker/history.js';
import { frameBatches } from '../checker/replicas.js';
import { countByKind } from '../checker/report.js';
import { HistoryRecorder } from '../harness/recorder.js';
import { createTopic, finalRead, Workload } from '../harness/workload.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TOPIC = 'chaos';
/** Acknowledged batches the "lossy" broker drops from the end of its log. */
const CUT = 7;

async function untilAcknowledged(w: Workload, n: number): Promise<void> {
  while (w.acknowledged < n) await sleep(50);
}

describe('the checker on a broker that loses acknowledged writes', () => {
  let broker: BrokerProcess | undefined;
  afterAll(async () => {
    await broker?.kill();
  });

  it('reports exactly the acknowledged writes the broker did not keep', async () => {
    const dir = tmpDataDir('chronik-chaos-lossy-');
    const history = join(dir, 'history.jsonl');
    broker = await startBrokerProcess({ args: ['--config', 'group.initial.rebalance.delay.ms=0'] });
    const b = broker;
    const kafka = new Kafka({ clientId: 'chaos-lossy', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
    await createTopic(kafka, TOPIC, 1, 1, 30_000);
    const rec = new HistoryRecorder(history);

    const before = new Workload(kafka, rec, { topic: TOPIC, partitions: 1, producers: 2, consumers: 1, group: 'chaos-group' });
    await before.start();
    await untilAcknowledged(before, 150);
    await before.stopProducers();
    await before.drainConsumers(new Map([[0, before.acknowledged]]), 30_000);
    expect((await finalRead(kafka, rec, TOPIC, 1, 'final-1', 30_000)).complete).toBe(true);
    const clean = checkHistory(parseHistory(readFileSync(history, 'utf8')));
    expect(Object.fromEntries(countByKind(clean))).toEqual({});
    expect(clean.results[0]?.checked).toBe(before.acknowledged);

    await b.kill();
    const partitionDir = join(b.dataDir, `${TOPIC}-0`);
    const segment = join(partitionDir, readdirSync(partitionDir).filter((f) => f.endsWith('.log')).sort().at(-1) ?? '');
    const { batches } = frameBatches(readFileSync(segment), segment);
    const firstCut = batches[batches.length - CUT];
    if (!firstCut) throw new Error(`only ${batches.length} batches in ${segment}`);
    truncateSync(segment, firstCut.position);
    // The broker's index files still point past the cut; its recovery must cope with that too.
    const cutOffset = firstCut.baseOffset;
    const lostValues = parseHistory(readFileSync(history, 'utf8'))
      .filter((e) => e.f === 'produce' && e.type === 'ok' && (e.offset ?? -1) >= cutOffset)
      .map((e) => e.value as string)
      .sort();
    expect(lostValues).toHaveLength(CUT);
    await b.restart();

    const after = new Workload(kafka, rec, { topic: TOPIC, partitions: 1, producers: 1, consumers: 0, group: 'chaos-group', producerPrefix: 'after-restart' });
    await after.start();
    await untilAcknowledged(after, CUT + 5);
    await after.stopProducers();
    expect((await finalRead(kafka, rec, TOPIC, 1, 'final-2', 30_000)).complete).toBe(true);
    rec.close();

    const report = checkHistory(parseHistory(readFileSync(history, 'utf8')));
    const kinds = Object.fromEntries(countByKind(report));
    const lost = report.results.flatMap((r) => r.violations.filter((v) => v.kind === 'lost-write'));
    expect(lost.map((v) => /"([^"]+)"/.exec(v.message)?.[1]).sort()).toEqual(lostValues);
    // The new writes took the lost offsets, so readers saw different values there, and the
    // second final read no longer holds what the first one did.
    expect(kinds['final-read-inconsistent']).toBeGreaterThanOrEqual(1);
    expect(kinds['inconsistent-read']).toBeGreaterThanOrEqual(1);
    expect(report.ok).toBe(false);

    // The CLI fails on the same history and names the kind.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'chaos/check.ts', history], { cwd: REPO, encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain(`lost-write: ${CUT}`);
    writeFileSync(join(dir, 'checker.txt'), cli.stdout);
  });
});
