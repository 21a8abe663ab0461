import { parseArgs } from 'node:util';
import type { BrokerConfig } from '../config.js';
import { serverSettings } from '../kafka/server/settings.js';

/** A usage error: the process prints `message` and exits with code 2. */
export class CliUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

export const BROKER_USAGE = `Usage: chronik broker [options]

Runs one Chronik broker. Every option can also be set with the environment variable shown;
a flag wins over its variable.

  --data-dir DIR            where partition logs and metadata live   CHRONIK_DATA_DIR      (./data)
  --kafka-listen HOST:PORT  Kafka listener bind address              CHRONIK_KAFKA_LISTEN  (127.0.0.1:9092)
  --advertised HOST:PORT    address given to clients in Metadata     CHRONIK_ADVERTISED    (the Kafka listen address)
  --http-listen HOST:PORT   /healthz /readyz /metrics bind address   CHRONIK_HTTP_LISTEN   (127.0.0.1:9644)
  --node-id N               broker id, a non-negative integer        CHRONIK_NODE_ID       (0)
  --rack R                  rack (availability zone) of this broker  CHRONIK_RACK          (none)
  --log-format pretty|json  log output format                        CHRONIK_LOG_FORMAT    (pretty on a TTY, else json)
  --log-level LEVEL         trace|debug|info|warn|error              CHRONIK_LOG_LEVEL     (info)
  --config KEY=VALUE        broker default in Kafka's name, e.g.     CHRONIK_CONFIG        (KEY=VALUE entries
                            --config num.partitions=3; repeatable                           separated by newlines or ';')
  -h, --help                show this help

The Kafka listener also reads socket.request.max.bytes (100 MiB), connections.max.idle.ms
(600000) and chronik.max.inflight.requests.per.connection (64) from --config.
`;

export const MAIN_USAGE = `Usage: chronik <command> [options]

Commands:
  broker     run a Kafka-compatible broker (chronik broker --help for its options)

Options:
  -h, --help     show this help
`;

const LOG_FORMATS = ['pretty', 'json'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
const CONFIG_KEY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export type BrokerArgs = { readonly help: true } | { readonly help: false; readonly config: BrokerConfig };

/**
 * Parses `chronik broker` arguments (without the subcommand) and CHRONIK_* variables into a
 * validated BrokerConfig. Throws CliUsageError naming the offending flag or variable.
 */
export function parseBrokerArgs(argv: readonly string[], env: NodeJS.ProcessEnv, isTty = false): BrokerArgs {
  let values: Record<string, string | string[] | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        'kafka-listen': { type: 'string' },
        advertised: { type: 'string' },
        'http-listen': { type: 'string' },
        'node-id': { type: 'string' },
        rack: { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
        config: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliUsageError(describeParseError(err));
  }
  if (values['help'] === true) return { help: true };
  if (positionals.length > 0) throw new CliUsageError(`unexpected argument '${positionals[0]}'`);

  const pick = (flag: string, envName: string): { value: string; source: string } | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return { value: v, source: `--${flag}` };
    const e = env[envName];
    if (e !== undefined && e !== '') return { value: e, source: envName };
    return undefined;
  };

  const dataDirArg = pick('data-dir', 'CHRONIK_DATA_DIR');
  if (dataDirArg && dataDirArg.value.trim() === '') throw new CliUsageError(`${dataDirArg.source}: must not be empty`);
  const dataDir = dataDirArg?.value ?? './data';

  const kafkaArg = pick('kafka-listen', 'CHRONIK_KAFKA_LISTEN');
  const kafka = kafkaArg ? parseHostPort(kafkaArg.value, kafkaArg.source, true) : { host: '127.0.0.1', port: 9092 };
  const httpArg = pick('http-listen', 'CHRONIK_HTTP_LISTEN');
  const http = httpArg ? parseHostPort(httpArg.value, httpArg.source, true) : { host: '127.0.0.1', port: 9644 };
  const advArg = pick('advertised', 'CHRONIK_ADVERTISED');
  const advertised = advArg ? parseHostPort(advArg.value, advArg.source, false) : advertisedFromListen(kafka);

  const nodeArg = pick('node-id', 'CHRONIK_NODE_ID');
  let nodeId = 0;
  if (nodeArg) {
    if (!/^\d+$/.test(nodeArg.value) || Number(nodeArg.value) > 2147483647) {
      throw new CliUsageError(`${nodeArg.source}: '${nodeArg.value}' is not a non-negative 32-bit integer`);
    }
    nodeId = Number(nodeArg.value);
  }

  const rackArg = pick('rack', 'CHRONIK_RACK');
  const rack = rackArg ? rackArg.value : null;

  const formatArg = pick('log-format', 'CHRONIK_LOG_FORMAT');
  const logFormat = formatArg ? oneOf(formatArg.value, LOG_FORMATS, formatArg.source) : isTty ? 'pretty' : 'json';
  const levelArg = pick('log-level', 'CHRONIK_LOG_LEVEL');
  const logLevel = levelArg ? oneOf(levelArg.value, LOG_LEVELS, levelArg.source) : 'info';

  const defaults: Record<string, string> = {};
  const envConfig = env['CHRONIK_CONFIG'];
  if (envConfig) {
    for (const entry of envConfig.split(/[;\n]/)) {
      if (entry.trim() === '') continue;
      addConfig(defaults, entry.trim(), 'CHRONIK_CONFIG');
    }
  }
  const flagConfig = values['config'];
  if (Array.isArray(flagConfig)) for (const entry of flagConfig) addConfig(defaults, entry, '--config');
  try {
    serverSettings(defaults);
  } catch (err) {
    throw new CliUsageError(`--config ${(err as Error).message}`);
  }

  return {
    help: false,
    config: {
      nodeId,
      dataDir,
      kafkaHost: kafka.host,
      kafkaPort: kafka.port,
      advertisedHost: advertised.host,
      advertisedPort: advertised.port,
      httpHost: http.host,
      httpPort: http.port,
      rack,
      logFormat,
      logLevel,
      defaults,
    },
  };
}

/** "host:port", "[v6addr]:port" or ":port" (all interfaces). Port 0 is allowed only for listeners. */
export function parseHostPort(text: string, source: string, listener: boolean): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]*)):(\d+)$/.exec(text);
  if (!m) throw new CliUsageError(`${source}: '${text}' is not HOST:PORT`);
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535 || (!listener && port === 0)) {
    throw new CliUsageError(`${source}: port '${m[3]}' must be ${listener ? '0' : '1'}-65535`);
  }
  if (!listener && host === '') throw new CliUsageError(`${source}: '${text}' needs a host`);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function advertisedFromListen(listen: { host: string; port: number }): { host: string; port: number } {
  // Clients cannot connect to a wildcard address; loopback is the only safe guess.
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  return { host: wildcard ? '127.0.0.1' : listen.host, port: listen.port };
}

function oneOf<T extends string>(value: string, allowed: readonly T[], source: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliUsageError(`${source}: '${value}' must be one of ${allowed.join(', ')}`);
}

function addConfig(into: Record<string, string>, entry: string, source: string): void {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw new CliUsageError(`${source}: '${entry}' is not KEY=VALUE`);
  const key = entry.slice(0, eq).trim();
  if (!CONFIG_KEY.test(key)) throw new CliUsageError(`${source}: '${key}' is not a valid config name`);
  into[key] = entry.slice(eq + 1);
}

function describeParseError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    // node's messages already quote the flag, e.g. "Unknown option '--bogus'".
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      return err.message.split('. ')[0] ?? err.message;
    }
    return err.message;
  }
  return String(err);
}
