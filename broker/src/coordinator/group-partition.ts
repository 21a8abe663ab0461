/**
 * Which partition of `__consumer_offsets` owns a group (or transactional id). Computed exactly as
 * Kafka does - abs(String.hashCode(key)) % partitions - so a key keeps its owner if a cluster is
 * migrated, and so the coordinator for a key is the leader of that partition once it is replicated.
 */

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in int32 arithmetic. */
export function javaHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: Integer.MIN_VALUE has no positive int32 counterpart, so it maps to 0. */
function kafkaAbs(n: number): number {
  return n === -0x80000000 ? 0 : Math.abs(n);
}

export function partitionForKey(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions <= 0) throw new RangeError(`partitions must be positive, got ${partitions}`);
  return kafkaAbs(javaHashCode(key)) % partitions;
}
