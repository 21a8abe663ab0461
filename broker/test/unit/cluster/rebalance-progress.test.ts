/** A rebalance run's counters as controllers keep them in the image, across a controller failover. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { completePartitionReassignment } from '../../../src/cluster/admin-commands.js';
import { AdminOperations } from '../../../src/cluster/admin-operations.js';
import type { MetadataRecord } from '../../../src/cluster/metadata-records.js';
import { applyMetadataRecord, reassignmentInProgress, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { placePartitions } from '../../../src/cluster/placement.js';
import type { StateMachineReplica } from '../../../src/replication/state-machine-replica.js';
import { applyAll, cluster, registration, withTopic } from './fixtures.js';

/** The metadata log as an array: a commit applies its records to the shared image at once. */
class MetadataLog {
  state: MetadataState;
  index = 0;
  constructor(state: MetadataState) {
    this.state = state;
  }
  commit(records: readonly MetadataRecord[]): Promise<number> {
    this.state = applyAll(this.state, records);
    return Promise.resolve(++this.index);
  }
  /** A controller on this log; rebalance passes touch no Raft state, so its replica is a stand-in. */
  controller(nodeId: number): AdminOperations {
    return new AdminOperations({
      nodeId,
      image: () => this.state,
      replica: { applied: this.index } as unknown as StateMachineReplica,
      commit: (r) => this.commit(r),
      logger: pino({ level: 'silent' }),
    });
  }
  /** Every running reassignment completes, as the partitions' leaders report once caught up. */
  finishMoves(limit = Infinity): number {
    let n = 0;
    for (const t of this.state.topics.values()) {
      t.partitionImages.forEach((p, partition) => {
        if (n >= limit || !reassignmentInProgress(p)) return;
        const r = completePartitionReassignment(this.state, t.name, partition);
        if (!r.ok) throw r.error;
        this.state = applyAll(this.state, r.records);
        n++;
      });
    }
    return n;
  }
}

function grown(): MetadataState {
  const placed = placePartitions({ brokers: [1, 2, 3].map((nodeId) => ({ nodeId, rack: null })), existing: [], partitions: 12, replicationFactor: 2 });
  if (!placed.ok) throw new Error(placed.message);
  const s = withTopic(cluster([1, 2, 3]), 't', placed.assignments);
  return applyMetadataRecord(applyMetadataRecord(s, registration(4)), registration(5));
}

describe('AdminOperations rebalance progress', () => {
  it('counts every planned move done when a new controller takes the run over after some moves finished unseen', async () => {
    const log = new MetadataLog(grown());
    const first = log.controller(1);
    await first.execute({ op: 'rebalance', leadersOnly: false, maxConcurrentMoves: 3 });
    await first.reconcile();
    const round = log.state.rebalance!;
    expect(round.planned).toBeGreaterThan(0);
    expect(round.moving?.length).toBeGreaterThan(0);
    // Two moves finish after the first controller's last pass; then it is gone.
    expect(log.finishMoves(2)).toBe(2);
    const next = log.controller(2);
    for (let pass = 0; pass < 50 && !log.state.rebalance!.finished; pass++) {
      await next.reconcile();
      log.finishMoves();
    }
    const end = log.state.rebalance!;
    expect(end).toMatchObject({ id: round.id, finished: true, moving: [] });
    expect(end.done).toBe(end.planned);
    expect(end.planned).toBeGreaterThan(round.planned);
  });

  it('takes over a run recorded before its moves were listed, counting the moves still running', async () => {
    const log = new MetadataLog(grown());
    const first = log.controller(1);
    await first.execute({ op: 'rebalance', leadersOnly: false, maxConcurrentMoves: 3 });
    await first.reconcile();
    const { moving: _moving, ...legacy } = log.state.rebalance!;
    await log.commit([{ type: 'set-rebalance', progress: legacy }]);
    const next = log.controller(2);
    for (let pass = 0; pass < 50 && !log.state.rebalance!.finished; pass++) {
      log.finishMoves();
      await next.reconcile();
    }
    expect(log.state.rebalance).toMatchObject({ finished: true });
    expect(log.state.rebalance!.done).toBeLessThanOrEqual(log.state.rebalance!.planned);
  });
});
