/**
 * Request and response headers, and whole-frame helpers. Header versions follow the
 * specification: request header v2 (tagged fields) for flexible API versions, else v1; response
 * header v1 for flexible versions, else v0 - except ApiVersions responses, which always use v0
 * so that a client that sent a version we do not know can still read the answer (KIP-511).
 * The clientId is a nullable int16-length string in request header v1 and v2 alike.
 */
import { decodeMessage, encodeMessageInto, isFlexible, withScratchWriter, withScratchWriterParts, type MessageValue } from './codec.js';
import { ProtocolError } from './protocol-error.js';
import { ByteReader } from './reader.js';
import type { ApiDef } from './schema.js';
import { ByteWriter } from './writer.js';

export const API_VERSIONS_KEY = 18;

export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

export type DecodedRequestFrame = RequestHeader & {
  readonly ok: true;
  readonly body: MessageValue;
};

export type RequestFrameFailure = {
  readonly ok: false;
  readonly reason: 'unknown-api' | 'unsupported-version' | 'malformed';
  readonly apiKey?: number;
  readonly apiVersion?: number;
  readonly correlationId?: number;
  readonly message: string;
};

export function requestHeaderVersion(api: ApiDef, apiVersion: number): 1 | 2 {
  return isFlexible(api.request, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(api: ApiDef, apiVersion: number): 0 | 1 {
  if (api.apiKey === API_VERSIONS_KEY) return 0;
  return isFlexible(api.response, apiVersion) ? 1 : 0;
}

/**
 * Decodes one request frame (without its 4-byte size prefix). Never throws: failures carry as
 * much of the header as could be read, so the server can still answer with the right
 * correlation id.
 */
export function decodeRequestFrame(
  frame: Buffer,
  lookup: (apiKey: number) => ApiDef | undefined,
): DecodedRequestFrame | RequestFrameFailure {
  if (frame.length < 8) {
    return {
      ok: false,
      reason: 'malformed',
      ...(frame.length >= 2 ? { apiKey: frame.readInt16BE(0) } : {}),
      ...(frame.length >= 4 ? { apiVersion: frame.readInt16BE(2) } : {}),
      message: `request header needs at least 8 bytes, got ${frame.length}`,
    };
  }
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const correlationId = frame.readInt32BE(4);
  const api = lookup(apiKey);
  if (api === undefined) {
    return { ok: false, reason: 'unknown-api', apiKey, apiVersion, correlationId, message: `unknown api key ${apiKey}` };
  }
  if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
    return {
      ok: false,
      reason: 'unsupported-version',
      apiKey,
      apiVersion,
      correlationId,
      message: `${api.name} v${apiVersion} is not supported (supported: ${api.minVersion}-${api.maxVersion})`,
    };
  }
  try {
    const r = new ByteReader(frame, 8);
    let clientId: string | null;
    try {
      const len = r.int16();
      if (len < -1) throw new ProtocolError(`negative string length ${len}`);
      clientId = len === -1 ? null : r.utf8(len);
    } catch (e) {
      if (e instanceof ProtocolError) e.inField('clientId').inContext(`${api.name} request header`);
      throw e;
    }
    if (requestHeaderVersion(api, apiVersion) === 2) skipTaggedFields(r, `${api.name} request header`);
    const { value } = decodeMessage(api.request, apiVersion, frame, r.pos);
    return { ok: true, apiKey, apiVersion, correlationId, clientId, body: value };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, reason: 'malformed', apiKey, apiVersion, correlationId, message };
  }
}

/** Encodes a whole response frame: 4-byte size, response header, body. */
export function encodeResponseFrame(api: ApiDef, version: number, correlationId: number, body: MessageValue): Buffer {
  return withScratchWriter((w) => {
    w.int32(0);
    w.int32(correlationId);
    if (responseHeaderVersion(api, version) === 1) w.uvarint(0);
    encodeMessageInto(w, api.response, version, body);
    w.buf.writeInt32BE(w.pos - 4, 0);
  });
}

/** Payloads at least this large are sent by reference by encodeResponseFrameParts. */
export const RESPONSE_SPLICE_MIN_BYTES = 32 * 1024;

/**
 * The same bytes as encodeResponseFrame, as pieces to write in order: large bytes/records
 * payloads (Fetch's record batches) are referenced rather than copied into the frame.
 */
export function encodeResponseFrameParts(api: ApiDef, version: number, correlationId: number, body: MessageValue): Buffer[] {
  const parts = withScratchWriterParts(RESPONSE_SPLICE_MIN_BYTES, (w) => {
    w.int32(0);
    w.int32(correlationId);
    if (responseHeaderVersion(api, version) === 1) w.uvarint(0);
    encodeMessageInto(w, api.response, version, body);
  });
  let total = 0;
  for (const p of parts) total += p.length;
  // The first piece is always our own copy and starts with the size field.
  parts[0]!.writeInt32BE(total - 4, 0);
  return parts;
}

/** Encodes a whole request frame (size, header, body): what a client sends. Used by tests and tools. */
export function encodeRequestFrame(
  api: ApiDef,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: MessageValue,
): Buffer {
  return withScratchWriter((w) => {
    writeRequestFrame(w, api, version, correlationId, clientId, body);
  });
}

function writeRequestFrame(
  w: ByteWriter,
  api: ApiDef,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: MessageValue,
): void {
  w.int32(0);
  w.int16(api.apiKey);
  w.int16(version);
  w.int32(correlationId);
  if (clientId === null) {
    w.int16(-1);
  } else {
    const len = Buffer.byteLength(clientId, 'utf8');
    w.int16(len);
    w.utf8(clientId, len);
  }
  if (requestHeaderVersion(api, version) === 2) w.uvarint(0);
  encodeMessageInto(w, api.request, version, body);
  w.buf.writeInt32BE(w.pos - 4, 0);
}

/** Decodes a response frame (without its size prefix) for a request we sent. Throws ProtocolError. */
export function decodeResponseFrame(
  api: ApiDef,
  version: number,
  frame: Buffer,
): { correlationId: number; body: MessageValue } {
  const r = new ByteReader(frame, 0);
  let correlationId: number;
  try {
    correlationId = r.int32();
  } catch (e) {
    if (e instanceof ProtocolError) e.inField('correlationId').inContext(`${api.name} response header`);
    throw e;
  }
  if (responseHeaderVersion(api, version) === 1) skipTaggedFields(r, `${api.name} response header`);
  const { value } = decodeMessage(api.response, version, frame, r.pos);
  return { correlationId, body: value };
}

function skipTaggedFields(r: ByteReader, context: string): void {
  try {
    const count = r.uvarint();
    if (count * 2 > r.remaining) throw new ProtocolError(`tagged field count ${count} exceeds remaining ${r.remaining} bytes`);
    for (let i = 0; i < count; i++) {
      r.uvarint();
      r.skip(r.uvarint());
    }
  } catch (e) {
    if (e instanceof ProtocolError) e.inField('_taggedFields').inContext(context);
    throw e;
  }
}
