import { ErrorCode } from '../protocol/errors.js';
import type { ApiDef } from '../protocol/schema.js';
import type { ApiHandler, MessageBody } from '../server/handler.js';

export const API_VERSIONS_KEY = 18;

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** What the broker advertises: exactly the registered APIs, sorted by key. */
export function advertisedVersions(apis: Iterable<ApiDef>): ApiVersionRange[] {
  const out: ApiVersionRange[] = [];
  for (const api of apis) out.push({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion });
  return out.sort((a, b) => a.apiKey - b.apiKey);
}

/**
 * The body for a client that asked with an ApiVersions version we do not serve: error 35 and
 * our ranges, encoded by the caller as version 0 so any client can read it (KIP-511).
 */
export function unsupportedApiVersionsBody(apis: Iterable<ApiDef>): MessageBody {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: advertisedVersions(apis), throttleTimeMs: 0 };
}

// KIP-511: client software name and version must match this when sent (v3+).
const SOFTWARE_ID = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

/**
 * ApiVersions answered from the handler registry, so it never advertises an API we cannot serve.
 * The registry is fixed once the server is built, so the list is computed on first use.
 */
export function createApiVersionsHandler(api: ApiDef, registered: () => Iterable<ApiDef>): ApiHandler {
  let cached: ApiVersionRange[] | null = null;
  return {
    api,
    handle: async (request, ctx) => {
      cached ??= advertisedVersions(registered());
      const apiKeys = cached;
      if (ctx.apiVersion >= 3) {
        const name = request['clientSoftwareName'];
        const version = request['clientSoftwareVersion'];
        if (typeof name !== 'string' || typeof version !== 'string' || !SOFTWARE_ID.test(name) || !SOFTWARE_ID.test(version)) {
          return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys, throttleTimeMs: 0 };
        }
      }
      return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 };
    },
  };
}
