import type { ApiDef } from '../protocol/schema.js';

/** What a handler knows about the request it serves. */
export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connectionId: number;
  readonly remoteAddress: string;
  /** Aborted when the connection closes or the broker shuts down; long polls must honour it. */
  readonly signal: AbortSignal;
}

/** Decoded message bodies (see schema.ts for the value conventions). */
export type MessageBody = Record<string, unknown>;

/**
 * A handler returns the response body, or null when no response is sent (Produce with acks=0).
 * It throws KafkaError (errors.ts) only for request-level failures; per-partition errors go in
 * the body. Any other exception closes just that connection.
 */
export type Handler = (request: MessageBody, ctx: RequestContext) => Promise<MessageBody | null>;

export interface ApiHandler {
  readonly api: ApiDef;
  readonly handle: Handler;
}
