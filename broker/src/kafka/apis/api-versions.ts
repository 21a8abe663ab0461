/**
 * ApiVersions (18): the first request every client sends; the answer is exactly the APIs this
 * broker serves, each with the range its module declares, sorted by key.
 *
 * Versions: v3+ carries the client's software name and version (KIP-511), which must match
 * [a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?. A request for a version we do not serve is
 * answered by the server in v0 with UNSUPPORTED_VERSION and our ranges, so any client can read it.
 *
 * Errors: INVALID_REQUEST (42) for a malformed software name or version, UNSUPPORTED_VERSION (35).
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '../protocol/messages/index.js';
import { bodyAs, type ResponseBodyOf } from '../protocol/messages/types.js';
import type { ApiDef } from '../protocol/schema.js';
import type { ApiHandler, MessageBody } from '../server/handler.js';
import { defineApi, type ApiServices } from './api.js';

export const API_VERSIONS_KEY = ApiVersionsRequest.apiKey;

export interface ApiVersionRange {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** What the broker advertises: exactly the given APIs, sorted by key. */
export function advertisedVersions(apis: Iterable<ApiDef>): ApiVersionRange[] {
  const out: ApiVersionRange[] = [];
  for (const api of apis) out.push({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion });
  return out.sort((a, b) => a.apiKey - b.apiKey);
}

type ApiVersionsResponseBody = ResponseBodyOf<typeof ApiVersionsResponse>;

/**
 * The body for a client that asked with an ApiVersions version we do not serve: error 35 and
 * our ranges, encoded by the caller as version 0 so any client can read it (KIP-511).
 */
export function unsupportedApiVersionsBody(apis: Iterable<ApiDef>): MessageBody {
  const body: ApiVersionsResponseBody = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: advertisedVersions(apis), throttleTimeMs: 0 };
  return body;
}

// KIP-511: client software name and version must match this when sent (v3+).
const SOFTWARE_ID = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersionsApi = defineApi({
  name: 'ApiVersions',
  request: ApiVersionsRequest,
  response: ApiVersionsResponse,
  versions: { min: 0, max: 3 },
  create: ({ served }: Pick<ApiServices, 'served'>) => {
    // The served set is fixed once the server is built, so the list is computed on first use.
    let cached: ApiVersionRange[] | null = null;
    return async (req, ctx) => {
      const apiKeys = (cached ??= advertisedVersions(served()));
      if (ctx.apiVersion >= 3 && (!SOFTWARE_ID.test(req.clientSoftwareName) || !SOFTWARE_ID.test(req.clientSoftwareVersion))) {
        return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys, throttleTimeMs: 0 };
      }
      return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 };
    };
  },
});

/**
 * The server's own ApiVersions when none is registered: the same handler, answering under
 * `api` with whatever is registered at the time.
 */
export function createApiVersionsHandler(api: ApiDef, registered: () => Iterable<ApiDef>): ApiHandler {
  const handle = apiVersionsApi.create({ served: () => [...registered()] });
  return { api, handle: (body, ctx) => handle(bodyAs(ApiVersionsRequest, body), ctx) };
}
