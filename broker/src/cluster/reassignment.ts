/**
 * The assign-partition records of a replica reassignment: begin (target replicas plus the ones
 * to remove), complete (the target alone) and cancel (back to the replicas it started from).
 * The partition's Raft leader drives the membership change in between: add each new replica as
 * a learner, promote it once caught up, then remove the old ones.
 */
import type { AssignPartitionRecord } from './metadata-records.js';
import { targetReplicas, type PartitionImage } from './metadata-state.js';

export interface PartitionRef {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
}

/**
 * Starts moving the partition to `target` (preferred leader first). With the same brokers in a
 * new order it is a preferred-leader change, complete at once. Call only when no reassignment
 * is in progress (the controller commands check).
 */
export function beginReassignment(topic: string, partition: number, current: PartitionImage, target: readonly number[]): AssignPartitionRecord {
  const now = targetReplicas(current);
  const adding = target.filter((id) => !now.includes(id));
  const removing = now.filter((id) => !target.includes(id));
  return {
    type: 'assign-partition',
    topic,
    partition,
    replicas: [...target, ...removing],
    addingReplicas: adding,
    removingReplicas: removing,
  };
}

/** The reassignment is done: the target replicas alone. */
export function completeReassignment(topic: string, partition: number, current: PartitionImage): AssignPartitionRecord {
  return { type: 'assign-partition', topic, partition, replicas: [...targetReplicas(current)], addingReplicas: [], removingReplicas: [] };
}

/**
 * Back to the replicas the reassignment started from. Their order is the order they hold in the
 * reassigning list (target order, then the removed ones), so the preferred leader may differ
 * from before the move; a rebalance restores the spread.
 */
export function cancelReassignment(topic: string, partition: number, current: PartitionImage): AssignPartitionRecord {
  return {
    type: 'assign-partition',
    topic,
    partition,
    replicas: current.replicas.filter((id) => !current.addingReplicas.includes(id)),
    addingReplicas: [],
    removingReplicas: [],
  };
}
