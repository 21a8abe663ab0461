/**
 * The properties every metadata image must have, whatever records built it. applyMetadataRecord
 * keeps them; a decoded snapshot is checked against them; the simulator can assert them after
 * every applied entry.
 */
import { targetReplicas, type MetadataState } from './metadata-state.js';

/** Descriptions of every broken property (empty when the image is sound). */
export function imageViolations(state: MetadataState): string[] {
  const out: string[] = [];
  const removed = (id: number): boolean => state.brokers.get(id)?.state === 'removed';
  for (const [id, b] of state.brokers) {
    if (b.nodeId !== id) out.push(`broker ${id} is registered as ${b.nodeId}`);
    if (b.state === 'removed' && b.maintenance) out.push(`broker ${id} is removed but in maintenance`);
  }
  if (new Set(state.metadataVoters).size !== state.metadataVoters.length) out.push(`metadata voters [${state.metadataVoters.join(',')}] repeat a broker`);
  for (const id of state.metadataVoters) if (removed(id)) out.push(`removed broker ${id} is a metadata voter`);
  const ids = new Set<string>();
  const seqs = new Set<number>();
  for (const [name, t] of state.topics) {
    if (seqs.has(t.seq) || t.seq < 1 || t.seq >= state.nextTopicSeq) out.push(`topic ${name} has sequence ${t.seq} (next ${state.nextTopicSeq}, or used twice)`);
    seqs.add(t.seq);
    if (t.name !== name) out.push(`topic ${name} is stored as ${t.name}`);
    if (ids.has(t.topicId)) out.push(`topic id ${t.topicId} is used twice`);
    ids.add(t.topicId);
    if (t.partitionImages.length !== t.partitions) out.push(`${name} has ${t.partitions} partitions but ${t.partitionImages.length} images`);
    t.partitionImages.forEach((p, i) => {
      const at = `${name}-${i}`;
      if (p.replicas.length === 0 || new Set(p.replicas).size !== p.replicas.length) out.push(`${at}: bad replicas [${p.replicas.join(',')}]`);
      if (targetReplicas(p).length !== t.replicationFactor) out.push(`${at}: target [${targetReplicas(p).join(',')}] is not ${t.replicationFactor} replicas`);
      for (const [what, list] of [['isr', p.isr], ['adding', p.addingReplicas], ['removing', p.removingReplicas]] as const) {
        for (const id of list) if (!p.replicas.includes(id)) out.push(`${at}: ${what} broker ${id} is not a replica`);
      }
      for (const id of p.addingReplicas) if (p.removingReplicas.includes(id)) out.push(`${at}: broker ${id} is both added and removed`);
      for (const id of p.replicas) if (removed(id)) out.push(`${at}: removed broker ${id} is a replica`);
      if (p.leader < -1 || p.leaderEpoch < 0) out.push(`${at}: leader ${p.leader} epoch ${p.leaderEpoch}`);
    });
  }
  return out;
}
