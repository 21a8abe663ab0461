import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { trimToWholeBatches } from '../../../src/kafka/apis/fetch.js';
import { resolveIncrementalOps } from '../../../src/kafka/apis/incremental-alter-configs.js';
import type { DataCluster } from '../../../src/cluster/types.js';

describe('trimToWholeBatches', () => {
  const a = buildRecordBatch({ records: [{ key: null, value: 'a'.repeat(100) }] });
  const b = buildRecordBatch({ records: [{ key: null, value: 'b'.repeat(100) }] });
  const both = Buffer.concat([a, b]);

  it('keeps whole batches within the limit and never splits one', () => {
    expect(trimToWholeBatches(both, both.length, false).length).toBe(both.length);
    expect(trimToWholeBatches(both, a.length + 10, false).length).toBe(a.length);
    expect(trimToWholeBatches(both, 10, false).length).toBe(0);
  });
  it('keeps the first batch even when too big if asked to guarantee progress', () => {
    expect(trimToWholeBatches(both, 10, true).length).toBe(a.length);
  });
  it('drops a torn tail', () => {
    expect(trimToWholeBatches(both.subarray(0, a.length + 20), 1 << 20, false).length).toBe(a.length);
  });
});

describe('resolveIncrementalOps', () => {
  const cluster = { topicConfig: (_t: string, key: string) => (key === 'cleanup.policy' ? 'delete' : undefined) } as unknown as DataCluster;
  it('turns SET, DELETE, APPEND and SUBTRACT into a merge', () => {
    expect(
      resolveIncrementalOps(cluster, 't', [
        { name: 'retention.ms', configOperation: 0, value: '10' },
        { name: 'segment.ms', configOperation: 1, value: null },
        { name: 'cleanup.policy', configOperation: 2, value: 'compact' },
      ]),
    ).toEqual({ 'retention.ms': '10', 'segment.ms': null, 'cleanup.policy': 'delete,compact' });
    expect(resolveIncrementalOps(cluster, 't', [{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }])).toEqual({
      'cleanup.policy': '',
    });
  });
  it('rejects list operations on scalars, unknown keys and unknown operations', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as KafkaError).code;
      }
      return undefined;
    };
    expect(code(() => resolveIncrementalOps(cluster, 't', [{ name: 'retention.ms', configOperation: 2, value: '1' }]))).toBe(ErrorCode.INVALID_CONFIG);
    expect(code(() => resolveIncrementalOps(cluster, 't', [{ name: 'nope', configOperation: 0, value: '1' }]))).toBe(ErrorCode.INVALID_CONFIG);
    expect(code(() => resolveIncrementalOps(cluster, 't', [{ name: 'retention.ms', configOperation: 9, value: '1' }]))).toBe(ErrorCode.INVALID_REQUEST);
  });
});
