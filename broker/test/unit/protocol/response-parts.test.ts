import { describe, expect, it } from 'vitest';
import {
  RESPONSE_SPLICE_MIN_BYTES,
  decodeResponseFrame,
  encodeResponseFrame,
  encodeResponseFrameParts,
} from '../../../src/kafka/protocol/headers.js';
import { SERVED_APIS } from '../../../src/kafka/apis/registry.js';
import { fetchApi } from '../../../src/kafka/apis/fetch.js';
import type { MessageValue } from '../../../src/kafka/protocol/codec.js';
import { sampleMessage } from './sample-values.js';

function fetchBody(recordSizes: number[]): { body: MessageValue; records: Buffer[] } {
  const records = recordSizes.map((n, i) => Buffer.alloc(n, 0x41 + i));
  const body = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 't',
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: records.map((r, i) => ({
          partitionIndex: i,
          errorCode: 0,
          highWatermark: 10,
          lastStableOffset: 10,
          logStartOffset: 0,
          abortedTransactions: [],
          preferredReadReplica: -1,
          records: r,
        })),
      },
    ],
  } as unknown as MessageValue;
  return { body, records };
}

describe('encodeResponseFrameParts', () => {
  it('produces exactly the bytes of encodeResponseFrame, referencing large records instead of copying them', () => {
    for (const version of [4, 11, 12, 13]) {
      if (version < fetchApi.api.minVersion || version > fetchApi.api.maxVersion) continue;
      const { body, records } = fetchBody([10, RESPONSE_SPLICE_MIN_BYTES, 3 * RESPONSE_SPLICE_MIN_BYTES + 5, 0, 100]);
      const whole = encodeResponseFrame(fetchApi.api, version, 99, body);
      const parts = encodeResponseFrameParts(fetchApi.api, version, 99, body);
      expect(Buffer.concat(parts).equals(whole), `Fetch v${version}`).toBe(true);
      // The two large record sets are pieces of their own, the very same memory.
      expect(parts.filter((p) => p === records[1] || p === records[2])).toHaveLength(2);
      expect(whole.readInt32BE(0)).toBe(whole.length - 4);
      const decoded = decodeResponseFrame(fetchApi.api, version, whole.subarray(4));
      expect(decoded.correlationId).toBe(99);
    }
  });

  it('matches encodeResponseFrame for every API at every version on sample bodies', () => {
    for (const api of SERVED_APIS) {
      for (let v = api.minVersion; v <= api.maxVersion; v++) {
        const body = sampleMessage(api.response, v);
        expect(Buffer.concat(encodeResponseFrameParts(api, v, 7, body)).equals(encodeResponseFrame(api, v, 7, body)), `${api.name} v${v}`).toBe(true);
      }
    }
  });

  it('a failed encode leaves the shared scratch writer usable (not stuck in vectored mode)', () => {
    const { body } = fetchBody([RESPONSE_SPLICE_MIN_BYTES * 2]);
    const bad = { ...(body as Record<string, unknown>), throttleTimeMs: 'not a number' } as unknown as MessageValue;
    expect(() => encodeResponseFrameParts(fetchApi.api, 12, 1, bad)).toThrow();
    const whole = encodeResponseFrame(fetchApi.api, 12, 1, body);
    expect(whole.readInt32BE(0)).toBe(whole.length - 4);
    expect(Buffer.concat(encodeResponseFrameParts(fetchApi.api, 12, 1, body)).equals(whole)).toBe(true);
  });
});
