/**
 * Transactions on a raft-replicated partition (real files, three brokers' hosts in one process):
 * the last stable offset, markers, the aborted-transactions index, and all of it surviving a
 * leader failover, a restart and a snapshot installed on a follower.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { buildRecordBatch, decodeRecords } from '../../../src/kafka/protocol/records.js';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { openReplica } from '../../../src/replication/open-replica.js';
import type { RaftPartition } from '../../../src/replication/raft-partition.js';
import { RaftNet, type NetBroker } from '../../helpers/raft-net.js';

const baseLog: LogConfig = {
  segmentBytes: 64 * 1024,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

type Broker = NetBroker<RaftPartition>;

function makeNet(log: Partial<LogConfig> = {}): RaftNet<RaftPartition> {
  return new RaftNet<RaftPartition>({
    open: ({ id, host, logs, journal }) =>
      openReplica({
        host,
        logManager: logs,
        journal,
        topic: 't',
        partition: 0,
        group: 7,
        nodeId: id,
        voters: [0, 1, 2],
        logConfig: { ...baseLog, ...log },
        limits: () => ({ maxMessageBytes: 1 << 20, timestampType: 'CreateTime', timestampDifferenceMaxMs: Infinity }),
        minInsyncReplicas: () => 1,
        replicaLagTimeMaxMs: 10_000,
        timing: { electionTicks: 10, heartbeatTicks: 1 },
        logger: silentLogger(),
      }),
    close: (p) => p.close(),
  });
}

async function leaderOf(net: RaftNet<RaftPartition>): Promise<Broker> {
  let found: Broker | undefined;
  await net.until(() => {
    const leaders = [...net.brokers.values()].filter((b) => b.up && b.app.isLeader());
    found = leaders.length === 1 ? leaders[0] : undefined;
    return found !== undefined;
  }, 'a single leader');
  return found as Broker;
}

interface Producer {
  readonly id: number;
  readonly epoch: number;
  seq: number;
}

function data(values: string[], p?: Producer, transactional = true): Buffer {
  const b = buildRecordBatch({
    records: values.map((v) => ({ value: v, timestamp: 1_700_000_000_000 })),
    ...(p ? { producerId: p.id, producerEpoch: p.epoch, baseSequence: p.seq, isTransactional: transactional } : {}),
  });
  if (p) p.seq += values.length;
  return b;
}

const TXN = { transactionalId: 'tx' };

/** What a read_committed consumer ends up with: committed records only, aborted ones dropped. */
async function readCommitted(p: RaftPartition): Promise<string[]> {
  const out: string[] = [];
  let offset = p.logStartOffset();
  const aborting = new Set<number>();
  const lso = p.lastStableOffset();
  while (offset < lso) {
    const r = await p.read(offset, 1 << 20, 1);
    if (r.records.length === 0) break;
    const aborted = p.abortedTransactions(offset, r.nextOffset);
    let pos = 0;
    while (pos < r.records.length) {
      const d = decodeRecords(r.records, pos);
      for (const a of aborted) if (a.firstOffset <= d.header.baseOffset) aborting.add(a.producerId);
      if (d.header.isControl) aborting.delete(d.header.producerId);
      else if (!(d.header.isTransactional && aborting.has(d.header.producerId))) {
        for (const rec of d.records) if (rec.offset >= offset) out.push(rec.value?.toString() ?? '');
      }
      pos += d.header.sizeInBytes;
    }
    offset = r.nextOffset;
  }
  return out;
}

let net: RaftNet<RaftPartition>;
afterEach(async () => {
  await net.close();
});

