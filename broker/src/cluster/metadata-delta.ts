/**
 * What changed between two metadata images, as one broker must act on it: the publisher applies
 * each committed batch of records, diffs the previous and next image with metadataDelta, and
 * drives local effects from the result (open, close and delete replicas; tell the coordinators
 * about leadership; refresh what Metadata answers). Pure. Unchanged topics, partitions and
 * brokers are shared by identity between images, so the diff skips them cheaply.
 */
import type { BrokerRegistration, MetadataState, PartitionImage, TopicImage } from './metadata-state.js';
import type { PartitionRef } from './reassignment.js';

export interface LocalPartition extends PartitionRef {
  /** The partition as it is now: replicas (Raft peers, including ones being added or removed), leader, epoch. */
  readonly image: PartitionImage;
}

export interface PartitionChange extends PartitionRef {
  /** null for a partition that did not exist before (new topic or new partition). */
  readonly previous: PartitionImage | null;
  readonly current: PartitionImage;
}

export interface DeletedTopic {
  readonly topic: string;
  readonly topicId: string;
  /** The partitions this broker held, whose data it must delete. */
  readonly localPartitions: readonly number[];
}

export interface BrokerChange {
  readonly previous: BrokerRegistration | null;
  readonly current: BrokerRegistration;
}

export interface MetadataDelta {
  /** This broker became a replica (new topic, new partition, or added by a reassignment): create and start it. */
  readonly open: readonly LocalPartition[];
  /** This broker is no longer a replica of a partition that still exists: stop it and remove its data. */
  readonly close: readonly PartitionRef[];
  /** Topics deleted (or replaced by a new topic of the same name, whose partitions are then in `open`). */
  readonly deleted: readonly DeletedTopic[];
  /** Partitions hosted here before and after whose replica set changed: the Raft group's membership to reconcile. */
  readonly reassigned: readonly LocalPartition[];
  /** Partitions anywhere whose replicas, leader, epoch or ISR changed, or that are new. */
  readonly partitions: readonly PartitionChange[];
  /** The image says this broker leads these now and did not before (coordinators' onElection). */
  readonly elected: readonly (PartitionRef & { readonly leaderEpoch: number })[];
  /** The image says this broker led these and no longer does, or they left it (coordinators' onResignation). */
  readonly resigned: readonly PartitionRef[];
  /** Topics that still exist and whose config overrides changed (log configs to refresh). */
  readonly configsChanged: readonly string[];
  /** Brokers registered, re-registered, or whose state or maintenance changed. */
  readonly brokers: readonly BrokerChange[];
  readonly metadataVotersChanged: boolean;
  readonly producerIdsChanged: boolean;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Nothing to do for anybody. */
export function isEmptyDelta(d: MetadataDelta): boolean {
  return (
    d.open.length + d.close.length + d.deleted.length + d.reassigned.length + d.partitions.length + d.configsChanged.length + d.brokers.length === 0 &&
    !d.metadataVotersChanged &&
    !d.producerIdsChanged
  );
}

/** Topics of `prev` that `next` no longer has: deleted, or replaced by a new topic of the same name. */
export function topicsGone(prev: MetadataState, next: MetadataState): string[] {
  if (prev.topics === next.topics) return [];
  const out: string[] = [];
  for (const [name, t] of prev.topics) if (next.topics.get(name)?.topicId !== t.topicId) out.push(name);
  return out;
}

export function metadataDelta(prev: MetadataState, next: MetadataState, localBrokerId: number): MetadataDelta {
  const open: LocalPartition[] = [];
  const close: PartitionRef[] = [];
  const deleted: DeletedTopic[] = [];
  const reassigned: LocalPartition[] = [];
  const partitions: PartitionChange[] = [];
  const elected: (PartitionRef & { leaderEpoch: number })[] = [];
  const resigned: PartitionRef[] = [];
  const configsChanged: string[] = [];
  const hosts = (p: PartitionImage): boolean => p.replicas.includes(localBrokerId);
  const leads = (p: PartitionImage): boolean => p.leader === localBrokerId;

  const gone = (t: TopicImage): void => {
    const local = t.partitionImages.flatMap((p, i) => (hosts(p) ? [i] : []));
    deleted.push({ topic: t.name, topicId: t.topicId, localPartitions: local });
    t.partitionImages.forEach((p, partition) => {
      if (leads(p)) resigned.push({ topic: t.name, topicId: t.topicId, partition });
    });
  };

  const names = [...new Set([...prev.topics.keys(), ...next.topics.keys()])].sort(byName);
  for (const name of names) {
    const before = prev.topics.get(name);
    const after = next.topics.get(name);
    if (before === after) continue;
    if (before && (!after || after.topicId !== before.topicId)) gone(before);
    if (!after) continue;
    const same = before && before.topicId === after.topicId ? before : undefined;
    if (same && !sameConfigs(same.configs, after.configs)) configsChanged.push(name);
    if (same && same.partitionImages === after.partitionImages) continue;
    after.partitionImages.forEach((current, partition) => {
      const previous = same?.partitionImages[partition] ?? null;
      if (previous === current) return;
      const ref = { topic: name, topicId: after.topicId, partition };
      if (
        previous &&
        previous.leader === current.leader &&
        previous.leaderEpoch === current.leaderEpoch &&
        sameList(previous.replicas, current.replicas) &&
        sameList(previous.isr, current.isr) &&
        sameList(previous.addingReplicas, current.addingReplicas) &&
        sameList(previous.removingReplicas, current.removingReplicas)
      ) {
        return;
      }
      partitions.push({ ...ref, previous, current });
      const wasHere = previous !== null && hosts(previous);
      const isHere = hosts(current);
      if (isHere && !wasHere) open.push({ ...ref, image: current });
      else if (wasHere && !isHere) close.push(ref);
      else if (wasHere && isHere && previous && !sameList(previous.replicas, current.replicas)) reassigned.push({ ...ref, image: current });
      const ledBefore = previous !== null && leads(previous);
      const leadsNow = isHere && leads(current);
      if (leadsNow && (!ledBefore || (previous && previous.leaderEpoch !== current.leaderEpoch))) {
        elected.push({ ...ref, leaderEpoch: current.leaderEpoch });
      } else if (ledBefore && !leadsNow) {
        resigned.push(ref);
      }
    });
  }

  const brokers: BrokerChange[] = [];
  if (prev.brokers !== next.brokers) {
    for (const id of [...next.brokers.keys()].sort((a, b) => a - b)) {
      const current = next.brokers.get(id) as BrokerRegistration;
      const previous = prev.brokers.get(id) ?? null;
      if (previous !== current) brokers.push({ previous, current });
    }
  }

  return {
    open,
    close,
    deleted,
    reassigned,
    partitions,
    elected,
    resigned,
    configsChanged,
    brokers,
    metadataVotersChanged: !sameList(prev.metadataVoters, next.metadataVoters),
    producerIdsChanged: prev.nextProducerId !== next.nextProducerId,
  };
}
