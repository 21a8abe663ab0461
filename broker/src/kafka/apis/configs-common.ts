/**
 * What the config APIs share: resource and operation codes, how topic and broker configs are
 * described, and the checks and the per-resource loop of AlterConfigs and IncrementalAlterConfigs.
 */
import { ConfigSource, brokerDefaultFor, configTypeCode, topicConfigDefs } from '../../cluster/topic-configs.js';
import type { DataCluster } from '../../cluster/types.js';
import { aliasesOf, BROKER_SETTINGS, BrokerSettings, closestName, settingDef, type BrokerConfig } from '../../config/index.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { AlterConfigsResponse, DescribeConfigsResponse, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import type { ApiServices } from './api.js';
import { duplicates, errorOutcome } from './data-common.js';

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, BROKER: 4, CLUSTER: 5, BROKER_LOGGER: 8 } as const;
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export type DescribedConfig = ElementOf<ElementOf<ResponseBodyOf<typeof DescribeConfigsResponse>['results']>['configs']>;
type Synonym = ElementOf<DescribedConfig['synonyms']>;
/** One resource's answer; AlterConfigs and IncrementalAlterConfigs answer in the same shape. */
export type AlterResourceResult = ElementOf<ResponseBodyOf<typeof AlterConfigsResponse>['responses']>;

export interface DescribeOptions {
  readonly keys: readonly string[] | null;
  readonly includeSynonyms: boolean;
  readonly includeDocumentation: boolean;
}

/** Every known config of a topic with its effective value, source and synonyms (most specific first). */
export function describeTopicConfigs(cluster: DataCluster, topic: string, opts: DescribeOptions): DescribedConfig[] {
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
    const synonyms: Synonym[] = [];
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
export function describeBrokerConfigs(settings: BrokerSettings, opts: DescribeOptions): DescribedConfig[] {
  const names = opts.keys ?? BROKER_SETTINGS.map((s) => s.name).sort();
  const out: DescribedConfig[] = [];
  for (const name of names) {
    const def = settingDef(name);
    if (!def) continue; // as for topics: unknown requested keys are left out
    const e = settings.effective(def.name);
    const synonyms: Synonym[] = [];
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

/** A broker resource names this broker (or none: "the broker I am talking to"). */
export function checkBrokerResource(config: BrokerConfig, name: string): void {
  if (name !== '' && name !== String(config.nodeId)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Broker resource '${name}' is not this broker (node id ${config.nodeId})`);
  }
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

/**
 * What AlterConfigs and IncrementalAlterConfigs both check before touching a resource: named once
 * in the request, a topic (broker configs are static), and no config key given twice.
 */
export function checkAlterTarget(
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
export async function alterEach<R extends { resourceType: number; resourceName: string; configs: readonly { name: string }[] }>(
  deps: Pick<ApiServices, 'config' | 'logger'>,
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
