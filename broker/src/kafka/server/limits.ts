/** socket.request.max.bytes default (Kafka's): 100 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
/** Requests one connection may have in flight before the server stops reading from it. */
export const DEFAULT_MAX_IN_FLIGHT = 64;
/** connections.max.idle.ms default (Kafka's): 10 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
