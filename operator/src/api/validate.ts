import type { ChronikCluster } from './types.js';

const QUANTITY = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/**
 * The operator's own check of a ChronikCluster, naming the offending field. The CRD's CEL
 * rules reject the same things at admission; this guards objects created while an older CRD
 * (or none of its rules) was installed.
 */
export function validateCluster(c: ChronikCluster): string[] {
  const errs: string[] = [];
  const s = c.spec as Partial<ChronikCluster['spec']> | undefined;
  if (!s || typeof s !== 'object') return ['spec: required'];
  if (!Number.isInteger(s.replicas) || (s.replicas ?? 0) < 1) errs.push('spec.replicas: must be an integer >= 1');
  if (!s.storage || typeof s.storage.size !== 'string' || !QUANTITY.test(s.storage.size) || parseFloat(s.storage.size) <= 0) {
    errs.push('spec.storage.size: must be a positive quantity such as 10Gi');
  }
  const td = s.topicDefaults ?? {};
  if (td.replicationFactor !== undefined && s.replicas !== undefined && td.replicationFactor > s.replicas) {
    errs.push('spec.topicDefaults.replicationFactor: must not exceed spec.replicas');
  }
  if (td.minInsyncReplicas !== undefined && td.replicationFactor !== undefined && td.minInsyncReplicas > td.replicationFactor) {
    errs.push('spec.topicDefaults.minInsyncReplicas: must not exceed replicationFactor');
  }
  for (const [k, v] of Object.entries(s.brokerConfig ?? {})) {
    // The broker CLI's rule for --config names; anything else would crash-loop the broker.
    if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(k)) errs.push(`spec.brokerConfig.${k}: key must be a Kafka config name (lowercase words joined by . _ -)`);
    if (typeof v !== 'string') errs.push(`spec.brokerConfig.${k}: value must be a string`);
  }
  const ext = s.listeners?.external;
  if (ext && ext.advertisedHosts && ext.advertisedHosts.length > 0 && s.replicas !== undefined && ext.advertisedHosts.length < s.replicas) {
    errs.push('spec.listeners.external.advertisedHosts: needs one entry per broker');
  }
  if (c.metadata.name.length > 45) errs.push('metadata.name: at most 45 characters (it prefixes pod DNS names)');
  return errs;
}
