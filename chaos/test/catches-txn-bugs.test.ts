/**
 * The transactional checks on a history recorded from real clients against a real broker
 * process: the harness's transactional workload (kafkajs transactional producers, a
 * read_committed consumer) runs until it has committed and aborted transactions, the final reads
 * read the topic at both isolation levels, and the checker must find the history clean. Then
 * the planted bug: a broker that ignores the isolation level, serving a read_committed fetch what
 * it serves read_uncommitted (every record up to the high watermark, no aborted-transaction
 * list): a second read_committed final read, made with isolation read_uncommitted, is appended to
 * a copy of the history, and the checker must name exactly the aborted values the log holds, and
 * nothing else.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../broker/test/helpers/random.js';
import { startBrokerProcess, type BrokerProcess } from '../../broker/test/helpers/broker-process.js';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { sleep } from '../../e2e/lib/exec.js';
import { checkHistory } from '../checker/check.js';
import { parseHistory } from '../checker/history.js';
import { countByKind } from '../checker/report.js';
import { HistoryRecorder } from '../harness/recorder.js';
import { TxnWorkload, txnPartitions } from '../harness/txn-workload.js';
import { createTopic, endOffsets, finalRead } from '../harness/workload.js';

const TOPIC = 'chaos-txn';
const PRODUCERS = 2;

describe('the transactional checks on a real broker', () => {
  let broker: BrokerProcess | undefined;
  afterAll(async () => {
    await broker?.kill();
  });

  it('find a clean history clean, and a read_committed read that ignored the isolation level', async () => {
    const dir = tmpDataDir('chronik-chaos-txn-');
    const history = join(dir, 'history.jsonl');
    broker = await startBrokerProcess({ args: ['--config', 'group.initial.rebalance.delay.ms=0', '--config', 'transaction.state.log.num.partitions=1'] });
    const kafka = new Kafka({ clientId: 'chaos-txn-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
    const partitions = txnPartitions(PRODUCERS);
    await createTopic(kafka, TOPIC, partitions, 1, 30_000);
    const rec = new HistoryRecorder(history);
    const w = new TxnWorkload(kafka, rec, { topic: TOPIC, producers: PRODUCERS, consumers: 1, group: 'txn-group', rng: seededRandom(11) });
    await w.start();
    const deadline = Date.now() + 60_000;
    while ((w.outcomes.committed < 20 || w.outcomes.aborted < 5) && Date.now() < deadline) await sleep(100);
    await w.stopProducers();
    await w.closeTransactions();
    expect(await w.drainConsumers(await endOffsets(kafka, TOPIC), 30_000)).toBe(true);
    expect((await finalRead(kafka, rec, TOPIC, partitions, 'txn-final', 30_000, { f: 'txn-final-read', recordTopic: true })).complete).toBe(true);
    expect((await finalRead(kafka, rec, TOPIC, partitions, 'txn-raw', 30_000, { f: 'txn-final-read-uncommitted', readUncommitted: true, recordTopic: true })).complete).toBe(true);
    rec.close();

    const events = parseHistory(readFileSync(history, 'utf8'));
    const clean = checkHistory(events);
    expect(Object.fromEntries(countByKind(clean))).toEqual({});
    expect(w.outcomes.committed).toBeGreaterThanOrEqual(20);
    expect(w.outcomes.aborted).toBeGreaterThanOrEqual(5);
    const aborted = clean.results.find((r) => r.name === 'txn aborted unread');
    const storedAborted = aborted?.figures?.['aborted values stored (read_uncommitted)'];
    // Aborted values must really be in the log, or "none was read" would prove nothing.
    expect(storedAborted).toBeGreaterThan(0);
    expect(clean.results.find((r) => r.name === 'txn read_committed consumer')?.checked).toBeGreaterThan(0);

    // The planted bug, on a copy of the history: a later read_committed final read that got what read_uncommitted gets.
    const bugged = join(dir, 'history-isolation-ignored.jsonl');
    copyFileSync(history, bugged);
    const rec2 = new HistoryRecorder(bugged);
    expect((await finalRead(kafka, rec2, TOPIC, partitions, 'txn-ignoring', 30_000, { f: 'txn-final-read', readUncommitted: true, recordTopic: true })).complete).toBe(true);
    rec2.close();
    const bad = checkHistory(parseHistory(readFileSync(bugged, 'utf8')));
    const { 'aborted-read': abortedRead, ...others } = Object.fromEntries(countByKind(bad));
    expect(abortedRead).toBe(storedAborted);
    // Measured against a log that holds the aborted records, the consumer's correct reads jumped over them.
    expect(Object.keys(others).filter((k) => k !== 'poll-skip')).toEqual([]);
    expect(bad.ok).toBe(false);
  });
});
