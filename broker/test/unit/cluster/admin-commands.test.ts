import { describe, expect, it } from 'vitest';
import {
  adminStatusOf,
  beginDecommission,
  cancelDecommission,
  cancelPartitionReassignment,
  completeDecommission,
  completePartitionReassignment,
  decommissionStep,
  reassignPartition,
  reconcileMetadataVoters,
} from '../../../src/cluster/admin-commands.js';
import type { CommandResult } from '../../../src/cluster/controller-commands.js';
import type { MetadataRecord } from '../../../src/cluster/metadata-records.js';
import { applyMetadataRecord, hostsReplicas, reassignmentInProgress, type MetadataState } from '../../../src/cluster/metadata-state.js';
import { desiredVoterCount, planMetadataVoters } from '../../../src/cluster/metadata-voters.js';
import { beginReassignment, cancelReassignment, completeReassignment } from '../../../src/cluster/reassignment.js';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { applyAll, cluster, registration, withTopic } from './fixtures.js';

function ok<T>(r: CommandResult<T>): { records: readonly MetadataRecord[]; value: T } {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r;
}

function code<T>(r: CommandResult<T>): number {
  if (r.ok) throw new Error('expected an error');
  return r.error.code;
}

/** Completes every running reassignment, as the partitions' leaders would once caught up. */
function finishMoves(s: MetadataState): MetadataState {
  for (const t of s.topics.values()) {
    t.partitionImages.forEach((p, i) => {
      if (reassignmentInProgress(p)) s = applyAll(s, ok(completePartitionReassignment(s, t.name, i)).records);
    });
  }
  return s;
}

describe('reassignment records', () => {
  const p = { replicas: [3, 1, 2], leader: 1, leaderEpoch: 4, isr: [3, 1, 2], addingReplicas: [], removingReplicas: [] };

  it('begin lists the target then the removed replicas; complete keeps the target; cancel goes back', () => {
    const begin = beginReassignment('t', 0, p, [4, 1, 2]);
    expect(begin).toEqual({ type: 'assign-partition', topic: 't', partition: 0, replicas: [4, 1, 2, 3], addingReplicas: [4], removingReplicas: [3] });
    const during = { ...p, replicas: begin.replicas, addingReplicas: begin.addingReplicas, removingReplicas: begin.removingReplicas };
    expect(completeReassignment('t', 0, during).replicas).toEqual([4, 1, 2]);
    expect(cancelReassignment('t', 0, during).replicas).toEqual([1, 2, 3]);
    expect(beginReassignment('t', 0, p, [1, 3, 2])).toMatchObject({ replicas: [1, 3, 2], addingReplicas: [], removingReplicas: [] });
  });
});

describe('decommission', () => {
  const start = () => withTopic(cluster({ 1: 'a', 2: 'b', 3: 'c', 4: 'a', 5: 'b' }, [1, 2, 3]), 't', [[1, 2, 3], [2, 3, 1], [3, 1, 2], [4, 5, 1]]);

  it('runs to the end in steps, never more moves at once than allowed, then removes the broker', () => {
    let s = start();
    s = applyAll(s, ok(beginDecommission(s, 1)).records);
    expect(s.brokers.get(1)!.state).toBe('decommissioning');
    const phases: string[] = [];
    for (let round = 0; round < 20; round++) {
      const step = ok(decommissionStep(s, 1, 2));
      phases.push(step.value.phase);
      if (step.value.phase === 'ready-to-remove') break;
      expect(step.value.movesInProgress).toBeLessThanOrEqual(2);
      s = applyAll(s, step.records);
      s = finishMoves(s);
    }
    expect(phases).toEqual(['moving-replicas', 'moving-replicas', 'leaving-metadata', 'ready-to-remove']);
    expect(hostsReplicas(s, 1)).toBe(false);
    expect(s.metadataVoters).toEqual([2, 3, 4]);
    s = applyAll(s, ok(completeDecommission(s, 1)).records);
    expect(s.brokers.get(1)!.state).toBe('removed');
    for (const p of s.topics.get('t')!.partitionImages) expect(new Set(p.replicas).size).toBe(3);
  });

  it('cancels: the broker is active again and running moves off it are rolled back', () => {
    let s = start();
    s = applyAll(s, ok(beginDecommission(s, 1)).records);
    s = applyAll(s, ok(decommissionStep(s, 1, 1)).records);
    const moving = s.topics.get('t')!.partitionImages.findIndex(reassignmentInProgress);
    expect(moving).toBeGreaterThanOrEqual(0);
    s = applyAll(s, ok(cancelDecommission(s, 1)).records);
    expect(s.brokers.get(1)!.state).toBe('active');
    expect(reassignmentInProgress(s.topics.get('t')!.partitionImages[moving]!)).toBe(false);
    expect(s.topics.get('t')!.partitionImages[moving]!.replicas).toContain(1);
    expect(ok(cancelDecommission(s, 1)).records).toEqual([]);
  });

  it('refuses what cannot be done, with errors the admin service maps to gRPC statuses', () => {
    const small = withTopic(cluster([1, 2, 3]), 't', [[1, 2, 3]]);
    const refused = beginDecommission(small, 1);
    expect(code(refused)).toBe(ErrorCode.POLICY_VIOLATION);
    if (!refused.ok) expect(adminStatusOf(refused.error)).toBe('failed-precondition');
    const unknown = beginDecommission(small, 9);
    if (!unknown.ok) expect(adminStatusOf(unknown.error)).toBe('not-found');
    expect(code(decommissionStep(small, 1, 1))).toBe(ErrorCode.POLICY_VIOLATION);
    const s = applyAll(start(), ok(beginDecommission(start(), 1)).records);
    expect(code(completeDecommission(s, 1))).toBe(ErrorCode.POLICY_VIOLATION);
    expect(adminStatusOf(new KafkaError(ErrorCode.INVALID_REQUEST, 'x'))).toBe('invalid-argument');
  });
});

