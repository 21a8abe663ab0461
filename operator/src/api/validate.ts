import { OPERATOR_SETTINGS } from '../reconcile/start-script.js';
import { brokerSetting, settingValueProblem } from './broker-setting-check.js';
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
  errs.push(...brokerConfigErrors(s.brokerConfig ?? {}, td));
  const ext = s.listeners?.external;
  if (ext && ext.advertisedHosts && ext.advertisedHosts.length > 0 && s.replicas !== undefined && ext.advertisedHosts.length < s.replicas) {
    errs.push('spec.listeners.external.advertisedHosts: needs one entry per broker');
  }
  if (c.metadata.name.length > 45) errs.push('metadata.name: at most 45 characters (it prefixes pod DNS names)');
  return errs;
}

/** spec.topicDefaults fields and the broker settings they become. */
const TOPIC_DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  partitions: 'num.partitions',
  replicationFactor: 'default.replication.factor',
  minInsyncReplicas: 'min.insync.replicas',
};

/**
 * spec.brokerConfig may hold only registered broker settings with values the broker takes, and
 * none the operator sets itself or that spec.topicDefaults already sets: any of those would stop
 * the broker at start (exit 2) or be silently overridden.
 */
function brokerConfigErrors(config: Readonly<Record<string, unknown>>, topicDefaults: Readonly<Record<string, unknown>>): string[] {
  const errs: string[] = [];
  const fromTopicDefaults = new Map(Object.entries(TOPIC_DEFAULT_SETTINGS).filter(([field]) => topicDefaults[field] !== undefined).map(([f, n]) => [n, f]));
  for (const [k, v] of Object.entries(config)) {
    const field = `spec.brokerConfig.${k}`;
    if (typeof v !== 'string') {
      errs.push(`${field}: value must be a string`);
      continue;
    }
    const facts = brokerSetting(k);
    if (!facts) {
      errs.push(`${field}: not a broker setting (the README's configuration table lists them)`);
      continue;
    }
    if ((OPERATOR_SETTINGS as readonly string[]).includes(k)) {
      errs.push(`${field}: set by the operator for every broker; it cannot be configured here`);
      continue;
    }
    const other = fromTopicDefaults.get(k);
    if (other !== undefined) {
      errs.push(`${field}: also set by spec.topicDefaults.${other}; set it in one place`);
      continue;
    }
    const problem = settingValueProblem(facts, v);
    if (problem !== null) errs.push(`${field}: '${v}' ${problem}`);
  }
  return errs;
}
