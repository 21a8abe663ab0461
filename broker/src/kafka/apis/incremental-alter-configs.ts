/**
 * IncrementalAlterConfigs (44): changes a topic's overrides one operation at a time: SET,
 * DELETE (back to the broker default), and for list configs APPEND and SUBTRACT. Broker settings
 * are fixed at start-up and refused, naming the setting and where to set it.
 *
 * Versions: v1 is the flexible encoding of v0.
 *
 * Errors, per resource: INVALID_CONFIG (40) for an unknown config, a bad value, or APPEND /
 * SUBTRACT on a non-list config; INVALID_REQUEST (42) for a resource or key named twice, SET
 * without a value, an unknown operation, a read-only broker setting or a resource type without
 * configs; UNKNOWN_TOPIC_OR_PARTITION (3).
 */
import { topicConfigDefs } from '../../cluster/topic-configs.js';
import type { DataCluster } from '../../cluster/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { alterEach, ConfigOperation } from './configs-common.js';

function splitList(v: string | undefined): string[] {
  return v === undefined || v.trim() === '' ? [] : v.split(',').map((s) => s.trim());
}

/** Turns the operations into the merge `alterTopicConfigs` expects (null deletes). */
export function resolveIncrementalOps(
  cluster: DataCluster,
  topic: string,
  ops: readonly { name: string; configOperation: number; value: string | null }[],
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const op of ops) {
    const def = topicConfigDefs.get(op.name);
    if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${op.name}`);
    switch (op.configOperation) {
      case ConfigOperation.SET:
        if (op.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `SET of ${op.name} needs a value`);
        out[op.name] = op.value;
        break;
      case ConfigOperation.DELETE:
        out[op.name] = null;
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        if (def.type !== 'list') {
          throw new KafkaError(
            ErrorCode.INVALID_CONFIG,
            `${op.configOperation === ConfigOperation.APPEND ? 'APPEND' : 'SUBTRACT'} only applies to list configs; ${op.name} is a ${def.type}`,
          );
        }
        const current = splitList(cluster.topicConfig(topic, op.name));
        const items = splitList(op.value ?? '');
        const next =
          op.configOperation === ConfigOperation.APPEND
            ? [...current, ...items.filter((i) => !current.includes(i))]
            : current.filter((c) => !items.includes(c));
        out[op.name] = next.join(',');
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${op.configOperation} for ${op.name}`);
    }
  }
  return out;
}

export const incrementalAlterConfigsApi = defineApi({
  name: 'IncrementalAlterConfigs',
  request: IncrementalAlterConfigsRequest,
  response: IncrementalAlterConfigsResponse,
  versions: { min: 0, max: 1 },
  create: (deps: Pick<ApiServices, 'cluster' | 'config' | 'logger'>) => async (req) => {
    const { cluster } = deps;
    const responses = await alterEach(deps, 'IncrementalAlterConfigs', req.resources, async (r) => {
      if (!cluster.topic(r.resourceName)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${r.resourceName}' does not exist`);
      const merged = resolveIncrementalOps(cluster, r.resourceName, r.configs);
      await cluster.alterTopicConfigs(r.resourceName, merged, true, req.validateOnly);
    });
    return { throttleTimeMs: 0, responses };
  },
});
