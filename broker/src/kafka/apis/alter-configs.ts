/**
 * AlterConfigs (33): replaces a topic's whole override set with the given configs (a config left
 * out, or given with a null value, falls back to the broker default again). Broker settings are
 * fixed at start-up and refused, naming the setting and where to set it.
 *
 * Versions: all served versions carry the same fields (v2 is the flexible encoding).
 *
 * Errors, per resource: INVALID_CONFIG (40) for an unknown topic config or broker setting or a bad
 * value, INVALID_REQUEST (42) for a resource or key named twice, a read-only broker setting,
 * another broker's id or a resource type without configs, UNKNOWN_TOPIC_OR_PARTITION (3).
 */
import { AlterConfigsRequest, AlterConfigsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { alterEach } from './configs-common.js';

export const alterConfigsApi = defineApi({
  name: 'AlterConfigs',
  request: AlterConfigsRequest,
  response: AlterConfigsResponse,
  versions: { min: 0, max: 2 },
  create: (deps: Pick<ApiServices, 'cluster' | 'config' | 'logger'>) => async (req) => {
    const responses = await alterEach(deps, 'AlterConfigs', req.resources, async (r) => {
      const next: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) next[c.name] = c.value;
      await deps.cluster.alterTopicConfigs(r.resourceName, next, false, req.validateOnly);
    });
    return { throttleTimeMs: 0, responses };
  },
});
