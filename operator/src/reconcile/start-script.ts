import type { ChronikCluster } from '../api/types.js';
import { ADMIN_PORT, CONFIG_DIR, DATA_DIR, HTTP_PORT, KAFKA_PORT, PODINFO_DIR, RACK_ANNOTATION, names } from './names.js';

/**
 * The broker container's start script (POSIX sh). A StatefulSet gives every pod the same
 * template, so per-pod facts are looked up at start: the broker id from the operator's
 * ConfigMap (never computed from the ordinal), the rack from an annotation the operator copies
 * from the node. It ends in `exec` so tini's signals reach the broker directly.
 */
export function brokerStartScript(c: ChronikCluster, clusterDomain = 'cluster.local'): string {
  const ns = c.metadata.namespace;
  const headless = names.headlessService(c);
  const kafkaPort = c.spec.listeners?.internal?.port ?? KAFKA_PORT;
  const lines = [
    'set -eu',
    `id=$(sed -n "s/^$HOSTNAME=//p" ${CONFIG_DIR}/broker-ids)`,
    'if [ -z "$id" ]; then echo "chronik: no broker id assigned to pod $HOSTNAME yet" >&2; exit 64; fi',
    `set -- broker --node-id "$id" --data-dir ${DATA_DIR}/data --kafka-listen 0.0.0.0:${kafkaPort} --advertised "$HOSTNAME.${headless}.${ns}.svc.${clusterDomain}:${kafkaPort}" --http-listen 0.0.0.0:${HTTP_PORT} --config admin.listen=0.0.0.0:${ADMIN_PORT}`,
  ];
  if (c.spec.rackAwareness) {
    lines.push(
      // The operator annotates the pod once it is scheduled; the downward API file follows.
      'i=0; rack=""',
      `while [ -z "$rack" ]; do rack=$(sed -n 's|^${RACK_ANNOTATION.replace('.', '\\.')}="\\(.*\\)"$|\\1|p' ${PODINFO_DIR}/annotations); [ -n "$rack" ] && break; i=$((i+1)); if [ $i -ge 300 ]; then echo "chronik: rack annotation never appeared" >&2; exit 65; fi; sleep 1; done`,
      'set -- "$@" --rack "$rack"',
    );
  }
  if (c.spec.listeners?.external) {
    lines.push(
      `ext=$(sed -n "s/^$HOSTNAME=//p" ${CONFIG_DIR}/external-hosts)`,
      `if [ -n "$ext" ]; then set -- "$@" --config "external.listen=0.0.0.0:${c.spec.listeners.external.port ?? 9094}" --config "external.advertised=$ext"; fi`,
    );
  }
  lines.push(
    `while IFS= read -r kv || [ -n "$kv" ]; do [ -n "$kv" ] && set -- "$@" --config "$kv"; done < ${CONFIG_DIR}/broker.properties`,
    'exec chronik "$@"',
  );
  return lines.join('\n') + '\n';
}
