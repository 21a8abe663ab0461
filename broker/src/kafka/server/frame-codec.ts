import type { ApiDef } from '../protocol/schema.js';
import type { MessageBody } from './handler.js';

/**
 * The server's view of the protocol codec (kafka/protocol/headers.ts provides the real one).
 * Kept as a port so the connection pipeline is independent of the codec's internals.
 */
export type { DecodedRequestFrame as DecodedRequest, RequestFrameFailure as RequestDecodeFailure } from '../protocol/headers.js';
import type { DecodedRequestFrame as DecodedRequest, RequestFrameFailure as RequestDecodeFailure } from '../protocol/headers.js';

export interface FrameCodec {
  /** `frame` is one request without its 4-byte size prefix. Never throws. */
  decodeRequest(frame: Buffer, lookup: (apiKey: number) => ApiDef | undefined): DecodedRequest | RequestDecodeFailure;
  /** Returns the whole response including its 4-byte size prefix. */
  encodeResponse(api: ApiDef, version: number, correlationId: number, body: MessageBody): Buffer;
  /**
   * Optional: the same response as pieces written in order, with large payloads referenced
   * instead of copied into one buffer. Used when present.
   */
  encodeResponseParts?(api: ApiDef, version: number, correlationId: number, body: MessageBody): Buffer[];
}
