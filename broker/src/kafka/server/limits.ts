import { defaultOf } from '../../config/index.js';

/** What the server uses when its options leave a limit out: the registered defaults. */
export const DEFAULT_MAX_FRAME_BYTES = defaultOf('socket.request.max.bytes');
/** Requests one connection may have in flight before the server stops reading from it. */
export const DEFAULT_MAX_IN_FLIGHT = defaultOf('chronik.max.inflight.requests.per.connection');
export const DEFAULT_IDLE_TIMEOUT_MS = defaultOf('connections.max.idle.ms');