describe('partition reassignment commands', () => {
  const s = withTopic(cluster([1, 2, 3, 4]), 't', [[1, 2]]);

  it('starts, completes and cancels, refusing what does not fit', () => {
    const moving = applyAll(s, ok(reassignPartition(s, 't', 0, [4, 2])).records);
    expect(moving.topics.get('t')!.partitionImages[0]).toMatchObject({ replicas: [4, 2, 1], addingReplicas: [4], removingReplicas: [1] });
    expect(code(reassignPartition(moving, 't', 0, [3, 2]))).toBe(ErrorCode.REASSIGNMENT_IN_PROGRESS);
    expect(applyAll(moving, ok(completePartitionReassignment(moving, 't', 0)).records).topics.get('t')!.partitionImages[0]!.replicas).toEqual([4, 2]);
    expect(applyAll(moving, ok(cancelPartitionReassignment(moving, 't', 0)).records).topics.get('t')!.partitionImages[0]!.replicas).toEqual([2, 1]);
    expect(code(completePartitionReassignment(s, 't', 0))).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
    expect(code(reassignPartition(s, 't', 0, [1]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(code(reassignPartition(s, 't', 0, [1, 1]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(code(reassignPartition(s, 't', 0, [1, 9]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(code(reassignPartition(s, 't', 3, [1, 2]))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(ok(reassignPartition(s, 't', 0, [1, 2])).records).toEqual([]);
  });
});

describe('metadata voter intent', () => {
  it('grows with the broker count: all of 1-2, three from 3, five from 7', () => {
    expect([1, 2, 3, 6, 7, 20].map(desiredVoterCount)).toEqual([1, 2, 3, 3, 5, 5]);
    let s = cluster([1], [1]);
    expect(planMetadataVoters(s)).toBeNull();
    s = applyAll(s, [registration(2, 'x'), registration(3, 'x'), registration(4, 'y')]);
    // Rack y is not among the voters yet, so broker 4 goes before broker 3.
    expect(planMetadataVoters(s)).toEqual([1, 2, 4]);
    s = applyAll(s, ok(reconcileMetadataVoters(s)).records);
    expect(ok(reconcileMetadataVoters(s)).records).toEqual([]);
    s = applyAll(s, [5, 6, 7].map((id) => registration(id)));
    expect(planMetadataVoters(s)).toHaveLength(5);
  });

  it('replaces a leaving voter only when a learner can take its seat', () => {
    let s = cluster([1, 2, 3], [1, 2, 3]);
    s = applyMetadataRecord(s, { type: 'set-broker-state', nodeId: 3, state: 'decommissioning' });
    expect(planMetadataVoters(s)).toBeNull();
    s = applyMetadataRecord(s, registration(4));
    expect(planMetadataVoters(s)).toEqual([1, 2, 4]);
  });

  it('keeps initial voters that have not registered yet', () => {
    const s = cluster([1], [1, 2, 3]);
    expect(planMetadataVoters(s)).toBeNull();
  });
});
