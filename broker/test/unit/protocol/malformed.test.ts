/**
 * Bad wire data must always surface as ProtocolError (or a typed frame failure), quickly and
 * with the field path, and never as any other exception.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/kafka/protocol/codec.js';
import { decodeRequestFrame, encodeRequestFrame } from '../../../src/kafka/protocol/headers.js';
import { MetadataRequest, ProduceRequest } from '../../../src/kafka/protocol/messages/index.js';
import { SERVED_APIS, apiByKey } from '../../../src/kafka/apis/registry.js';
import { ProtocolError } from '../../../src/kafka/protocol/protocol-error.js';
import type { MessageDef } from '../../../src/kafka/protocol/schema.js';
import { sampleMessage } from './sample-values.js';

function expectProtocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`expected ProtocolError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected ProtocolError, but decoding succeeded');
}

function versionsToProbe(min: number, max: number): number[] {
  return [...new Set([min, Math.floor((min + max) / 2), max])];
}

describe('truncation at every byte', () => {
  for (const api of SERVED_APIS) {
    it(`${api.name}: every strict prefix of a valid request and response is a ProtocolError`, () => {
      for (const v of versionsToProbe(api.minVersion, api.maxVersion)) {
        for (const def of [api.request, api.response] as MessageDef[]) {
          const bytes = encodeMessage(def, v, sampleMessage(def, v));
          for (let cut = 0; cut < bytes.length; cut++) {
            const err = expectProtocolError(() => decodeMessage(def, v, bytes.subarray(0, cut), 0));
            expect(err.message.startsWith(`${def.name} v${v}: `)).toBe(true);
          }
        }
      }
    });
  }

  it('truncated request frames are typed failures that still carry the correlation id', () => {
    const api = apiByKey(0)!;
    const frame = encodeRequestFrame(api, 9, 4242, 'client', sampleMessage(api.request, 9)).subarray(4);
    for (let cut = 0; cut < frame.length; cut++) {
      const res = decodeRequestFrame(frame.subarray(0, cut), apiByKey);
      expect(res.ok).toBe(false);
      if (res.ok) continue;
      expect(res.reason).toBe('malformed');
      if (cut >= 8) expect(res.correlationId).toBe(4242);
      else expect(res.correlationId).toBeUndefined();
    }
  });
});

describe('hostile lengths and counts', () => {
  it('names the field path, the bad length and what remains', () => {
    const body = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: null }, { index: 1, records: Buffer.alloc(9) }] }],
    };
    const valid = encodeMessage(ProduceRequest, 9, body);
    // The last 13 bytes are: length 10 (9+1), 9 record bytes, then three empty tag sections.
    const prefix = valid.subarray(0, valid.length - 13);
    const hostile = Buffer.concat([prefix, Buffer.from([0x90, 0x4e]), Buffer.alloc(12)]); // uvarint 10000 = 9999 + 1
    const err = expectProtocolError(() => decodeMessage(ProduceRequest, 9, hostile, 0));
    expect(err.message).toBe('ProduceRequest v9: topicData[0].partitionData[1].records: length 9999 exceeds remaining 12 bytes');
    expect(err.path).toBe('topicData[0].partitionData[1].records');
  });

  it('rejects a garbage array count before allocating', () => {
    const started = Date.now();
    const err = expectProtocolError(() => decodeMessage(MetadataRequest, 1, Buffer.from('7fffffff00', 'hex'), 0));
    expect(err.message).toBe('MetadataRequest v1: topics: array count 2147483647 exceeds remaining 1 bytes');
    const flexible = expectProtocolError(() => decodeMessage(MetadataRequest, 12, Buffer.from('ffffffff0f', 'hex'), 0));
    expect(flexible.message).toMatch(/topics: array count 4294967294 exceeds remaining 0 bytes/);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('rejects negative lengths other than -1, and -1 where null is not allowed', () => {
    expect(expectProtocolError(() => decodeMessage(MetadataRequest, 1, Buffer.from('fffffffe', 'hex'), 0)).message).toMatch(
      /topics: negative array length -2/,
    );
    expect(expectProtocolError(() => decodeMessage(MetadataRequest, 0, Buffer.from('ffffffff', 'hex'), 0)).message).toMatch(
      /topics: null array is not allowed/,
    );
    // Metadata v1 topic entry with name length -2
    expect(expectProtocolError(() => decodeMessage(MetadataRequest, 1, Buffer.from('00000001fffe', 'hex'), 0)).message).toBe(
      'MetadataRequest v1: topics[0].name: negative string length -2',
    );
    // Produce v3 records length -5
    const produce = Buffer.from('ffff ffff 00000001 00000001 0001 74 00000001 00000000 fffffffb'.replace(/ /g, ''), 'hex');
    expect(expectProtocolError(() => decodeMessage(ProduceRequest, 3, produce, 0)).path).toBe('topicData[0].partitionData[0].records');
  });

  it('a tagged field whose size disagrees with its content is an error', () => {
    // Fetch v12 request ends with its top-level tag section: claim tag 0 (clusterId) of size 3 holding a 1-byte string.
    const fetch = apiByKey(1)!;
    const base = encodeMessage(fetch.request, 12, {});
    const bad = Buffer.concat([base.subarray(0, base.length - 1), Buffer.from('01 00 03 01 0000'.replace(/ /g, ''), 'hex')]);
    expect(expectProtocolError(() => decodeMessage(fetch.request, 12, bad, 0)).message).toMatch(/clusterId: tagged field 0 left 2 of 3 bytes unread/);
  });
});

describe('random corruption (bounded)', () => {
  it('mutated and random inputs either decode or throw ProtocolError, within the time bound', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const deadline = Date.now() + 5000;
    let cases = 0;
    outer: for (let round = 0; round < 20; round++) {
      for (const api of SERVED_APIS) {
        if (Date.now() > deadline) break outer;
        const v = api.minVersion + rand(api.maxVersion - api.minVersion + 1);
        for (const def of [api.request, api.response] as MessageDef[]) {
          const valid = encodeMessage(def, v, sampleMessage(def, v, { seed: round }));
          const mutated = Buffer.from(valid);
          for (let k = 0; k < 1 + rand(4); k++) mutated[rand(mutated.length)] = rand(256);
          const random = Buffer.alloc(rand(64));
          for (let i = 0; i < random.length; i++) random[i] = rand(256);
          for (const input of [mutated, random]) {
            cases++;
            try {
              decodeMessage(def, v, input, 0);
            } catch (e) {
              if (!(e instanceof ProtocolError)) throw new Error(`${def.name} v${v}: non-protocol error ${String(e)} for ${input.toString('hex')}`);
            }
            const frame = decodeRequestFrame(input, apiByKey);
            expect(typeof frame.ok).toBe('boolean');
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(100);
  });
});
