import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DataCluster } from '../../../src/cluster/types.js';
import { brokerConfigOf, type BrokerConfig } from '../../../src/config/index.js';
import { fetchApi } from '../../../src/kafka/apis/fetch.js';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import type { MessageBody, RequestContext } from '../../../src/kafka/server/handler.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { DataPartition } from '../../../src/replication/types.js';
import { tmpDataDir } from '../../helpers/tmp.js';
import { closeSingleNodes, startSingleNode } from '../../helpers/single-node.js';
import type { RaftCluster } from '../../../src/cluster/raft-cluster.js';

/**
 * Long polls must not leave abort listeners behind, nor pile them onto one signal: a consumer
 * long-polls all day over one connection, with a fetch that may name hundreds of partitions.
 */

const PARTITIONS = 24;
const abortListeners = (s: AbortSignal): number => getEventListeners(s, 'abort').length;

function config(dataDir: string): BrokerConfig {
  return brokerConfigOf({ 'node.id': '1', ...(dataDir ? { 'log.dirs': dataDir } : {}), 'chronik.log.level': 'error' });
}

function createFetchHandler(services: { cluster: DataCluster; config: BrokerConfig; logger: ReturnType<typeof silentLogger> }) {
  const h = fetchApi.bind(services);
  return (body: MessageBody, ctx: RequestContext) => h.handle(body, ctx);
}

afterEach(async () => {
  await closeSingleNodes();
});

/** A real cluster whose partitions report the signal each long poll waits on. */
async function start(): Promise<{ cluster: RaftCluster; observed: DataCluster; signals: AbortSignal[] }> {
  const { cluster } = await startSingleNode(tmpDataDir());
  await cluster.createTopic({ name: 'wide', partitions: PARTITIONS, replicationFactor: 1, configs: {} });
  const signals: AbortSignal[] = [];
  const watch = (p: DataPartition): DataPartition =>
    new Proxy(p, {
      get(target, key) {
        if (key === 'waitForData') {
          return (offset: number, timeoutMs: number, signal: AbortSignal) => {
            signals.push(signal);
            return target.waitForData(offset, timeoutMs, signal);
          };
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const observed = new Proxy(cluster as DataCluster, {
    get(target, key) {
      if (key === 'partition') {
        return (topic: string, partition: number) => {
          const p = target.partition(topic, partition);
          return p && watch(p);
        };
      }
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { cluster, observed, signals };
}

function fetchBody(maxWaitMs: number, fetchOffset = 0): MessageBody {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: 'wide',
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: Array.from({ length: PARTITIONS }, (_, i) => ({
          partition: i,
          currentLeaderEpoch: -1,
          fetchOffset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: 1 << 20,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

function context(signal: AbortSignal): RequestContext {
  return { apiKey: 1, apiVersion: 12, correlationId: 1, clientId: 'test', connectionId: 1, remoteAddress: '127.0.0.1', signal };
}

function recordsIn(response: MessageBody | null): number {
  const topics = (response?.['responses'] ?? []) as { partitions: { records: Buffer | null }[] }[];
  return topics.flatMap((t) => t.partitions).filter((p) => (p.records?.length ?? 0) > 0).length;
}

describe('fetch long polls and abort listeners', () => {
  it('a waiting fetch over many partitions holds one listener per signal, and none once answered', async () => {
    const { cluster, observed, signals } = await start();
    const fetch = createFetchHandler({ cluster: observed, config: config(''), logger: silentLogger() });
    const connection = new AbortController();

    const answer = fetch(fetchBody(60_000), context(connection.signal));
    await vi.waitFor(() => expect(signals.length).toBe(PARTITIONS), { timeout: 10_000, interval: 5 });
    expect(abortListeners(connection.signal)).toBe(1);
    expect(new Set(signals).size).toBe(PARTITIONS);
    for (const s of signals) expect(abortListeners(s)).toBe(1);

    await cluster.partition('wide', 7)!.append(buildRecordBatch({ records: [{ key: null, value: 'wake' }] }), 1);
    expect(recordsIn(await answer)).toBe(1);
    expect(abortListeners(connection.signal)).toBe(0);
    for (const s of signals) expect(abortListeners(s)).toBe(0);
  });

  it('nothing accumulates over many long polls on one connection, whether they time out or are aborted', async () => {
    const { observed, signals } = await start();
    const fetch = createFetchHandler({ cluster: observed, config: config(''), logger: silentLogger() });
    const connection = new AbortController();

    for (let i = 0; i < 40; i++) expect(recordsIn(await fetch(fetchBody(20), context(connection.signal)))).toBe(0);
    // A poll whose first read outlasts its wait (a loaded machine) answers without waiting, so
    // not every poll registers its signals; enough do for the leak to show.
    expect(signals.length).toBeGreaterThanOrEqual(10 * PARTITIONS);
    expect(abortListeners(connection.signal)).toBe(0);
    expect(signals.filter((s) => abortListeners(s) > 0)).toEqual([]);

    // The connection closes while a poll waits: it answers at once and leaves nothing behind.
    const before = signals.length;
    const answer = fetch(fetchBody(60_000), context(connection.signal));
    await vi.waitFor(() => expect(signals.length).toBe(before + PARTITIONS), { timeout: 10_000, interval: 5 });
    connection.abort(new Error('connection closed'));
    expect(recordsIn(await answer)).toBe(0);
    expect(abortListeners(connection.signal)).toBe(0);
    expect(signals.filter((s) => abortListeners(s) > 0)).toEqual([]);
  });

  it('a partition long poll removes its listener when woken, timed out or aborted', async () => {
    const { cluster } = await start();
    const p = cluster.partition('wide', 0)!;
    const timedOut = new AbortController();
    await p.waitForData(0, 1, timedOut.signal);
    expect(abortListeners(timedOut.signal)).toBe(0);

    const aborted = new AbortController();
    const waiting = p.waitForData(0, 60_000, aborted.signal);
    expect(abortListeners(aborted.signal)).toBe(1);
    aborted.abort();
    await waiting;
    expect(abortListeners(aborted.signal)).toBe(0);

    const woken = new AbortController();
    const wake = p.waitForData(0, 60_000, woken.signal);
    await p.append(buildRecordBatch({ records: [{ key: null, value: 'x' }] }), 1);
    await wake;
    expect(abortListeners(woken.signal)).toBe(0);
  });
});
