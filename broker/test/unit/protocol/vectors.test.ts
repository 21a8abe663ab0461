/**
 * Byte-exact encodings worked out by hand from the protocol specification's field tables, so
 * the engine is checked against the spec rather than against itself.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/kafka/protocol/codec.js';
import { decodeRequestFrame, decodeResponseFrame, encodeRequestFrame, encodeResponseFrame } from '../../../src/kafka/protocol/headers.js';
import { MetadataRequest, ProduceRequest, ProduceResponse, FetchRequest } from '../../../src/kafka/protocol/messages/index.js';
import { apiByKey } from '../../../src/kafka/apis/registry.js';
import { apiVersionsApi } from '../../../src/kafka/apis/api-versions.js';
import { metadataApi } from '../../../src/kafka/apis/metadata.js';
import { produceApi } from '../../../src/kafka/apis/produce.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]+/g, ''), 'hex');

describe('hand-computed frames', () => {
  it('ApiVersions v0 request: header v1, empty body', () => {
    const frame = encodeRequestFrame(apiVersionsApi.api, 0, 7, 'ab', {});
    // size 12 | apiKey 18 | version 0 | correlation 7 | clientId int16-length "ab"
    expect(frame.toString('hex')).toBe(hex('0000000c | 0012 | 0000 | 00000007 | 0002 6162').toString('hex'));
  });

  it('ApiVersions v3 request: header v2 (int16 clientId + tagged fields), compact body', () => {
    const frame = encodeRequestFrame(apiVersionsApi.api, 3, 1, 'c', { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    // size 17 | 0012 0003 00000001 | clientId 0001 63 | header tags 00 | compact "x" 02 78 | compact "1" 02 31 | tags 00
    expect(frame.toString('hex')).toBe(hex('00000011 0012 0003 00000001 0001 63 00 0278 0231 00').toString('hex'));
    const decoded = decodeRequestFrame(frame.subarray(4), apiByKey);
    expect(decoded).toEqual({
      ok: true,
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: 'c',
      body: { clientSoftwareName: 'x', clientSoftwareVersion: '1' },
    });
  });

  it('ApiVersions v3 response uses response header v0 (no header tagged fields) despite being flexible', () => {
    const frame = encodeResponseFrame(apiVersionsApi.api, 3, 1, {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
      throttleTimeMs: 0,
    });
    // size 19 | correlation 1 | errorCode 0000 | compact array(1) 02 | 0012 0000 0003 tags 00 | throttle 00000000 | tags 00
    expect(frame.toString('hex')).toBe(hex('00000013 00000001 0000 02 0012 0000 0003 00 00000000 00').toString('hex'));
  });

  it('Metadata v9 response uses response header v1 (tagged fields after the correlation id)', () => {
    const frame = encodeResponseFrame(metadataApi.api, 9, 5, { brokers: [], clusterId: null, controllerId: 1, topics: [] });
    // correlation 5 | header tags 00 | throttle 0 | brokers [] 01 | clusterId null 00 | controller 1 | topics [] 01 |
    // clusterAuthorizedOperations default -2^31 | tags 00
    expect(frame.subarray(4).toString('hex')).toBe(hex('00000005 00 00000000 01 00 00000001 01 80000000 00').toString('hex'));
    const back = decodeResponseFrame(metadataApi.api, 9, frame.subarray(4));
    expect(back.correlationId).toBe(5);
    expect(back.body.clusterAuthorizedOperations).toBe(-2147483648);
  });

  it('Metadata request: empty list in v0, null (= all topics) in v1', () => {
    expect(encodeMessage(MetadataRequest, 0, { topics: [] }).toString('hex')).toBe('00000000');
    expect(encodeMessage(MetadataRequest, 1, { topics: null }).toString('hex')).toBe('ffffffff');
    expect(() => encodeMessage(MetadataRequest, 0, { topics: null })).toThrow('MetadataRequest v0: topics: null array is not allowed in this version');
    // v4 adds allowAutoTopicCreation (default true when absent from the body).
    expect(encodeMessage(MetadataRequest, 4, { topics: null }).toString('hex')).toBe('ffffffff01');
  });

  it('Produce v3 request (non-flexible)', () => {
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from([1, 2, 3]) }] }],
    };
    const expected = hex('ffff ffff 000003e8 00000001 0001 74 00000001 00000000 00000003 010203');
    expect(encodeMessage(ProduceRequest, 3, body).toString('hex')).toBe(expected.toString('hex'));
    expect(decodeMessage(ProduceRequest, 3, expected, 0).value).toEqual(body);
  });

  it('Produce v9 request (flexible: compact strings/arrays/bytes, tag sections at every struct)', () => {
    const body = {
      transactionalId: 'tx',
      acks: 1,
      timeoutMs: 30000,
      topicData: [{ name: 'ab', partitionData: [{ index: 2, records: null }] }],
    };
    // "tx" 03 7478 | acks 0001 | timeout 00007530 | topics(1) 02 | "ab" 03 6162 | partitions(1) 02 | index 00000002 |
    // records null 00 | partition tags 00 | topic tags 00 | tags 00
    const expected = hex('03 7478 0001 00007530 02 03 6162 02 00000002 00 00 00 00');
    expect(encodeMessage(ProduceRequest, 9, body).toString('hex')).toBe(expected.toString('hex'));
    expect(decodeMessage(ProduceRequest, 9, expected, 0).value).toEqual(body);
  });

  it('Produce v10 response with a tagged currentLeader (written only when not default)', () => {
    const partition = {
      index: 0,
      errorCode: 6,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      recordErrors: [],
      errorMessage: null,
      currentLeader: { leaderId: 2, leaderEpoch: 5 },
    };
    const body = { responses: [{ name: 't', partitionResponses: [partition] }], throttleTimeMs: 0, nodeEndpoints: [] };
    const expected = hex(
      '02 02 74 02 00000000 0006 ffffffffffffffff ffffffffffffffff ffffffffffffffff 01 00' +
        // one tagged field: tag 0, 9 bytes (the struct carries its own empty tag section)
        ' 01 00 09 00000002 00000005 00' +
        ' 00 00000000 00', // topic tags, throttle, top-level tags (nodeEndpoints empty = default, omitted)
    );
    const bytes = encodeMessage(ProduceResponse, 10, body);
    expect(bytes.toString('hex')).toBe(expected.toString('hex'));
    expect(decodeMessage(ProduceResponse, 10, bytes, 0).value).toEqual(body);
    // A default currentLeader is left off the wire entirely.
    const plain = encodeMessage(ProduceResponse, 10, {
      ...body,
      responses: [{ name: 't', partitionResponses: [{ ...partition, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
    });
    expect(plain.length).toBe(bytes.length - 11);
  });

  it('skips unknown tagged fields and reads known ones out of a mixed section', () => {
    // Fetch v12 request, top level tags: tag 0 = clusterId (compact "c"), tag 9 = unknown (3 bytes)
    const base = encodeMessage(FetchRequest, 12, { replicaId: -1, maxWaitMs: 500, minBytes: 1, topics: [], forgottenTopicsData: [], rackId: '' });
    expect(base[base.length - 1]).toBe(0);
    const withTags = Buffer.concat([base.subarray(0, base.length - 1), hex('02 00 02 0263 09 03 aabbcc')]);
    const { value, offset } = decodeMessage(FetchRequest, 12, withTags, 0);
    expect(offset).toBe(withTags.length);
    expect(value.clusterId).toBe('c');
    expect(value.maxWaitMs).toBe(500);
  });

  it('produceApi.api advertises 3-11 and the request header version follows flexibility', () => {
    expect([produceApi.api.minVersion, produceApi.api.maxVersion]).toEqual([3, 11]);
    const v8 = encodeRequestFrame(produceApi.api, 8, 1, null, { acks: 0, timeoutMs: 0, topicData: [] });
    const v9 = encodeRequestFrame(produceApi.api, 9, 1, null, { acks: 0, timeoutMs: 0, topicData: [] });
    // v8: null clientId ffff then body; v9: null clientId ffff, header tags 00, then body
    expect(v8.subarray(12, 14).toString('hex')).toBe('ffff');
    expect(v9.subarray(12, 15).toString('hex')).toBe('ffff00');
  });
});
