/**
 * The registry as documentation and as data for others: the README's configuration table, and
 * the facts the operator checks spec.brokerConfig against (operator/src/api/broker-settings.ts,
 * generated because the operator image is built without the broker's sources).
 */
import { BROKER_SETTINGS, type AnySetting } from './registry.js';
import { describeAllowed, type SettingConstraints, type SettingKind } from './setting.js';

function defaultCell(s: AnySetting): string {
  if (s.default === null) return s.defaultText ?? 'unset';
  const text = s.format(s.default as never);
  return text === '' ? '(empty)' : `\`${text}\``;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** One row per setting, in registry order. */
export function renderSettingsTable(): string {
  const rows = BROKER_SETTINGS.map((s) => {
    const own = [s.flag ? `\`--${s.flag.name} ${s.flag.arg}\`` : '', s.env ? `\`${s.env}\`` : ''].filter((x) => x !== '').join(', ');
    const notes = [s.doc, s.topicConfig ? `Topic config: \`${s.topicConfig}\`.` : ''].filter((x) => x !== '').join(' ');
    return `| \`${s.name}\` | ${s.kind} | ${defaultCell(s)} | ${escapeCell(describeAllowed(s))} | ${s.dynamic ? 'yes' : 'no'} | ${own} | ${escapeCell(notes)} |`;
  });
  return ['| setting | type | default | allowed | runtime | flag, variable | meaning |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

/** What the operator needs to know of a setting to check a value the way the broker will. */
export interface SettingFacts extends SettingConstraints {
  readonly name: string;
  readonly kind: SettingKind;
  /** Its own flag, without dashes. */
  readonly flag: string | null;
}

export function settingFacts(): SettingFacts[] {
  return BROKER_SETTINGS.map((s) => ({ name: s.name, kind: s.kind, ...s.constraints, flag: s.flag?.name ?? null }));
}

export const OPERATOR_SETTINGS_FILE = 'operator/src/api/broker-settings.ts';

/** The operator's copy of the facts, as TypeScript source. */
export function renderOperatorSettings(): string {
  const lines = settingFacts().map((f) => `  ${JSON.stringify(f)},`);
  return [
    '// Generated from broker/src/config/registry.ts by `node --import tsx scripts/reference.ts`; do not edit.',
    '// The operator image is built without the broker sources, so it carries this copy; a broker test',
    '// fails when it is stale.',
    '',
    'export interface BrokerSettingFacts {',
    '  readonly name: string;',
    "  readonly kind: 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';",
    '  readonly min?: number;',
    '  readonly max?: number;',
    '  readonly oneOf?: readonly string[];',
    '  readonly nonEmpty?: boolean;',
    "  readonly address?: 'listener' | 'advertised';",
    '  readonly path?: boolean;',
    '  readonly pattern?: string;',
    '  readonly allowed?: string;',
    '  readonly flag: string | null;',
    '}',
    '',
    'export const BROKER_SETTINGS: readonly BrokerSettingFacts[] = [',
    ...lines,
    '];',
    '',
  ].join('\n');
}
