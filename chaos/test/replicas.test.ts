import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../broker/src/kafka/protocol/records.js';
import { tmpDataDir } from '../../broker/test/helpers/tmp.js';
import { checkHistory } from '../checker/check.js';
import { checkReplicas, crc32c, frameBatches } from '../checker/replicas.js';
import { countByKind } from '../checker/report.js';

/** Batches as the broker builds them (its own encoder), one record each, at consecutive offsets. */
function batches(values: readonly string[], firstOffset = 0, epoch = 1): Buffer[] {
  return values.map((v, i) => buildRecordBatch({ baseOffset: firstOffset + i, records: [{ value: v, timestamp: 1_700_000_000_000 }], partitionLeaderEpoch: epoch }));
}

function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0') + '.log';
}

/** A broker data dir holding `topic-p` with the given segments (base offset -> bytes). */
function dataDir(partitions: Record<string, Record<number, Buffer>>): string {
  const dir = tmpDataDir('chronik-chaos-replicas-');
  for (const [name, segments] of Object.entries(partitions)) {
    mkdirSync(join(dir, name));
    for (const [base, bytes] of Object.entries(segments)) writeFileSync(join(dir, name, segmentName(Number(base))), bytes);
    // Indexes and checkpoints are not part of the comparison.
    writeFileSync(join(dir, name, 'partition.checkpoint'), String(Math.random()));
  }
  return dir;
}

function kinds(dirs: { broker: string; dir: string }[]): Record<string, number> {
  return Object.fromEntries(countByKind({ results: [checkReplicas(dirs)], ok: false }));
}

describe('replica comparison', () => {
  const values = ['a', 'b', 'c', 'd', 'e'];

  it('uses the same CRC-32C as the broker', () => {
    const buf = Buffer.from('the quick brown fox jumps over the lazy dog');
    expect(crc32c(buf)).toBe(nativeCrc32c(buf));
    const [batch] = batches(['x']);
    expect(frameBatches(batch!, 'f').batches[0]?.crcOk).toBe(true);
  });

  it('finds identical replicas identical, whatever their segment boundaries', () => {
    const all = batches(values);
    const one = dataDir({ 'chaos-0': { 0: Buffer.concat(all) } });
    const two = dataDir({ 'chaos-0': { 0: Buffer.concat(all.slice(0, 2)), 2: Buffer.concat(all.slice(2)) } });
    const result = checkReplicas([
      { broker: 'broker-0', dir: one },
      { broker: 'broker-1', dir: two },
    ]);
    expect(result.violations).toEqual([]);
    expect(result.checked).toBe(1);
    expect(result.figures?.['batches compared']).toBe(5);
  });

  it('reports divergence: same position, different bytes', () => {
    const left = batches(values);
    const right = [...batches(values.slice(0, 3)), ...batches(['X', 'Y'], 3)];
    const result = checkReplicas([
      { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(left) } }) },
      { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(right) } }) },
    ]);
    expect(result.violations.map((v) => v.kind)).toEqual(['replica-divergence']);
    expect(result.violations[0]?.message).toContain('base offsets 3 and 3');
  });

  it('reports divergence in the leader epoch alone (bytes, not just values, must agree)', () => {
    const result = checkReplicas([
      { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(batches(values, 0, 1)) } }) },
      { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(batches(values, 0, 2)) } }) },
    ]);
    expect(result.violations.map((v) => v.kind)).toEqual(['replica-divergence']);
  });

  it('reports a replica that is behind', () => {
    const all = batches(values);
    expect(
      kinds([
        { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all) } }) },
        { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all.slice(0, 3)) } }) },
        { broker: 'broker-2', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all) } }) },
      ]),
    ).toEqual({ 'replica-behind': 1 });
  });

  it('lines replicas up past segments retention removed from one of them', () => {
    const all = batches(values);
    expect(
      kinds([
        { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all.slice(0, 2)), 2: Buffer.concat(all.slice(2)) } }) },
        { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 2: Buffer.concat(all.slice(2)) } }) },
      ]),
    ).toEqual({});
  });

  it('reports a corrupt batch and a torn tail', () => {
    const all = batches(values);
    const flipped = Buffer.concat(all);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 3) ^ 0xff, flipped.length - 3);
    const torn = Buffer.concat([Buffer.concat(all), all[0]!.subarray(0, 20)]);
    const result = checkReplicas([
      { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all) } }) },
      { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 0: flipped } }) },
      { broker: 'broker-2', dir: dataDir({ 'chaos-0': { 0: torn } }) },
    ]);
    const byKind = result.violations.map((v) => `${v.kind} ${v.message.split(':')[0]}`).sort();
    expect(byKind).toEqual(['replica-corrupt broker-1', 'replica-corrupt broker-2', `replica-divergence broker-1 and broker-0 differ at batch 4 (base offsets 4 and 4), byte ${all[4]!.length - 3} of the batch; CRC bad on broker-1, ok on broker-0`].sort());
  });

  it('compares each partition on its own and skips partitions with one replica', () => {
    const all = batches(values);
    const result = checkReplicas([
      { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all) }, 'chaos-1': { 0: Buffer.concat(all) }, 'other-0': { 0: all[0]! } }) },
      { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all) }, 'chaos-1': { 0: Buffer.concat(all.slice(0, 4)) } }) },
    ]);
    expect(result.violations.map((v) => [v.kind, v.partition])).toEqual([['replica-behind', 'chaos-1']]);
    expect(result.checked).toBe(2);
    expect(result.figures?.['partition dirs']).toBe(3);
  });

  it('runs as part of the history check when data dirs are given', () => {
    const all = batches(values);
    const report = checkHistory([], {
      replicas: [
        { broker: 'broker-0', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all) } }) },
        { broker: 'broker-1', dir: dataDir({ 'chaos-0': { 0: Buffer.concat(all.slice(1)) } }) },
      ],
    });
    expect(report.results.map((r) => r.name)).toContain('replica logs');
    expect(report.ok).toBe(true);
  });

  it('counts a metadata tail written while the brokers stopped, once the files agreed while they ran, and nothing else', () => {
    const all = batches(values);
    const replicas = [
      { broker: 'broker-0', dir: dataDir({ '__cluster_metadata-0': { 0: Buffer.concat(all) }, 'chaos-0': { 0: Buffer.concat(all) } }) },
      { broker: 'broker-1', dir: dataDir({ '__cluster_metadata-0': { 0: Buffer.concat(all.slice(0, 4)) }, 'chaos-0': { 0: Buffer.concat(all.slice(0, 4)) } }) },
    ];
    const strict = checkHistory([], { replicas });
    expect(strict.results.flatMap((r) => r.violations.map((v) => v.partition))).toEqual(['__cluster_metadata-0', 'chaos-0']);
    const lenient = checkHistory([], { replicas, convergedWhileRunning: true });
    const logs = lenient.results.find((r) => r.name === 'replica logs');
    expect(logs?.violations.map((v) => [v.kind, v.partition])).toEqual([['replica-behind', 'chaos-0']]);
    expect(logs?.figures?.['metadata tails written while the brokers stopped (not counted)']).toBe(1);
  });
});
