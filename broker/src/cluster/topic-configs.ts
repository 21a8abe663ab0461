/**
 * The topic configs Chronik knows and how each falls back to a broker default. Each is the
 * topic-level override of a registered broker setting (config/registry.ts), which gives its
 * type, allowed values, default and documentation. Unknown keys are rejected (INVALID_CONFIG
 * naming the key) so a typo never silently does nothing.
 */
import { BROKER_SETTINGS, BrokerSettings, settingDef, SettingValueError, type AnySetting, type SettingKind, type SettingName } from '../config/index.js';
import { ErrorCode, KafkaError } from '../kafka/protocol/errors.js';

/** ConfigType as DescribeConfigs v3+ reports it. */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigTypeValue = (typeof ConfigType)[keyof typeof ConfigType];

/** ConfigSource as DescribeConfigs v1+ reports it. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

export interface ConfigDef {
  readonly name: string;
  readonly type: SettingKind;
  /** The built-in default: the default of the broker setting it falls back to. */
  readonly defaultValue: string;
  /** The broker setting a topic falls back to (retention.ms -> log.retention.ms). */
  readonly brokerSynonym: SettingName;
  readonly documentation: string;
}

/** Every topic config is the topic-level override of one broker setting; the registry says which. */
const defs: readonly ConfigDef[] = BROKER_SETTINGS.flatMap((s): ConfigDef[] =>
  s.topicConfig === null
    ? []
    : [{ name: s.topicConfig, type: s.kind, defaultValue: defaultText(s), brokerSynonym: s.name, documentation: s.doc }],
).sort((a, b) => a.name.localeCompare(b.name));

function defaultText(s: AnySetting): string {
  const d = BrokerSettings.defaults().effective(s.name).text;
  if (d === null) throw new Error(`setting ${s.name} backs topic config ${s.topicConfig} but has no default`);
  return d;
}

export const topicConfigDefs: ReadonlyMap<string, ConfigDef> = new Map(defs.map((d) => [d.name, d]));

export function configTypeCode(kind: SettingKind): ConfigTypeValue {
  switch (kind) {
    case 'boolean':
      return ConfigType.BOOLEAN;
    case 'string':
      return ConfigType.STRING;
    case 'int':
      return ConfigType.INT;
    case 'long':
      return ConfigType.LONG;
    case 'double':
      return ConfigType.DOUBLE;
    case 'list':
      return ConfigType.LIST;
  }
}

/** Checks one topic config and returns its normalised string form; throws INVALID_CONFIG. */
export function validateTopicConfig(key: string, value: string): string {
  const def = topicConfigDefs.get(key);
  if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${key}`);
  const setting = settingDef(def.brokerSynonym);
  if (!setting) throw new Error(`topic config ${key}: broker setting ${def.brokerSynonym} is not registered`);
  try {
    return setting.normalize(value);
  } catch (err) {
    if (err instanceof SettingValueError) {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${JSON.stringify(value)} for configuration ${key}: ${err.message}`);
    }
    throw err;
  }
}

/** Validates a whole set of topic configs, returning the normalised copy. */
export function validateTopicConfigs(configs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(configs)) out[k] = validateTopicConfig(k, v);
  return out;
}

/**
 * The broker-level default for a topic config: the broker setting if given (or one of its older
 * aliases), else its built-in default.
 */
export function brokerDefaultFor(def: ConfigDef, settings: BrokerSettings): { value: string; source: number; name: string } {
  const e = settings.effective(def.brokerSynonym);
  if (e.from !== null && e.text !== null) return { value: e.text, source: ConfigSource.STATIC_BROKER_CONFIG, name: e.from.name };
  return { value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG, name: def.brokerSynonym };
}
