import { createHash } from 'node:crypto';
import type { VoterAddress } from './registry.js';
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
  /** Where the raft transport binds, and what other brokers are told. */
  readonly raftListen: { readonly host: string; readonly port: number };
  readonly raftAdvertised: { readonly host: string; readonly port: number };
  /** The metadata group's founding voters; null: this broker alone (a one-voter cluster). */
  readonly initialVoters: readonly VoterAddress[] | null;
  /** null: the id recorded in the data dir, or a new one for a broker alone. */
  readonly clusterId: string | null;
  /** Where the admin gRPC service binds (null: no admin listener), and what other brokers are told. */
  readonly adminListen: { readonly host: string; readonly port: number } | null;
  readonly adminAdvertised: { readonly host: string; readonly port: number } | null;
  /** The file holding the admin bearer token; null: no authentication. */
  readonly adminTokenFile: string | null;
}

/**
 * A cluster id every founding broker computes alike without talking to the others: a digest of
 * the sorted voter list, unless one is configured.
 */
export function derivedClusterId(voters: readonly VoterAddress[]): string {
  const key = [...voters]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((v) => `${v.nodeId}@${v.host}:${v.port}`)
    .join(',');
  return createHash('sha256').update(`chronik:${key}`).digest('base64url').slice(0, 22);
}

export function brokerConfig(settings: BrokerSettings, opts: { readonly isTty?: boolean } = {}): BrokerConfig {
  const kafka = settings.get('chronik.kafka.listen');
  const http = settings.get('chronik.http.listen');
  // Clients cannot connect to a wildcard address; loopback is the only safe guess.
  const wildcard = kafka.host === '0.0.0.0' || kafka.host === '::';
  const advertised = settings.get('chronik.kafka.advertised') ?? { host: wildcard ? '127.0.0.1' : kafka.host, port: kafka.port };
  const nodeId = settings.get('node.id');
  const initialVoters = settings.get('chronik.initial.voters');
  const selfVoter = initialVoters?.find((v) => v.nodeId === nodeId);
  const raftListen = settings.get('chronik.raft.listen') ?? (selfVoter ? { host: selfVoter.host, port: selfVoter.port } : { host: '127.0.0.1', port: 0 });
  const raftWildcard = raftListen.host === '0.0.0.0' || raftListen.host === '::';
  const raftAdvertised =
    settings.get('chronik.raft.advertised') ??
    (selfVoter ? { host: selfVoter.host, port: selfVoter.port } : { host: raftWildcard ? '127.0.0.1' : raftListen.host, port: raftListen.port });
  const adminListen = settings.get('chronik.admin.listen');
  const adminWildcard = adminListen !== null && (adminListen.host === '0.0.0.0' || adminListen.host === '::');
  // Bound everywhere, the admin port is reached at the name clients use for this broker.
  const adminAdvertised = adminListen === null ? null : { host: adminWildcard ? advertised.host : adminListen.host, port: adminListen.port };
  return {
    settings,
    nodeId,
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
    raftListen,
    raftAdvertised,
    initialVoters,
    clusterId: settings.get('chronik.cluster.id') ?? (initialVoters ? derivedClusterId(initialVoters) : null),
    adminListen,
    adminAdvertised,
    adminTokenFile: settings.get('chronik.admin.token.file'),
  };
}

/** A BrokerConfig from a name -> text map, for tests and tools; throws SettingsError. */
export function brokerConfigOf(values: Readonly<Record<string, string>> = {}): BrokerConfig {
  return brokerConfig(BrokerSettings.of(values));
}
