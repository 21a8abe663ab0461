import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { javaHashCode, partitionForKey } from '../../../src/coordinator/group-partition.js';
import {
  CoordinatorRecordError,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupValue,
  encodeKey,
  encodeOffsetValue,
} from '../../../src/coordinator/offsets-records.js';
import { ProducerIdAllocator } from '../../../src/coordinator/producer-ids.js';
import { tmpDataDir } from '../../helpers/index.js';

describe('group partition (Kafka-compatible)', () => {
  it('computes Java String.hashCode in int32 arithmetic', () => {
    expect(javaHashCode('')).toBe(0);
    expect(javaHashCode('a')).toBe(97);
    expect(javaHashCode('hello')).toBe(99162322);
    expect(javaHashCode('ab')).toBe(97 * 31 + 98);
    // A well-known string whose hash is Integer.MIN_VALUE: Kafka's Utils.abs maps it to 0.
    expect(javaHashCode('polygenelubricants')).toBe(-2147483648);
    expect(partitionForKey('polygenelubricants', 50)).toBe(0);
  });

  it('maps keys onto the partitions like abs(hashCode) % n', () => {
    expect(partitionForKey('hello', 50)).toBe(99162322 % 50);
    // Negative hash: abs first.
    const h = javaHashCode('group-with-negative-hash-zz');
    expect(partitionForKey('group-with-negative-hash-zz', 7)).toBe(Math.abs(h) % 7);
    for (let i = 0; i < 200; i++) {
      const p = partitionForKey(`g${i}`, 13);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(13);
    }
    expect(() => partitionForKey('x', 0)).toThrow(RangeError);
  });
});

describe('offsets topic records', () => {
  it('round-trips offset and group records, with stable key bytes', () => {
    const key = encodeKey({ type: 'offset', group: 'g', topic: 't', partition: 3 });
    expect(key.equals(encodeKey({ type: 'offset', group: 'g', topic: 't', partition: 3 }))).toBe(true);
    expect(decodeKey(key)).toEqual({ type: 'offset', group: 'g', topic: 't', partition: 3 });
    const offset = { offset: 12, leaderEpoch: 2, metadata: 'm', commitTimestamp: 5, expireTimestamp: -1 };
    expect(decodeOffsetValue(encodeOffsetValue(offset))).toEqual(offset);
    const group = {
      protocolType: 'consumer',
      generation: 4,
      protocol: 'range',
      leader: 'a',
      stateTimestamp: 9,
      members: [
        {
          memberId: 'a',
          groupInstanceId: null,
          clientId: 'c',
          clientHost: 'h',
          sessionTimeoutMs: 10,
          rebalanceTimeoutMs: 20,
          subscription: Buffer.from([0, 1, 2]),
          assignment: Buffer.from([255]),
        },
      ],
    };
    expect(decodeGroupValue(encodeGroupValue(group))).toEqual(group);
    expect(decodeKey(encodeKey({ type: 'group', group: 'g' }))).toEqual({ type: 'group', group: 'g' });
  });

  it('rejects unreadable records with a CoordinatorRecordError naming the problem', () => {
    expect(() => decodeKey(Buffer.from('not json'))).toThrow(CoordinatorRecordError);
    expect(() => decodeKey(Buffer.from('{"version":2,"type":"group","group":"g"}'))).toThrow(/version 2/);
    expect(() => decodeKey(Buffer.from('{"version":1,"type":"other"}'))).toThrow(/key.type/);
    expect(() => decodeOffsetValue(Buffer.from('{"version":1,"offset":"x"}'))).toThrow(/offset value.offset/);
    expect(() => decodeGroupValue(Buffer.from('{"version":1,"members":{}}'))).toThrow(/members/);
  });
});

describe('ProducerIdAllocator', () => {
  it('hands out increasing ids and never reuses one after a restart, even mid-block', async () => {
    const dir = tmpDataDir();
    const a = await ProducerIdAllocator.open(dir, 0, 10);
    const first = [await a.allocate(), await a.allocate(), await a.allocate()];
    expect(first).toEqual([0, 1, 2]);
    const persisted = JSON.parse(await readFile(join(dir, 'coordinator', 'producer-ids.json'), 'utf8'));
    expect(persisted).toEqual({ version: 1, reservedUpTo: 10 });
    // "Crash" without handing out the rest of the block: the next incarnation starts after it.
    const b = await ProducerIdAllocator.open(dir, 0, 10);
    expect(await b.allocate()).toBe(10);
    expect(b.mayHaveIssued(2)).toBe(true);
    expect(b.mayHaveIssued(25)).toBe(false);
  });

  it('reserves a new block when one runs out, also under concurrent callers', async () => {
    const dir = tmpDataDir();
    const a = await ProducerIdAllocator.open(dir, 0, 4);
    const ids = await Promise.all(Array.from({ length: 10 }, () => a.allocate()));
    expect(new Set(ids).size).toBe(10);
    expect([...ids].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = await ProducerIdAllocator.open(dir, 0, 4);
    expect(await b.allocate()).toBe(12);
  });

  it('gives each node its own id range and refuses a corrupt file with a clear error', async () => {
    const dir = tmpDataDir();
    const n3 = await ProducerIdAllocator.open(dir, 3, 10);
    expect(await n3.allocate()).toBe(3 * 2 ** 36);
    await writeFile(join(dir, 'coordinator', 'producer-ids.json'), '{"version":1,"reservedUpTo":"x"}');
    await expect(ProducerIdAllocator.open(dir, 3)).rejects.toThrow(/producer-id file/);
  });
});
