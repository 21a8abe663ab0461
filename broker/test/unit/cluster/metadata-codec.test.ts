import { describe, expect, it } from 'vitest';
import {
  decodeMetadataImage,
  decodeMetadataRecord,
  encodeMetadataImage,
  encodeMetadataRecord,
  MetadataCodecError,
} from '../../../src/cluster/metadata-codec.js';
import type { MetadataRecord } from '../../../src/cluster/metadata-records.js';
import { METADATA_RECORD_TYPES } from '../../../src/cluster/metadata-records.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { applyAll, cluster, registration, withTopic } from './fixtures.js';

/** One record of every type, so a new type without a codec case fails here. */
const samples: readonly MetadataRecord[] = [
  registration(1, 'rack-a'),
  { ...registration(2, null), admin: { host: 'b2', port: 9500 } },
  { type: 'set-broker-state', nodeId: 1, state: 'decommissioning' },
  { type: 'set-maintenance', nodeId: 1, maintenance: true },
  { type: 'set-metadata-voters', voters: [1, 2, 3] },
  {
    type: 'create-topic',
    name: 'orders',
    topicId: '11111111-2222-3333-4444-555555555555',
    partitions: 2,
    replicationFactor: 2,
    internal: false,
    configs: { 'retention.ms': '1000' },
    assignments: [
      [1, 2],
      [2, 1],
    ],
  },
  { type: 'delete-topic', name: 'orders' },
  { type: 'create-partitions', name: 'orders', totalCount: 3, assignments: [[1, 2]] },
  { type: 'set-topic-configs', name: 'orders', configs: {} },
  { type: 'assign-partition', topic: 'orders', partition: 1, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] },
  { type: 'partition-state', topic: 'orders', topicId: 'x', partition: 0, leader: -1, leaderEpoch: 0, isr: [] },
  { type: 'producer-id-block', nodeId: 2, firstProducerId: 2 ** 40, size: 1000 },
  { type: 'set-rebalance', progress: { id: 'r-1', leadersOnly: false, maxMoves: 4, planned: 7, done: 3, finished: false } },
  {
    type: 'set-rebalance',
    progress: { id: 'r-1', leadersOnly: false, maxMoves: 4, planned: 7, done: 3, finished: false, moving: [{ topic: 'orders', topicId: 'x', partition: 2 }] },
  },
];

function errorOf(fn: () => unknown): MetadataCodecError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MetadataCodecError) return err;
    throw err;
  }
  throw new Error('expected a MetadataCodecError');
}

function rawRecord(json: unknown): Buffer {
  return Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(json))]);
}

describe('metadata record codec', () => {
  it('round-trips a record of every type', () => {
    expect(new Set(samples.map((r) => r.type))).toEqual(new Set(METADATA_RECORD_TYPES));
    for (const r of samples) expect(decodeMetadataRecord(encodeMetadataRecord(r))).toEqual(r);
  });

  it('encodes only the record fields, so an object carrying extra properties still decodes', () => {
    const reg = registration(1, 'rack-a');
    const withExtra = { ...reg, note: 'not part of the record', kafka: { ...reg.kafka, tls: true } };
    expect(decodeMetadataRecord(encodeMetadataRecord(withExtra))).toEqual(reg);
  });

  it('names the bad field', () => {
    const bad = (json: unknown) => errorOf(() => decodeMetadataRecord(rawRecord(json)));
    expect(bad({ type: 'set-maintenance', nodeId: 1, maintenance: 'yes' })).toMatchObject({ field: 'maintenance' });
    expect(bad({ type: 'set-maintenance', nodeId: 1, maintenance: 'yes' }).message).toMatch(
      /metadata record field maintenance: expected true or false, got "yes"/,
    );
    expect(bad({ ...samples[5], assignments: [[1, 2], [2, 'x']] }).field).toBe('assignments[1][1]');
    expect(bad({ ...samples[5], assignments: [[1, 2], [2, 2]] }).message).toMatch(/assignments\[1\]: duplicate broker id/);
    expect(bad({ ...samples[0], kafka: { host: 'h', port: 70000 } }).message).toMatch(/kafka.port: 70000 is out of range/);
    expect(bad({ ...samples[0], raft: { host: '', port: 1 } }).field).toBe('raft.host');
    expect(bad({ type: 'set-broker-state', nodeId: 1, state: 'sleeping' }).message).toMatch(/state: expected one of active, decommissioning, removed/);
    expect(bad({ type: 'explode' }).field).toBe('type');
    expect(bad({ type: 'delete-topic', name: 't', extra: 1 }).message).toMatch(/field extra: unknown field/);
    expect(bad({ type: 'partition-state', topic: 't', topicId: 'x', partition: 0, leader: -2, leaderEpoch: 0, isr: [] }).field).toBe('leader');
    expect(bad({ type: 'producer-id-block', nodeId: 1, firstProducerId: 1.5, size: 1 }).field).toBe('firstProducerId');
    expect(bad({ type: 'set-topic-configs', name: 't', configs: { a: 1 } }).field).toBe('configs.a');
    const progress = { id: 'r', leadersOnly: true, maxMoves: 1, planned: 1, done: 1, finished: true };
    expect(bad({ type: 'set-rebalance', progress: { ...progress, maxMoves: 0 } }).field).toBe('progress.maxMoves');
    expect(bad({ type: 'set-rebalance', progress: { ...progress, done: 2 } }).message).toMatch(/progress.done: 2 moves done of 1 planned/);
    const move = { topic: 't', topicId: 'x', partition: 0 };
    expect(bad({ type: 'set-rebalance', progress: { ...progress, moving: [move] } }).message).toMatch(/progress.moving: 1 moves running and 1 done of 1 planned/);
    expect(bad({ type: 'set-rebalance', progress: { ...progress, done: 0, moving: [{ ...move, partition: -1 }] } }).field).toBe('progress.moving[0].partition');
    expect(bad([1, 2]).message).toMatch(/expected an object/);
  });

  it('refuses garbage, truncated input and unknown versions with a clear error', () => {
    expect(errorOf(() => decodeMetadataRecord(new Uint8Array())).message).toMatch(/0 bytes is too short/);
    expect(errorOf(() => decodeMetadataRecord(Buffer.from([9, 0x7b, 0x7d]))).message).toMatch(/unknown format version 9/);
    const good = encodeMetadataRecord(samples[5]!);
    expect(errorOf(() => decodeMetadataRecord(good.subarray(0, good.length - 3))).message).toMatch(/not valid JSON/);
    const rng = new SeededRandom(5);
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + rng.nextInt(40) }, () => rng.nextInt(256)));
      if (rng.chance(0.5)) junk[0] = 1;
      expect(() => decodeMetadataRecord(junk)).toThrow(MetadataCodecError);
      const flipped = Buffer.from(good);
      const at = 1 + rng.nextInt(flipped.length - 1);
      flipped[at] = (flipped[at] ?? 0) ^ (1 << rng.nextInt(8));
      try {
        const r = decodeMetadataRecord(flipped);
        // A flip that keeps valid JSON of the right shape decodes to a well-formed record.
        expect(METADATA_RECORD_TYPES).toContain(r.type);
      } catch (err) {
        expect(err).toBeInstanceOf(MetadataCodecError);
      }
    }
  });

  it('decodes from a view into a larger buffer (a Raft entry inside a batch)', () => {
    const bytes = encodeMetadataRecord(samples[9]!);
    const big = Buffer.concat([Buffer.from('prefix'), bytes, Buffer.from('suffix')]);
    expect(decodeMetadataRecord(big.subarray(6, 6 + bytes.length))).toEqual(samples[9]);
  });
});

