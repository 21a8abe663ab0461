import { brokerSetting } from '../api/broker-setting-check.js';
import type { ChronikCluster } from '../api/types.js';
import { ADMIN_PORT, ADMIN_TOKEN_DIR, ADMIN_TOKEN_KEY, CONFIG_DIR, DATA_DIR, HTTP_PORT, KAFKA_PORT, PODINFO_DIR, RACK_ANNOTATION, RAFT_PORT, names } from './names.js';

/**
 * The broker settings the operator gives every pod itself, from the cluster spec and the pod's
 * own facts; spec.brokerConfig may not set them (the broker would refuse a setting given twice).
 */
export const OPERATOR_SETTINGS = [
  'node.id',
  'log.dirs',
  'chronik.kafka.listen',
  'chronik.kafka.advertised',
  'chronik.http.listen',
  'chronik.admin.listen',
  'chronik.admin.token.file',
  'chronik.raft.listen',
  'chronik.raft.advertised',
  'chronik.initial.voters',
  'chronik.cluster.id',
  'broker.rack',
] as const;
export type OperatorSetting = (typeof OPERATOR_SETTINGS)[number];

/** The command-line words that set a registered setting: its own flag, else --config. */
function arg(name: OperatorSetting, shellValue: string): string {
  const facts = brokerSetting(name);
  if (!facts) throw new Error(`the broker does not register ${name}; regenerate operator/src/api/broker-settings.ts`);
  return facts.flag ? `--${facts.flag} ${shellValue}` : `--config ${name}=${shellValue}`;
}

/**
 * The broker container's start script (POSIX sh). A StatefulSet gives every pod the same
 * template, so per-pod facts are looked up at start: the broker id from the operator's
 * ConfigMap (never computed from the ordinal), the founding metadata voters from the same
 * ConfigMap (written once when the cluster is created; a broker outside them joins through
 * them), the rack from an annotation the operator copies from the node. The cluster id is the
 * resource's uid, so it never depends on which brokers founded it. It ends in `exec` so tini's
 * signals reach the broker directly.
 */
export function brokerStartScript(c: ChronikCluster, clusterDomain = 'cluster.local'): string {
  const ns = c.metadata.namespace;
  const headless = names.headlessService(c);
  const kafkaPort = c.spec.listeners?.internal?.port ?? KAFKA_PORT;
  const lines = [
    'set -eu',
    `id=$(sed -n "s/^$HOSTNAME=//p" ${CONFIG_DIR}/broker-ids)`,
    'if [ -z "$id" ]; then echo "chronik: no broker id assigned to pod $HOSTNAME yet" >&2; exit 64; fi',
    `voters=$(cat ${CONFIG_DIR}/initial-voters)`,
    'if [ -z "$voters" ]; then echo "chronik: no initial voters published yet" >&2; exit 64; fi',
    [
      'set -- broker',
      arg('node.id', '"$id"'),
      arg('log.dirs', `${DATA_DIR}/data`),
      arg('chronik.kafka.listen', `0.0.0.0:${kafkaPort}`),
      arg('chronik.kafka.advertised', `"$HOSTNAME.${headless}.${ns}.svc.${clusterDomain}:${kafkaPort}"`),
      arg('chronik.http.listen', `0.0.0.0:${HTTP_PORT}`),
      // The admin service the operator's own calls (operator/src/brokers) reach on every pod.
      arg('chronik.admin.listen', `0.0.0.0:${ADMIN_PORT}`),
      arg('chronik.admin.token.file', `${ADMIN_TOKEN_DIR}/${ADMIN_TOKEN_KEY}`),
      arg('chronik.raft.listen', `0.0.0.0:${RAFT_PORT}`),
      arg('chronik.raft.advertised', `"$HOSTNAME.${headless}.${ns}.svc.${clusterDomain}:${RAFT_PORT}"`),
      arg('chronik.initial.voters', '"$voters"'),
      arg('chronik.cluster.id', clusterIdOf(c)),
    ].join(' '),
  ];
  if (c.spec.rackAwareness) {
    lines.push(
      // The operator annotates the pod once it is scheduled; the downward API file follows.
      'i=0; rack=""',
      `while [ -z "$rack" ]; do rack=$(sed -n 's|^${RACK_ANNOTATION.replace('.', '\\.')}="\\(.*\\)"$|\\1|p' ${PODINFO_DIR}/annotations); [ -n "$rack" ] && break; i=$((i+1)); if [ $i -ge 300 ]; then echo "chronik: rack annotation never appeared" >&2; exit 65; fi; sleep 1; done`,
      `set -- "$@" ${arg('broker.rack', '"$rack"')}`,
    );
  }
  lines.push(
    `while IFS= read -r kv || [ -n "$kv" ]; do [ -n "$kv" ] && set -- "$@" --config "$kv"; done < ${CONFIG_DIR}/broker.properties`,
    'exec chronik "$@"',
  );
  return lines.join('\n') + '\n';
}

/** The cluster id brokers are started with: the resource's uid, which never changes. */
export function clusterIdOf(c: ChronikCluster): string {
  if (!c.metadata.uid) throw new Error(`ChronikCluster ${c.metadata.namespace}/${c.metadata.name} has no uid`);
  return c.metadata.uid;
}
