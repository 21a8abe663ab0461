/**
 * DescribeConfigs (32) v0-4, AlterConfigs (33) v0-2 and IncrementalAlterConfigs (44) v0-1 for
 * topic and broker resources. Broker configs are static here (flags / CHRONIK_* environment),
 * so they are described as read-only and altering them is refused with a message saying so.
 */
import { ConfigSource, brokerDefaultFor, configTypeCode, ConfigType, topicConfigDefs } from '../../cluster/topic-configs.js';
import type { DataCluster } from '../../cluster/types.js';
import type { BrokerConfig } from '../../config.js';
import type { DescribeConfigsRequest as DescribeConfigsRequestDef, AlterConfigsRequest as AlterConfigsRequestDef, IncrementalAlterConfigsRequest as IncrementalAlterConfigsRequestDef } from '../protocol/messages/index.js';
import type { BodyOf } from '../protocol/messages/types.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Handler, MessageBody, RequestContext } from '../server/handler.js';
import { asBody, asRequest, duplicates, errorOutcome, type DataDeps, type DecodesAs, type Expect } from './data-common.js';

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, BROKER: 4, CLUSTER: 5, BROKER_LOGGER: 8 } as const;
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

/** Every known config of a topic with its effective value, source and synonyms (most specific first). */
export function describeTopicConfigs(
  cluster: DataCluster,
  topic: string,
  opts: { keys: readonly string[] | null; includeSynonyms: boolean; includeDocumentation: boolean },
): DescribedConfig[] {
  const info = cluster.topic(topic);
  if (!info) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topic}' does not exist`);
  const defaults = cluster.brokerDefaults();
  const names = opts.keys ?? [...topicConfigDefs.keys()];
  const out: DescribedConfig[] = [];
  for (const name of names) {
    const def = topicConfigDefs.get(name);
    if (!def) continue; // Kafka leaves unknown requested keys out rather than failing the resource.
    const override = info.configs[name];
    const broker = brokerDefaultFor(def, defaults);
    const synonyms: DescribedConfig['synonyms'] = [];
    if (opts.includeSynonyms) {
      if (override !== undefined) synonyms.push({ name, value: override, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      if (broker.source === ConfigSource.STATIC_BROKER_CONFIG) {
        synonyms.push({ name: broker.name, value: broker.value, source: ConfigSource.STATIC_BROKER_CONFIG });
      }
      synonyms.push({ name: def.brokerSynonym, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
    }
    out.push({
      name,
      value: override ?? broker.value,
      readOnly: false,
      isDefault: override === undefined && broker.source === ConfigSource.DEFAULT_CONFIG,
      configSource: override !== undefined ? ConfigSource.DYNAMIC_TOPIC_CONFIG : broker.source,
      isSensitive: false,
      synonyms,
      configType: configTypeCode(def),
      documentation: opts.includeDocumentation ? def.documentation : null,
    });
  }
  return out;
}

/** Broker configs: everything the broker was started with, plus the synonyms topics fall back to. */
function describeBrokerConfigs(
  config: BrokerConfig,
  opts: { keys: readonly string[] | null; includeSynonyms: boolean; includeDocumentation: boolean },
): DescribedConfig[] {
  const entries = new Map<string, { value: string; source: number; doc: string }>();
  entries.set('broker.id', { value: String(config.nodeId), source: ConfigSource.STATIC_BROKER_CONFIG, doc: 'This broker\'s node id.' });
  entries.set('node.id', { value: String(config.nodeId), source: ConfigSource.STATIC_BROKER_CONFIG, doc: 'This broker\'s node id.' });
  entries.set('log.dirs', { value: config.dataDir, source: ConfigSource.STATIC_BROKER_CONFIG, doc: 'Where partition logs are stored.' });
  for (const def of topicConfigDefs.values()) {
    const b = brokerDefaultFor(def, config.defaults);
    entries.set(def.brokerSynonym, { value: b.value, source: b.source, doc: `Default of topic config ${def.name}: ${def.documentation}` });
  }
  for (const [k, v] of Object.entries(config.defaults)) {
    if (!entries.has(k)) entries.set(k, { value: v, source: ConfigSource.STATIC_BROKER_CONFIG, doc: 'Broker setting.' });
  }
  const names = opts.keys ?? [...entries.keys()].sort();
  const out: DescribedConfig[] = [];
  for (const name of names) {
    const e = entries.get(name);
    if (!e) continue;
    out.push({
      name,
      value: e.value,
      readOnly: true,
      isDefault: e.source === ConfigSource.DEFAULT_CONFIG,
      configSource: e.source,
      isSensitive: false,
      synonyms: opts.includeSynonyms ? [{ name, value: e.value, source: e.source }] : [],
      configType: ConfigType.STRING,
      documentation: opts.includeDocumentation ? e.doc : null,
    });
  }
  return out;
}

function checkBrokerResource(config: BrokerConfig, name: string): void {
  if (name !== '' && name !== String(config.nodeId)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Broker resource '${name}' is not this broker (node id ${config.nodeId})`);
  }
}

interface DescribeConfigsRequest {
  resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}
/** Breaks the build if the DescribeConfigsRequest definition stops decoding into this shape. */
type DescribeConfigsRequestChecked = Expect<DecodesAs<BodyOf<typeof DescribeConfigsRequestDef>, DescribeConfigsRequest>>;

export function createDescribeConfigsHandler(deps: DataDeps): Handler {
  const { cluster, config, logger } = deps;
  return async (body: MessageBody, ctx: RequestContext): Promise<MessageBody> => {
    const req = asRequest<DescribeConfigsRequest>(body);
    const opts = (keys: string[] | null) => ({
      keys,
      includeSynonyms: ctx.apiVersion >= 1 && req.includeSynonyms,
      includeDocumentation: ctx.apiVersion >= 3 && req.includeDocumentation,
    });
    const results = req.resources.map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      try {
        let configs: DescribedConfig[];
        if (r.resourceType === ResourceType.TOPIC) {
          configs = describeTopicConfigs(cluster, r.resourceName, opts(r.configurationKeys));
        } else if (r.resourceType === ResourceType.BROKER) {
          checkBrokerResource(config, r.resourceName);
          configs = describeBrokerConfigs(config, opts(r.configurationKeys));
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
    return asBody({ throttleTimeMs: 0, results });
  };
}

interface AlterResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

function refuseBroker(config: BrokerConfig, resourceType: number, name: string): never {
  checkBrokerResource(config, name);
  throw new KafkaError(
    ErrorCode.INVALID_REQUEST,
    `${resourceType === ResourceType.BROKER_LOGGER ? 'Broker loggers' : 'Broker configs'} cannot be changed at runtime in Chronik; ` +
      'set them with broker flags or CHRONIK_* environment variables',
  );
}

interface AlterConfigsRequest {
  resources: { resourceType: number; resourceName: string; configs: { name: string; value: string | null }[] }[];
  validateOnly: boolean;
}
/** Breaks the build if the AlterConfigsRequest definition stops decoding into this shape. */
type AlterConfigsRequestChecked = Expect<DecodesAs<BodyOf<typeof AlterConfigsRequestDef>, AlterConfigsRequest>>;

/**
 * What AlterConfigs and IncrementalAlterConfigs both check before touching a resource: named once
 * in the request, a topic (broker configs are static), and no config key given twice.
 */
function checkAlterTarget(
  config: BrokerConfig,
  r: { resourceType: number; resourceName: string; configs: readonly { name: string }[] },
  dupResources: ReadonlySet<string>,
): void {
  if (dupResources.has(`${r.resourceType}:${r.resourceName}`)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Resource ${r.resourceName} appears more than once`);
  }
  if (r.resourceType === ResourceType.BROKER || r.resourceType === ResourceType.BROKER_LOGGER) {
    refuseBroker(config, r.resourceType, r.resourceName);
  }
  if (r.resourceType !== ResourceType.TOPIC) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Resource type ${r.resourceType} has no configs here`);
  }
  const dupKeys = duplicates(r.configs.map((c) => c.name));
  if (dupKeys.size > 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Config ${[...dupKeys][0]} appears more than once`);
}

export function createAlterConfigsHandler(deps: DataDeps): Handler {
  const { cluster, config, logger } = deps;
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<AlterConfigsRequest>(body);
    const dupResources = duplicates(req.resources.map((r) => `${r.resourceType}:${r.resourceName}`));
    const responses: AlterResourceResult[] = [];
    for (const r of req.resources) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      try {
        checkAlterTarget(config, r, dupResources);
        // AlterConfigs replaces the whole override set; a null value just leaves the key out.
        const next: Record<string, string> = {};
        for (const c of r.configs) if (c.value !== null) next[c.name] = c.value;
        await cluster.alterTopicConfigs(r.resourceName, next, false, req.validateOnly);
        responses.push({ errorCode: ErrorCode.NONE, errorMessage: null, ...base });
      } catch (err) {
        const e = errorOutcome(err, logger, `AlterConfigs ${r.resourceName}`);
        responses.push({ errorCode: e.code, errorMessage: e.message, ...base });
      }
    }
    return asBody({ throttleTimeMs: 0, responses });
  };
}

