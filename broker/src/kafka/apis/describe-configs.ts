/**
 * DescribeConfigs (32): the configs of topics and of this broker. A topic config shows its
 * override, else the broker setting it falls back to, else the built-in default; the broker shows
 * every registered setting (config/registry.ts) with whether it was given and where. Requested
 * keys that are not configs are left out, as Kafka does.
 *
 * Versions: v1+ reports synonyms (most specific first) and the source; v3+ the type and the
 * documentation when asked.
 *
 * Errors, per resource: UNKNOWN_TOPIC_OR_PARTITION (3), INVALID_REQUEST (42) for another
 * broker's id or a resource type without configs here (only TOPIC=2, BROKER=4 and BROKER_LOGGER=8,
 * which has none).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { DescribeConfigsRequest, DescribeConfigsResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { checkBrokerResource, describeBrokerConfigs, describeTopicConfigs, ResourceType, type DescribedConfig } from './configs-common.js';
import { errorOutcome } from './data-common.js';

export const describeConfigsApi = defineApi({
  name: 'DescribeConfigs',
  request: DescribeConfigsRequest,
  response: DescribeConfigsResponse,
  versions: { min: 0, max: 4 },
  create: ({ cluster, config, logger }: Pick<ApiServices, 'cluster' | 'config' | 'logger'>) => async (req) => {
    // Versions without the flags read them as false.
    const opts = (keys: readonly string[] | null) => ({ keys, includeSynonyms: req.includeSynonyms, includeDocumentation: req.includeDocumentation });
    const results = req.resources.map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      try {
        let configs: DescribedConfig[];
        if (r.resourceType === ResourceType.TOPIC) {
          configs = describeTopicConfigs(cluster, r.resourceName, opts(r.configurationKeys));
        } else if (r.resourceType === ResourceType.BROKER) {
          checkBrokerResource(config, r.resourceName);
          configs = describeBrokerConfigs(config.settings, opts(r.configurationKeys));
        } else if (r.resourceType === ResourceType.BROKER_LOGGER) {
          checkBrokerResource(config, r.resourceName);
          configs = [];
        } else {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Resource type ${r.resourceType} has no configs here (use TOPIC=2 or BROKER=4)`);
        }
        return { errorCode: ErrorCode.NONE, errorMessage: null, ...base, configs };
      } catch (err) {
        const e = errorOutcome(err, logger, `DescribeConfigs ${r.resourceName}`);
        return { errorCode: e.code, errorMessage: e.message, ...base, configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
});
