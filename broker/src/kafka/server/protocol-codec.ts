import { decodeRequestFrame, encodeResponseFrame, encodeResponseFrameParts } from '../protocol/headers.js';
import type { FrameCodec } from './frame-codec.js';

/** The real codec behind the server's FrameCodec port. */
export const protocolCodec: FrameCodec = {
  decodeRequest: (frame, lookup) => decodeRequestFrame(frame, lookup),
  encodeResponse: (api, version, correlationId, body) => encodeResponseFrame(api, version, correlationId, body),
  encodeResponseParts: (api, version, correlationId, body) => encodeResponseFrameParts(api, version, correlationId, body),
};