interface IncrementalAlterConfigsRequest {
  resources: {
    resourceType: number;
    resourceName: string;
    configs: { name: string; configOperation: number; value: string | null }[];
  }[];
  validateOnly: boolean;
}
/** Breaks the build if the IncrementalAlterConfigsRequest definition stops decoding into this shape. */
type IncrementalAlterConfigsRequestChecked = Expect<DecodesAs<BodyOf<typeof IncrementalAlterConfigsRequestDef>, IncrementalAlterConfigsRequest>>;

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

export function createIncrementalAlterConfigsHandler(deps: DataDeps): Handler {
  const { cluster, config, logger } = deps;
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<IncrementalAlterConfigsRequest>(body);
    const dupResources = duplicates(req.resources.map((r) => `${r.resourceType}:${r.resourceName}`));
    const responses: AlterResourceResult[] = [];
    for (const r of req.resources) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      try {
        checkAlterTarget(config, r, dupResources);
        if (!cluster.topic(r.resourceName)) {
          throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${r.resourceName}' does not exist`);
        }
        const merged = resolveIncrementalOps(cluster, r.resourceName, r.configs);
        await cluster.alterTopicConfigs(r.resourceName, merged, true, req.validateOnly);
        responses.push({ errorCode: ErrorCode.NONE, errorMessage: null, ...base });
      } catch (err) {
        const e = errorOutcome(err, logger, `IncrementalAlterConfigs ${r.resourceName}`);
        responses.push({ errorCode: e.code, errorMessage: e.message, ...base });
      }
    }
    return asBody({ throttleTimeMs: 0, responses });
  };
}
