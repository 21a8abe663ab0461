import { describe, expect, it } from 'vitest';
import { applyMetadataRecord, emptyMetadataState, type MetadataRecord } from '../../../src/cluster/metadata-state.js';

const create: MetadataRecord = {
  type: 'create-topic',
  name: 'orders',
  topicId: '11111111-2222-3333-4444-555555555555',
  partitions: 3,
  replicationFactor: 1,
  internal: false,
  configs: { 'retention.ms': '1000' },
};

describe('applyMetadataRecord', () => {
  it('creates, grows, reconfigures and deletes a topic without mutating earlier states', () => {
    const s0 = emptyMetadataState('cid');
    const s1 = applyMetadataRecord(s0, create);
    expect(s0.topics.size).toBe(0);
    expect(s1.version).toBe(1);
    expect(s1.topics.get('orders')).toMatchObject({ partitions: 3, configs: { 'retention.ms': '1000' } });

    const s2 = applyMetadataRecord(s1, { type: 'create-partitions', name: 'orders', totalCount: 5 });
    expect(s2.topics.get('orders')?.partitions).toBe(5);
    expect(s1.topics.get('orders')?.partitions).toBe(3);

    const s3 = applyMetadataRecord(s2, { type: 'set-topic-configs', name: 'orders', configs: { 'cleanup.policy': 'compact' } });
    expect(s3.topics.get('orders')?.configs).toEqual({ 'cleanup.policy': 'compact' });

    const s4 = applyMetadataRecord(s3, { type: 'delete-topic', name: 'orders' });
    expect(s4.topics.has('orders')).toBe(false);
    expect(s4.version).toBe(4);
    expect(s4.clusterId).toBe('cid');
  });

  it('refuses records that do not fit the state', () => {
    const s1 = applyMetadataRecord(emptyMetadataState('cid'), create);
    expect(() => applyMetadataRecord(s1, create)).toThrow(/already exists/);
    expect(() => applyMetadataRecord(s1, { type: 'delete-topic', name: 'nope' })).toThrow(/does not exist/);
    expect(() => applyMetadataRecord(s1, { type: 'create-partitions', name: 'orders', totalCount: 2 })).toThrow(/already has 3/);
  });
});