describe('transactions on a replicated partition', () => {
  it('holds the last stable offset at an open transaction and indexes aborts', async () => {
    net = makeNet();
    for (const id of [0, 1, 2]) await net.start(id);
    const leader = (await leaderOf(net)).app;
    await leader.append(data(['plain-0']), -1);
    const a: Producer = { id: 100, epoch: 0, seq: 0 };
    const b: Producer = { id: 200, epoch: 0, seq: 0 };
    await leader.append(data(['a-0', 'a-1'], a), -1, TXN);
    await leader.append(data(['b-0'], b), -1, TXN);
    await leader.append(data(['plain-1']), -1);
    await net.until(() => leader.applied > 0 && leader.highWatermark() === 5, 'everything committed');
    // a's transaction started at offset 1: nothing from there on is stable.
    expect(leader.lastStableOffset()).toBe(1);
    expect(leader.openTransactions()).toEqual([
      { producerId: 100, firstOffset: 1 },
      { producerId: 200, firstOffset: 3 },
    ]);
    expect(await leader.writeTxnMarker({ producerId: 100, producerEpoch: 0, coordinatorEpoch: 1, commit: false })).toBe(5);
    await net.until(() => leader.lastStableOffset() === 3, 'stable up to b');
    expect(leader.abortedTransactions(0, 10)).toEqual([{ producerId: 100, firstOffset: 1 }]);
    expect(leader.abortedTransactions(6, 10)).toEqual([]);
    await leader.writeTxnMarker({ producerId: 200, producerEpoch: 0, coordinatorEpoch: 1, commit: true });
    await net.until(() => leader.lastStableOffset() === leader.highWatermark(), 'all stable');
    expect(await readCommitted(leader)).toEqual(['plain-0', 'b-0', 'plain-1']);
    // A stale coordinator, a stale epoch and a plain batch during a transaction are refused.
    await expect(leader.writeTxnMarker({ producerId: 200, producerEpoch: 0, coordinatorEpoch: 0, commit: true })).rejects.toMatchObject({
      code: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
    });
    await leader.append(data(['b-1'], b), -1, TXN);
    await expect(leader.append(data(['b-plain'], b, false), -1)).rejects.toMatchObject({ code: ErrorCode.INVALID_TXN_STATE });
    await expect(leader.append(data(['no-id'], { id: 300, epoch: 0, seq: 0 }), -1)).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST });
  });

  it('a read_committed long poll wakes when a marker makes data stable, not before', async () => {
    net = makeNet();
    for (const id of [0, 1, 2]) await net.start(id);
    const leader = (await leaderOf(net)).app;
    const p: Producer = { id: 7, epoch: 0, seq: 0 };
    await leader.append(data(['x'], p), -1, TXN);
    const abort = new AbortController();
    let woke = false;
    const waiting = leader.waitForData(0, 30_000, abort.signal, 1).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(woke).toBe(false);
    await leader.writeTxnMarker({ producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, commit: true });
    await waiting;
    expect(woke).toBe(true);
    abort.abort();
  });

  it('keeps open transactions and the aborted index across a leader failover and a restart', async () => {
    net = makeNet();
    for (const id of [0, 1, 2]) await net.start(id);
    const first = await leaderOf(net);
    const p: Producer = { id: 11, epoch: 3, seq: 0 };
    const q: Producer = { id: 12, epoch: 0, seq: 0 };
    await first.app.append(data(['p-0', 'p-1'], p), -1, TXN);
    await first.app.writeTxnMarker({ producerId: 11, producerEpoch: 3, coordinatorEpoch: 1, commit: false });
    await first.app.append(data(['q-0'], q), -1, TXN);
    await first.app.append(data(['plain']), -1);
    await net.kill(first.id);
    const second = await leaderOf(net);
    await net.until(() => second.app.highWatermark() >= 5, 'new leader caught up');
    expect(second.app.lastStableOffset()).toBe(3);
    expect(second.app.abortedTransactions(0, 100)).toEqual([{ producerId: 11, firstOffset: 0 }]);
    // The zombie of producer 11 (epoch 3) is fenced once the coordinator's abort bumped the epoch.
    await second.app.writeTxnMarker({ producerId: 11, producerEpoch: 4, coordinatorEpoch: 2, commit: false });
    await expect(second.app.append(data(['zombie'], { id: 11, epoch: 3, seq: 2 }), -1, TXN)).rejects.toMatchObject({ code: ErrorCode.INVALID_PRODUCER_EPOCH });
    await net.restart(first.id);
    for (const id of [0, 1, 2]) {
      const b = net.brokers.get(id) as Broker;
      await net.restart(id);
      const again = net.brokers.get(id) as Broker;
      await net.until(() => again.app.applied >= 5, `broker ${b.id} applied again`);
      expect(again.app.openTransactions()).toEqual([{ producerId: 12, firstOffset: 3 }]);
      expect(again.app.abortedTransactions(0, 100)).toEqual([{ producerId: 11, firstOffset: 0 }]);
    }
    const leader = await leaderOf(net);
    await leader.app.writeTxnMarker({ producerId: 12, producerEpoch: 0, coordinatorEpoch: 3, commit: true });
    await net.until(() => leader.app.lastStableOffset() === leader.app.highWatermark(), 'all stable');
    expect(await readCommitted(leader.app)).toEqual(['q-0', 'plain']);
  });

  it('a follower that gets a snapshot taken inside a transaction pairs its marker with the right first offset', async () => {
    net = makeNet({ segmentBytes: 2048, retentionBytes: 4096 });
    for (const id of [0, 1, 2]) await net.start(id);
    const leader = await leaderOf(net);
    const follower = [...net.brokers.values()].find((b) => b !== leader) as Broker;
    await net.kill(follower.id);
    const filler: Producer = { id: 50, epoch: 0, seq: 0 };
    const open: Producer = { id: 60, epoch: 0, seq: 0 };
    for (let i = 0; i < 10; i++) await leader.app.append(data([`f${i}`.padEnd(400, '.')], filler, false), -1);
    const txnStart = leader.app.highWatermark();
    await leader.app.append(data(['t-0'.padEnd(400, '.')], open), -1, TXN);
    for (let i = 10; i < 30; i++) await leader.app.append(data([`f${i}`.padEnd(400, '.')], filler, false), -1);
    await net.until(() => leader.app.applied >= 31, 'applied');
    expect(await leader.app.applyRetention(Date.now())).toBeGreaterThan(0);
    // The snapshot lies inside the still open transaction; retention took its first batch.
    expect(leader.app.storage.snapshotOffset()).toBeGreaterThan(txnStart);
    expect(leader.app.lastStableOffset()).toBe(leader.app.logStartOffset());
    const back = await net.restart(follower.id);
    await net.until(() => back.app.applied === leader.app.applied, 'caught up through a snapshot', 20_000);
    expect(back.app.openTransactions()).toEqual([{ producerId: 60, firstOffset: txnStart }]);
    await leader.app.writeTxnMarker({ producerId: 60, producerEpoch: 0, coordinatorEpoch: 0, commit: false });
    await net.until(() => back.app.abortedTransactions(0, 1e9).length === 1, 'the follower indexed the abort');
    expect(back.app.abortedTransactions(0, 1e9)).toEqual([{ producerId: 60, firstOffset: txnStart }]);
  });

  it('an unknown transaction verification refuses the produce with the verifier\'s error', async () => {
    net = makeNet();
    for (const id of [0, 1, 2]) await net.start(id);
    const leader = (await leaderOf(net)).app;
    const asked: string[] = [];
    leader.txnVerifier = async (tid, pid, epoch, topic, partition) => {
      asked.push(`${tid}/${pid}/${epoch}/${topic}-${partition}`);
      return pid === 1 ? null : { code: ErrorCode.TRANSACTION_ABORTABLE, message: 'not in the transaction' };
    };
    const ok: Producer = { id: 1, epoch: 0, seq: 0 };
    await leader.append(data(['ok-0'], ok), -1, TXN);
    // Open now: the next batch is not verified again.
    await leader.append(data(['ok-1'], ok), -1, TXN);
    const err = await leader.append(data(['stray'], { id: 2, epoch: 0, seq: 0 }), -1, TXN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).code).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect(asked).toEqual(['tx/1/0/t-0', 'tx/2/0/t-0']);
    expect(leader.openTransactions()).toEqual([{ producerId: 1, firstOffset: 0 }]);
  });
});
