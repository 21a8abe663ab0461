import { BrokerSettings } from './settings.js';

/**
 * The broker's resolved configuration: the settings (every registered one, typed, with its
 * source) and the addresses and names the process acts on, worked out from them once. cli/
 * builds it; everything else only reads it.
 */
export interface BrokerConfig {
  readonly settings: BrokerSettings;
  readonly nodeId: number;
  readonly dataDir: string;
  /** Where the Kafka listener binds. */
  readonly kafkaHost: string;
  readonly kafkaPort: number;
  /** What Metadata tells clients to connect to. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly rack: string | null;
  readonly logFormat: 'pretty' | 'json';
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

export function brokerConfig(settings: BrokerSettings, opts: { readonly isTty?: boolean } = {}): BrokerConfig {
  const kafka = settings.get('chronik.kafka.listen');
  const http = settings.get('chronik.http.listen');
  // Clients cannot connect to a wildcard address; loopback is the only safe guess.
  const wildcard = kafka.host === '0.0.0.0' || kafka.host === '::';
  const advertised = settings.get('chronik.kafka.advertised') ?? { host: wildcard ? '127.0.0.1' : kafka.host, port: kafka.port };
  return {
    settings,
    nodeId: settings.get('node.id'),
    dataDir: settings.get('log.dirs'),
    kafkaHost: kafka.host,
    kafkaPort: kafka.port,
    advertisedHost: advertised.host,
    advertisedPort: advertised.port,
    httpHost: http.host,
    httpPort: http.port,
    rack: settings.get('broker.rack'),
    logFormat: settings.get('chronik.log.format') ?? (opts.isTty === true ? 'pretty' : 'json'),
    logLevel: settings.get('chronik.log.level'),
  };
}

/** A BrokerConfig from a name -> text map, for tests and tools; throws SettingsError. */
export function brokerConfigOf(values: Readonly<Record<string, string>> = {}): BrokerConfig {
  return brokerConfig(BrokerSettings.of(values));
}
