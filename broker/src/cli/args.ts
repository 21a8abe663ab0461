import { parseArgs } from 'node:util';
import { BROKER_SETTINGS, BrokerSettings, brokerConfig, closestName, describeAllowed, SettingsError, type BrokerConfig, type SettingInput } from '../config/index.js';

/** A usage error: the process prints `message` and exits with code 2. */
export class CliUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

export const MAIN_USAGE = `Usage: chronik <command> [options]

Commands:
  broker     run a Kafka-compatible broker (chronik broker --help for its options)
  dev        run a local cluster of brokers on 127.0.0.1 (chronik dev --help)
  ctl        administer a running cluster through a broker's admin listener (chronik ctl --help)

Options:
  -h, --help     show this help
`;

const CONFIG_ENV = 'CHRONIK_CONFIG';

function defaultWords(def: (typeof BROKER_SETTINGS)[number]): string {
  if (def.default === null) return def.defaultText ?? 'unset';
  return def.format(def.default as never) || '(empty)';
}

function usage(): string {
  const flagged = BROKER_SETTINGS.filter((s) => s.flag !== null);
  const flagText = (s: (typeof flagged)[number]) => `--${s.flag?.name} ${s.flag?.arg}`;
  const flagWidth = Math.max(...flagged.map((s) => flagText(s).length), '--config NAME=VALUE'.length) + 2;
  const envWidth = Math.max(...flagged.map((s) => (s.env ?? '').length), CONFIG_ENV.length) + 2;
  const lines = [
    'Usage: chronik broker [options]',
    '',
    'Runs one Chronik broker. Every setting can be given as --config NAME=VALUE; some also have',
    'a flag and a variable of their own. The command line wins over the environment, and within',
    `each, a setting given twice is an error. ${CONFIG_ENV} holds NAME=VALUE entries separated by`,
    'newlines or \';\'.',
    '',
    ...flagged.map((s) => `  ${flagText(s).padEnd(flagWidth)}${(s.env ?? '').padEnd(envWidth)}${s.doc} [${defaultWords(s)}]`),
    `  ${'--config NAME=VALUE'.padEnd(flagWidth)}${CONFIG_ENV.padEnd(envWidth)}any setting below; repeatable`,
    `  ${'-h, --help'.padEnd(flagWidth)}${''.padEnd(envWidth)}show this help`,
    '',
    'Settings (name: allowed values [default]):',
    ...BROKER_SETTINGS.map((s) => `  ${s.name}: ${describeAllowed(s)} [${defaultWords(s)}]`),
    '',
  ];
  return lines.join('\n');
}

export const BROKER_USAGE = usage();

/** Command line beats environment. */
const COMMAND_LINE = 0;
const ENVIRONMENT = 1;

export type BrokerArgs = { readonly help: true } | { readonly help: false; readonly config: BrokerConfig };

/**
 * Parses `chronik broker` arguments (without the subcommand) and CHRONIK_* variables into a
 * validated BrokerConfig. Throws CliUsageError naming the offending flag, variable or setting.
 */
export function parseBrokerArgs(argv: readonly string[], env: NodeJS.ProcessEnv, isTty = false): BrokerArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    config: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  };
  for (const s of BROKER_SETTINGS) if (s.flag) options[s.flag.name] = { type: 'string' };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options }));
  } catch (err) {
    throw new CliUsageError(describeParseError(err));
  }
  if (values['help'] === true) return { help: true };
  if (positionals.length > 0) throw new CliUsageError(`unexpected argument '${positionals[0]}'`);

  const inputs: (SettingInput & { rank: number })[] = [];
  for (const s of BROKER_SETTINGS) {
    const v = s.flag ? values[s.flag.name] : undefined;
    if (typeof v === 'string') inputs.push({ name: s.name, text: v, source: `--${s.flag?.name}`, rank: COMMAND_LINE });
  }
  const flagConfig = values['config'];
  if (Array.isArray(flagConfig)) {
    for (const entry of flagConfig) if (typeof entry === 'string') inputs.push({ ...configEntry(entry, '--config'), rank: COMMAND_LINE });
  }
  for (const s of BROKER_SETTINGS) {
    const e = s.env ? env[s.env] : undefined;
    if (e !== undefined && e !== '' && s.env) inputs.push({ name: s.name, text: e, source: s.env, rank: ENVIRONMENT });
  }
  for (const entry of (env[CONFIG_ENV] ?? '').split(/[;\n]/)) {
    if (entry.trim() !== '') inputs.push({ ...configEntry(entry.trim(), CONFIG_ENV), rank: ENVIRONMENT });
  }
  try {
    return { help: false, config: brokerConfig(BrokerSettings.resolve(inputs), { isTty }) };
  } catch (err) {
    if (err instanceof SettingsError) throw new CliUsageError(err.message);
    throw err;
  }
}

function configEntry(entry: string, source: string): SettingInput {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw new CliUsageError(`${source}: '${entry}' is not NAME=VALUE`);
  return { name: entry.slice(0, eq).trim(), text: entry.slice(eq + 1), source };
}

function describeParseError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    // node's messages already quote the flag, e.g. "Unknown option '--bogus'".
    const first = err.message.split('. ')[0] ?? err.message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(--[^'=]+)/.exec(first)?.[1];
      const flags = ['--config', '--help', ...BROKER_SETTINGS.flatMap((s) => (s.flag ? [`--${s.flag.name}`] : []))];
      const near = flag === undefined ? null : closestName(flag, flags);
      return near ? `${first} (did you mean '${near}'?)` : first;
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return first;
    return err.message;
  }
  return String(err);
}
