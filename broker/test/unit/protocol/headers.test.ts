import { describe, expect, it } from 'vitest';
import {
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponseFrame,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../src/kafka/protocol/headers.js';
import { SERVED_APIS, apiByKey } from '../../../src/kafka/apis/registry.js';
import { apiVersionsApi } from '../../../src/kafka/apis/api-versions.js';
import { fetchApi } from '../../../src/kafka/apis/fetch.js';
import { metadataApi } from '../../../src/kafka/apis/metadata.js';
import { produceApi } from '../../../src/kafka/apis/produce.js';
import { sampleMessage } from './sample-values.js';

describe('header versions', () => {
  it('request header v2 exactly when the request version is flexible', () => {
    expect(requestHeaderVersion(metadataApi.api, 8)).toBe(1);
    expect(requestHeaderVersion(metadataApi.api, 9)).toBe(2);
    expect(requestHeaderVersion(fetchApi.api, 11)).toBe(1);
    expect(requestHeaderVersion(fetchApi.api, 12)).toBe(2);
    expect(requestHeaderVersion(apiVersionsApi.api, 3)).toBe(2);
  });
  it('response header v1 when flexible, except ApiVersions which is always v0', () => {
    expect(responseHeaderVersion(metadataApi.api, 8)).toBe(0);
    expect(responseHeaderVersion(metadataApi.api, 9)).toBe(1);
    expect(responseHeaderVersion(produceApi.api, 9)).toBe(1);
    expect(responseHeaderVersion(apiVersionsApi.api, 3)).toBe(0);
  });
});

describe('decodeRequestFrame', () => {
  it('round-trips every API at every served version, with and without a clientId', () => {
    let correlationId = 0;
    for (const api of SERVED_APIS) {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        const clientId = v % 2 === 0 ? null : `client-${v}`;
        const frame = encodeRequestFrame(api, v, ++correlationId, clientId, sampleMessage(api.request, v));
        expect(frame.readInt32BE(0)).toBe(frame.length - 4);
        const res = decodeRequestFrame(frame.subarray(4), apiByKey);
        if (!res.ok) throw new Error(res.message);
        expect([res.apiKey, res.apiVersion, res.correlationId, res.clientId]).toEqual([api.apiKey, v, correlationId, clientId]);
      }
    }
  });

  it('unknown api keys and unsupported versions keep the correlation id', () => {
    const frame = Buffer.from('03e7 0001 0000002a ffff'.replace(/ /g, ''), 'hex');
    expect(decodeRequestFrame(frame, apiByKey)).toMatchObject({ ok: false, reason: 'unknown-api', apiKey: 999, correlationId: 42 });
    // Below the served range (Produce v2), and a client newer than us (ApiVersions past our max):
    // the server must still be able to answer, ApiVersions with v0.
    const tooOld = produceApi.api.minVersion - 1;
    const produceOld = Buffer.from('0000 0000 0000002b ffff'.replace(/ /g, ''), 'hex');
    produceOld.writeInt16BE(tooOld, 2);
    expect(decodeRequestFrame(produceOld, apiByKey)).toMatchObject({
      ok: false,
      reason: 'unsupported-version',
      apiKey: 0,
      apiVersion: tooOld,
      correlationId: 43,
    });
    const apiVersionsNew = Buffer.from('0012 0000 0000002c ffff 00 00 00 00'.replace(/ /g, ''), 'hex');
    apiVersionsNew.writeInt16BE(apiVersionsApi.api.maxVersion + 1, 2);
    expect(decodeRequestFrame(apiVersionsNew, apiByKey)).toMatchObject({ ok: false, reason: 'unsupported-version', correlationId: 44 });
  });

  it('frames shorter than a header are malformed without a correlation id', () => {
    const res = decodeRequestFrame(Buffer.from('00030009', 'hex'), apiByKey);
    expect(res).toMatchObject({ ok: false, reason: 'malformed', apiKey: 3, apiVersion: 9 });
    expect(res.ok ? 0 : res.correlationId).toBeUndefined();
  });

  it('skips unknown tagged fields in request header v2', () => {
    // Metadata v12: header with one unknown header tag (tag 5, 2 bytes), body: topics null, autoCreate 1, authz 0, tags 0
    const frame = Buffer.from('0003 000c 00000009 0003 616263 01 05 02 beef 00 01 00 00'.replace(/ /g, ''), 'hex');
    const res = decodeRequestFrame(frame, apiByKey);
    expect(res).toMatchObject({ ok: true, correlationId: 9, clientId: 'abc', body: { topics: null, allowAutoTopicCreation: true } });
  });

  it('a malformed body names the API, version and field', () => {
    const frame = Buffer.from('0003 0001 00000001 ffff 00000005'.replace(/ /g, ''), 'hex');
    const res = decodeRequestFrame(frame, apiByKey);
    expect(res).toMatchObject({ ok: false, reason: 'malformed', correlationId: 1 });
    expect(res.ok ? '' : res.message).toBe('MetadataRequest v1: topics: array count 5 exceeds remaining 0 bytes');
  });
});

describe('response frames', () => {
  it('round-trip through encodeResponseFrame / decodeResponseFrame for every API and version', () => {
    for (const api of SERVED_APIS) {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        const frame = encodeResponseFrame(api, v, 77, sampleMessage(api.response, v));
        expect(frame.readInt32BE(0)).toBe(frame.length - 4);
        const { correlationId } = decodeResponseFrame(api, v, frame.subarray(4));
        expect(correlationId).toBe(77);
      }
    }
  });
  it('encoding errors name the message and field', () => {
    expect(() => encodeResponseFrame(produceApi.api, 9, 1, { responses: [{ name: 't', partitionResponses: [{ index: 'x' }] }] })).toThrow(
      'ProduceResponse v9: responses[0].partitionResponses[0].index: int32 value "x" out of range -2147483648..2147483647',
    );
  });
});
