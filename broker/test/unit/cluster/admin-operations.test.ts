/** The controller's admin operations that are pure: cancelling a decommission without ever losing a vote. */
import { describe, expect, it } from 'vitest';
import { beginDecommission, completePartitionReassignment, decommissionStep } from '../../../src/cluster/admin-commands.js';
import { revertDecommission } from '../../../src/cluster/admin-operations.js';
import { reassignmentInProgress, targetReplicas, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { applyAll, cluster, withTopic } from './fixtures.js';

function records<T>(r: { ok: true; records: readonly import('../../../src/cluster/metadata-records.js').MetadataRecord[]; value: T } | { ok: false; error: Error }) {
  if (!r.ok) throw r.error;
  return r.records;
}

describe('revertDecommission', () => {
  const base = withTopic(cluster([0, 1, 2, 3]), 't', [[0, 1, 2], [1, 2, 3], [2, 0, 3]]);

  function decommissioning(state: MetadataState): MetadataState {
    let s = applyAll(state, records(beginDecommission(state, 0)));
    s = applyAll(s, records(decommissionStep(s, 0, 1)));
    return s;
  }

  it('turns a running move around instead of dropping it: the replacement leaves, the broker comes back as the target', () => {
    const s = decommissioning(base);
    const moving = s.topics.get('t')?.partitionImages[0];
    expect(moving).toMatchObject({ replicas: [3, 1, 2, 0], addingReplicas: [3], removingReplicas: [0] });
    const back = applyAll(s, records(revertDecommission(s, 0)));
    expect(back.brokers.get(0)?.state).toBe('active');
    const p = back.topics.get('t')?.partitionImages[0];
    // Both still host it until the partition's leader has the broker voting again.
    expect(p).toMatchObject({ replicas: [1, 2, 0, 3], addingReplicas: [0], removingReplicas: [3] });
    expect(targetReplicas(p!)).toEqual([1, 2, 0]);
    // A partition not being moved is untouched.
    expect(back.topics.get('t')?.partitionImages[2]).toBe(s.topics.get('t')?.partitionImages[2]);
  });

  it('is idempotent on an active broker and refuses a removed or unknown one', () => {
    expect(revertDecommission(base, 0)).toEqual({ ok: true, records: [], value: undefined });
    expect(revertDecommission(base, 9)).toMatchObject({ ok: false });
    const emptied = withTopic(cluster([0, 1, 2, 3]), 'u', [[1, 2, 3]]);
    const removed = applyAll(emptied, [
      { type: 'set-broker-state', nodeId: 0, state: 'decommissioning' },
      { type: 'set-metadata-voters', voters: [1, 2, 3] },
      { type: 'set-broker-state', nodeId: 0, state: 'removed' },
    ]);
    const r = revertDecommission(removed, 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/already been removed/);
  });

  it('ends, once the turned-around move completes, with the broker hosting the partition again and nothing moving', () => {
    const s = decommissioning(base);
    const back = applyAll(s, records(revertDecommission(s, 0)));
    const done = applyAll(back, records(completePartitionReassignment(back, 't', 0)));
    const p = done.topics.get('t')?.partitionImages[0];
    expect(p?.replicas).toEqual([1, 2, 0]);
    expect(done.topics.get('t')?.partitionImages.some(reassignmentInProgress)).toBe(false);
  });
});
