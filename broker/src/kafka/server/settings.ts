import type { BrokerSettings } from '../../config/index.js';

/** The server's tunables, from the broker settings (validated there). */
export interface ServerSettings {
  /** socket.request.max.bytes */
  readonly maxFrameBytes: number;
  /** connections.max.idle.ms */
  readonly idleTimeoutMs: number;
  /** chronik.max.inflight.requests.per.connection */
  readonly maxInFlightPerConnection: number;
}

export function serverSettings(settings: BrokerSettings): ServerSettings {
  return {
    maxFrameBytes: settings.get('socket.request.max.bytes'),
    idleTimeoutMs: settings.get('connections.max.idle.ms'),
    maxInFlightPerConnection: settings.get('chronik.max.inflight.requests.per.connection'),
  };
}
