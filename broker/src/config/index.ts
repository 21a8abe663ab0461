/** The broker-config registry and what is built from it. */
export { brokerConfig, brokerConfigOf, type BrokerConfig } from './broker-config.js';
export { aliasesOf, BROKER_SETTINGS, MAX_GROUP_COMMIT_LINGER_MS, isSettingName, settingDef, type AnySetting, type SettingName, type SettingValue } from './registry.js';
export { BrokerSettings, defaultOf, SettingsError, type EffectiveSetting, type SettingInput } from './settings.js';
export { address, bool, custom, describeAllowed, double, int, list, long, oneOf, parseHostPort, str, SettingValueError, type HostPort, type SettingDef, type SettingKind } from './setting.js';
export { closestName } from './suggest.js';
