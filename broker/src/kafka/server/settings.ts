import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT } from './limits.js';

/** The server's tunables, read from the broker defaults under Kafka's names where Kafka has one. */
export interface ServerSettings {
  /** socket.request.max.bytes */
  readonly maxFrameBytes: number;
  /** connections.max.idle.ms */
  readonly idleTimeoutMs: number;
  /** Chronik's own: chronik.max.inflight.requests.per.connection */
  readonly maxInFlightPerConnection: number;
}

const KEYS = {
  maxFrameBytes: 'socket.request.max.bytes',
  idleTimeoutMs: 'connections.max.idle.ms',
  maxInFlightPerConnection: 'chronik.max.inflight.requests.per.connection',
} as const;

/** Throws an Error naming the key when a value is not a positive integer. */
export function serverSettings(defaults: Readonly<Record<string, string>>): ServerSettings {
  return {
    maxFrameBytes: positiveInt(defaults, KEYS.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 2 ** 31 - 1),
    idleTimeoutMs: positiveInt(defaults, KEYS.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, 2 ** 31 - 1),
    maxInFlightPerConnection: positiveInt(defaults, KEYS.maxInFlightPerConnection, DEFAULT_MAX_IN_FLIGHT, 65536),
  };
}

function positiveInt(defaults: Readonly<Record<string, string>>, key: string, fallback: number, max: number): number {
  const raw = defaults[key];
  if (raw === undefined) return fallback;
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > max) throw new Error(`${key}: '${raw}' must be an integer from 1 to ${max}`);
  return n;
}
