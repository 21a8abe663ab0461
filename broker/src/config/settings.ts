/**
 * The broker's settings once resolved: every registered setting's value, typed, with where it
 * came from. Built from the inputs the CLI collects (or, in tests, from a plain map), validated
 * against the registry; an unknown name or a bad value is refused with a message naming it.
 */
import { aliasesOf, BROKER_SETTINGS, settingDef, SETTING_CHECKS, type AnySetting, type SettingName, type SettingValue } from './registry.js';
import { SettingValueError } from './setting.js';
import { closestName } from './suggest.js';

/** One value given for a setting, and where (`--node-id`, `CHRONIK_NODE_ID`, `--config`, ...). */
export interface SettingInput {
  readonly name: string;
  readonly text: string;
  readonly source: string;
}

/** A refused input: `message` names the source, the setting and the reason. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

interface Given {
  readonly value: unknown;
  readonly text: string;
  readonly source: string;
}

/** The value that applies to a setting, and which setting supplied it (itself, an alias, or none). */
export interface EffectiveSetting {
  readonly value: unknown;
  /** Canonical text; null when unset and without a default. */
  readonly text: string | null;
  /** The setting whose given value applies (the setting itself or an alias); null: the default. */
  readonly from: AnySetting | null;
  readonly source: string | null;
}

function unknownSetting(name: string, source: string): SettingsError {
  const near = closestName(name, BROKER_SETTINGS.map((s) => s.name));
  return new SettingsError(`${source}: unknown setting '${name}'${near ? ` (did you mean '${near}'?)` : ''}`);
}

export class BrokerSettings {
  private constructor(private readonly given: ReadonlyMap<string, Given>) {}

  /**
   * Resolves inputs given in order of precedence, strongest first: a later input for a name
   * already given is ignored, unless both are at the same strength (`rank`), which is an error
   * ("given twice") rather than a silent pick.
   */
  static resolve(inputs: readonly (SettingInput & { readonly rank: number })[]): BrokerSettings {
    const given = new Map<string, Given & { rank: number }>();
    for (const input of inputs) {
      const def = settingDef(input.name);
      if (!def) throw unknownSetting(input.name, input.source);
      let value: unknown;
      let text: string;
      try {
        value = def.parse(input.text);
        text = def.normalize(input.text);
      } catch (err) {
        if (err instanceof SettingValueError) throw new SettingsError(`${input.source} ${def.name}: '${input.text}' ${err.message}`);
        throw err;
      }
      const before = given.get(def.name);
      if (before && before.rank === input.rank && before.source !== input.source) {
        throw new SettingsError(`${def.name} is given twice (${before.source} and ${input.source})`);
      }
      if (before && before.rank < input.rank) continue;
      given.set(def.name, { value, text, source: input.source, rank: input.rank });
    }
    const settings = new BrokerSettings(given);
    for (const check of SETTING_CHECKS) {
      const broken = check((name) => settings.get(name));
      if (broken !== null) throw new SettingsError(broken);
    }
    return settings;
  }

  /** Settings from a plain name -> text map (tests, tools); throws SettingsError. */
  static of(values: Readonly<Record<string, string>> = {}, source = 'config'): BrokerSettings {
    return BrokerSettings.resolve(Object.entries(values).map(([name, text]) => ({ name, text, source, rank: 0 })));
  }

  /** Every setting at its default. */
  static defaults(): BrokerSettings {
    return DEFAULTS;
  }

  /** The value that applies: as given, else from an alias, else the default. */
  get<N extends SettingName>(name: N): SettingValue<N> {
    // The registry's parse produced this value for this very setting, so it has the setting's type.
    return this.effective(name).value as SettingValue<N>;
  }

  effective(name: SettingName): EffectiveSetting {
    const def = settingDef(name);
    if (!def) throw new Error(`unregistered setting ${name}`);
    const own = this.given.get(name);
    if (own) return { value: own.value, text: own.text, from: def, source: own.source };
    for (const alias of aliasesOf(name)) {
      const a = this.given.get(alias.name);
      if (a && typeof a.value === 'number' && alias.aliasOf) {
        // -1 ("no limit") stays -1 in any unit.
        const value = a.value < 0 ? -1 : a.value * alias.aliasOf.scale;
        return { value, text: String(value), from: alias, source: a.source };
      }
    }
    const text = def.default === null ? null : def.format(def.default as never);
    return { value: def.default, text, from: null, source: null };
  }

  /** Whether the setting itself was given (aliases do not count). */
  isSet(name: SettingName): boolean {
    return this.given.has(name);
  }

  /** The given value's canonical text and source, if the setting itself was given. */
  givenValue(name: SettingName): { readonly text: string; readonly source: string } | undefined {
    const g = this.given.get(name);
    return g && { text: g.text, source: g.source };
  }

  /** Names of the settings that were given, in registry order. */
  givenNames(): SettingName[] {
    return BROKER_SETTINGS.filter((s) => this.given.has(s.name)).map((s) => s.name);
  }
}

const DEFAULTS = BrokerSettings.resolve([]);

/** A setting's default value, typed (what applies when nothing sets it). */
export function defaultOf<N extends SettingName>(name: N): SettingValue<N> {
  return DEFAULTS.get(name);
}
