/**
 * DescribeConfigs (32) v0-4, AlterConfigs (33) v0-2 and IncrementalAlterConfigs (44) v0-1 for
 * topic and broker resources. Broker configs are static here (flags / CHRONIK_* environment),
 * so they are described as read-only and altering them is refused with a message saying so.
 */
import { ConfigSource, brokerDefaultFor, configTypeCode, topicConfigDefs } from '../../cluster/topic-configs.js';
import type { DataCluster } from '../../cluster/types.js';
import { aliasesOf, BROKER_SETTINGS, BrokerSettings, closestName, settingDef, type BrokerConfig } from '../../config/index.js';
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
  const defaults = cluster.brokerSettings();
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
      configType: configTypeCode(def.type),
      documentation: opts.includeDocumentation ? def.documentation : null,
    });
  }
  return out;
}

/**
 * Broker configs: every registered setting with the value that applies, whether it was given
 * (source STATIC_BROKER_CONFIG) or is the default, and, most specific first, the synonyms it
 * could have come from (the setting itself, its older units, the default).
 */
function describeBrokerConfigs(
  settings: BrokerSettings,
  opts: { keys: readonly string[] | null; includeSynonyms: boolean; includeDocumentation: boolean },
): DescribedConfig[] {
  const names = opts.keys ?? BROKER_SETTINGS.map((s) => s.name).sort();
  const out: DescribedConfig[] = [];
  for (const name of names) {
    const def = settingDef(name);
    if (!def) continue; // as for topics: unknown requested keys are left out
    const e = settings.effective(def.name);
    const synonyms: DescribedConfig['synonyms'] = [];
    if (opts.includeSynonyms) {
      for (const s of [def, ...aliasesOf(def.name)]) {
        const given = settings.givenValue(s.name);
        if (given) synonyms.push({ name: s.name, value: given.text, source: ConfigSource.STATIC_BROKER_CONFIG });
      }
      const d = BrokerSettings.defaults().effective(def.name).text;
      if (d !== null) synonyms.push({ name: def.name, value: d, source: ConfigSource.DEFAULT_CONFIG });
    }
    out.push({
      name: def.name,
      value: e.text,
      readOnly: !def.dynamic,
      isDefault: e.from === null,
      configSource: e.from === null ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG,
      isSensitive: false,
      synonyms,
      configType: configTypeCode(def.kind),
      documentation: opts.includeDocumentation ? def.doc : null,
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
    return asBody({ throttleTimeMs: 0, results });
  };
}

interface AlterResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/**
 * Broker settings are given at start-up; the refusal names the first requested one and says
 * where to set it (or that it is not a setting at all).
 */
function refuseBroker(config: BrokerConfig, r: { resourceType: number; resourceName: string; configs: readonly { name: string }[] }): never {
  checkBrokerResource(config, r.resourceName);
  if (r.resourceType === ResourceType.BROKER_LOGGER) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Broker loggers cannot be changed at runtime in Chronik; set chronik.log.level at start-up');
  }
  for (const c of r.configs) {
    const def = settingDef(c.name);
    if (!def) {
      const near = closestName(c.name, BROKER_SETTINGS.map((s) => s.name));
      throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown broker setting ${c.name}${near ? ` (did you mean ${near}?)` : ''}`);
    }
    if (!def.dynamic) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `${c.name} is read-only at runtime; set it at start-up (--config ${c.name}=VALUE or CHRONIK_CONFIG)`);
    }
  }
  throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Chronik does not change broker settings at runtime; set them at start-up');
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
  if (r.resourceType === ResourceType.BROKER || r.resourceType === ResourceType.BROKER_LOGGER) refuseBroker(config, r);
  if (r.resourceType !== ResourceType.TOPIC) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Resource type ${r.resourceType} has no configs here`);
  }
  const dupKeys = duplicates(r.configs.map((c) => c.name));
  if (dupKeys.size > 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Config ${[...dupKeys][0]} appears more than once`);
}

/**
 * The loop AlterConfigs and IncrementalAlterConfigs share: each resource is checked, then
 * `apply`, and answers on its own, with the error that stopped it.
 */
async function alterEach<R extends { resourceType: number; resourceName: string; configs: readonly { name: string }[] }>(
  deps: DataDeps,
  api: string,
  resources: readonly R[],
  apply: (r: R) => Promise<void>,
): Promise<AlterResourceResult[]> {
  const dupResources = duplicates(resources.map((r) => `${r.resourceType}:${r.resourceName}`));
  const responses: AlterResourceResult[] = [];
  for (const r of resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    try {
      checkAlterTarget(deps.config, r, dupResources);
      await apply(r);
      responses.push({ errorCode: ErrorCode.NONE, errorMessage: null, ...base });
    } catch (err) {
      const e = errorOutcome(err, deps.logger, `${api} ${r.resourceName}`);
      responses.push({ errorCode: e.code, errorMessage: e.message, ...base });
    }
  }
  return responses;
}

export function createAlterConfigsHandler(deps: DataDeps): Handler {
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<AlterConfigsRequest>(body);
    const responses = await alterEach(deps, 'AlterConfigs', req.resources, async (r) => {
      // AlterConfigs replaces the whole override set; a null value just leaves the key out.
      const next: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) next[c.name] = c.value;
      await deps.cluster.alterTopicConfigs(r.resourceName, next, false, req.validateOnly);
    });
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
  const { cluster } = deps;
  return async (body: MessageBody): Promise<MessageBody> => {
    const req = asRequest<IncrementalAlterConfigsRequest>(body);
    const responses = await alterEach(deps, 'IncrementalAlterConfigs', req.resources, async (r) => {
      if (!cluster.topic(r.resourceName)) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${r.resourceName}' does not exist`);
      }
      const merged = resolveIncrementalOps(cluster, r.resourceName, r.configs);
      await cluster.alterTopicConfigs(r.resourceName, merged, true, req.validateOnly);
    });
    return asBody({ throttleTimeMs: 0, responses });
  };
}