describe('metadata image codec', () => {
  const image = (() => {
    let s = cluster({ 1: 'a', 2: 'b', 3: null }, [1, 2, 3]);
    s = withTopic(s, 'zeta', [[1, 2], [2, 3]]);
    s = withTopic(s, 'alpha', [[3, 1]]);
    s = applyAll(s, [
      { type: 'set-maintenance', nodeId: 2, maintenance: true },
      { type: 'producer-id-block', nodeId: 1, firstProducerId: 0, size: 1000 },
      { type: 'assign-partition', topic: 'zeta', partition: 1, replicas: [2, 1, 3], addingReplicas: [1], removingReplicas: [3] },
      { type: 'partition-state', topic: 'alpha', topicId: s.topics.get('alpha')!.topicId, partition: 0, leader: 3, leaderEpoch: 2, isr: [3] },
      { type: 'set-topic-configs', name: 'alpha', configs: { 'cleanup.policy': 'compact' } },
      { ...registration(4, 'c'), admin: { host: 'h4', port: 9600 } },
      { type: 'set-rebalance', progress: { id: 'r-2', leadersOnly: true, maxMoves: 2, planned: 5, done: 5, finished: true } },
    ]);
    return s;
  })();

  it('round-trips an image, and equal images encode to equal bytes', () => {
    const bytes = encodeMetadataImage(image);
    const back = decodeMetadataImage(bytes);
    expect(back).toEqual(image);
    expect(encodeMetadataImage(back).equals(bytes)).toBe(true);
  });

  it('reads an image written before rebalances were recorded (no rebalance field)', () => {
    const json = JSON.parse(encodeMetadataImage(image).subarray(1).toString('utf8')) as Record<string, unknown>;
    delete json.rebalance;
    const back = decodeMetadataImage(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(json))]));
    expect(back).toEqual({ ...image, rebalance: null });
  });

  it('names the bad field of a corrupt image', () => {
    const json = JSON.parse(encodeMetadataImage(image).subarray(1).toString('utf8')) as {
      brokers: { kafka: { port: unknown } }[];
      topics: { partitionImages: { isr: number[] }[]; partitions: number }[];
    };
    const bad = (mutate: (j: typeof json) => void) => {
      const copy = structuredClone(json);
      mutate(copy);
      return errorOf(() => decodeMetadataImage(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(copy))])));
    };
    expect(bad((j) => (j.brokers[1]!.kafka.port = 'x')).field).toBe('brokers[1].kafka.port');
    expect(bad((j) => j.topics[1]!.partitionImages[0]!.isr.push(9)).message).toMatch(
      /topics\[1\]\.partitionImages\[0\]\.isr: broker 9 is not one of the replicas/,
    );
    expect(bad((j) => (j.topics[0]!.partitions = 5)).message).toMatch(/topics\[0\]\.partitionImages: 1 entries for 5 partitions/);
    expect(bad((j) => j.brokers.push(j.brokers[0]!)).message).toMatch(/broker 1 appears twice/);
    const rfMismatch = bad((j) => ((j.topics[0] as unknown as { replicationFactor: number }).replicationFactor = 3));
    expect(rfMismatch.message).toMatch(/metadata image: inconsistent image: alpha-0: target \[3,1\] is not 3 replicas/);
    expect(errorOf(() => decodeMetadataImage(Buffer.from([1, 0x5b, 0x5d]))).message).toMatch(/metadata image: expected an object/);
    expect(errorOf(() => decodeMetadataImage(encodeMetadataRecord(samples[0]!))).message).toMatch(/field clusterId|unknown field/);
  });
});
