/** The raft log as the partition's segments: empty leader entries take no offset, and survive restarts. */
import { truncateSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchField, buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { createLogManager, type FileLogManager } from '../../../src/log/index.js';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { FileSystem } from '../../../src/platform/file-system.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';
import { ENTRIES_UNAVAILABLE } from '../../../src/raft/storage.js';
import { HardStateJournal } from '../../../src/replication/hard-state-journal.js';
import { DivergedEntry, PartitionRaftStorage } from '../../../src/replication/partition-raft-storage.js';
import { FlippingFileSystem } from '../../helpers/flipping-fs.js';
import { tmpDataDir } from '../../helpers/tmp.js';

const logConfig: LogConfig = {
  segmentBytes: 1 << 20,
  segmentMs: 7 * 24 * 3600_000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  cleanupPolicy: 'delete',
  timestampType: 'CreateTime',
};

const open: { logs: FileLogManager; journal: HardStateJournal }[] = [];
afterEach(closeAll);

/** `beforeScan` runs once the partition log is open, before the raft storage reads it. */
async function storage(dir: string, fs?: FileSystem, beforeScan?: () => void): Promise<{ s: PartitionRaftStorage; journal: HardStateJournal; logs: FileLogManager }> {
  const logger = silentLogger();
  const logs = createLogManager({ dataDir: dir, logger, ...(fs !== undefined ? { fs } : {}) });
  const journal = await HardStateJournal.open(path.join(dir, 'raft'), logs.committer, logger);
  open.push({ logs, journal });
  const log = await logs.open('t', 0, logConfig);
  beforeScan?.();
  const s = await PartitionRaftStorage.open({ group: 5, log, journal, initialConf: { voters: [1], learners: [] }, logger });
  return { s, journal, logs };
}

const noop = (term: number, index: number): Entry => ({ term, index, type: EntryType.Normal, data: new Uint8Array(0) });

function data(term: number, index: number, base: number, records: number): Entry {
  const b = buildRecordBatch({ baseOffset: base, partitionLeaderEpoch: term, records: Array.from({ length: records }, (_, i) => ({ value: `v${index}-${i}`, timestamp: 1 })) });
  return { term, index, type: EntryType.Normal, data: b };
}

/** Terms 1 (no-op, 2 records), 2 (no-op only), 3 (no-op, 1 record). */
function history(): Entry[] {
  return [noop(1, 1), data(1, 2, 0, 2), noop(2, 3), noop(3, 4), data(3, 5, 2, 1)];
}

function shape(s: PartitionRaftStorage): unknown {
  const ents = s.entries(1, s.lastIndex() + 1, Infinity);
  if (!Array.isArray(ents)) throw new Error('entries not in memory');
  return { last: s.lastIndex(), end: s.endOffset(), entries: ents.map((e) => [e.index, e.term, e.data.length > 0]), terms: s.termHistory() };
}

/** Writes `entries` to a fresh storage and closes it; the directory and the storage's shape before closing. */
async function written(entries: Entry[]): Promise<{ dir: string; before: unknown }> {
  const dir = tmpDataDir();
  const a = await storage(dir);
  a.s.append(entries);
  await a.s.sync();
  const before = shape(a.s);
  await closeAll();
  return { dir, before };
}

async function closeAll(): Promise<void> {
  for (const o of open.splice(0)) {
    await o.logs.close();
    o.journal.close();
  }
}

describe('partition raft storage', () => {
  it('an entry from the leader that does not continue the log where its predecessors end is a DivergedEntry naming where that term starts', async () => {
    const a = await storage(tmpDataDir());
    a.s.append(history());
    // Term 3 began at offset 2 (its no-op, then a record at 2): the leader's next entry says the
    // log should end at 4, this one ends at 3.
    let err: unknown;
    try {
      a.s.append([data(3, 6, 4, 1)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DivergedEntry);
    expect((err as DivergedEntry).offset).toBe(2);
    expect((err as DivergedEntry).message).toMatch(/entry 6 carries offset 4, the log continues at 3/);
  });

  it('empty leader entries take no offset, and come back after a restart where they are', async () => {
    const dir = tmpDataDir();
    const a = await storage(dir);
    a.s.append(history());
    await a.s.sync();
    expect(a.s.endOffset()).toBe(3);
    expect(a.s.offsetAfter(2)).toBe(2);
    expect(a.s.offsetAfter(4)).toBe(2);
    expect(a.s.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 2 });
    // Older than every epoch the log holds: the epoch asked, ending where the earliest begins.
    expect(a.s.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 0 });
    const before = shape(a.s);
    await a.logs.close();
    a.journal.close();
    open.length = 0;
    const b = await storage(dir);
    expect(shape(b.s)).toEqual(before);
    // Read from the segments (nothing cached below the commit): the walk puts the empty entries back.
    b.s.trimCache(6);
    expect(b.s.entries(1, 6, Infinity)).toBe(ENTRIES_UNAVAILABLE);
    await new Promise<void>((resolve) => (b.s.onAvailable = resolve));
    const read = b.s.entries(1, 6, Infinity);
    expect(Array.isArray(read) ? read.map((e) => [e.index, e.term, e.data.length > 0]) : read).toEqual([
      [1, 1, false],
      [2, 1, true],
      [3, 2, false],
      [4, 3, false],
      [5, 3, true],
    ]);
  });

  it('a term\'s empty entry lost with a torn journal tail is derived again from its first batch', async () => {
    const { dir, before } = await written(history());
    // The journal's last record (term 3's empty entry) is cut; its batch is on disk.
    const file = path.join(dir, 'raft', 'hardstate.journal');
    truncateSync(file, statSync(file).size - 41);
    const b = await storage(dir);
    expect(shape(b.s)).toEqual(before);
  });

  it('truncation forgets the cut empty entries, durably', async () => {
    const dir = tmpDataDir();
    const a = await storage(dir);
    a.s.append(history());
    await a.s.sync();
    await a.s.truncateFrom(3);
    a.s.append([noop(4, 3), data(4, 4, 2, 3)]);
    await a.s.sync();
    const before = shape(a.s);
    expect(a.s.endOffset()).toBe(5);
    await a.logs.close();
    a.journal.close();
    open.length = 0;
    const b = await storage(dir);
    expect(shape(b.s)).toEqual(before);
  });

  it('a bit flipped in a read while truncating does not move the cut: the log ends where the storage does', async () => {
    // Seed 11 of the system simulator: a follower replaces its term-2 entries (an empty entry and
    // the batch at 34) with its new leader's; the truncation walk read the batch at 31 with one
    // bit of its lastOffsetDelta flipped, took it for [31, 8388641] and cut at 31, while the
    // storage went on believing its log ran to 34.
    const dir = tmpDataDir();
    const disk = new FlippingFileSystem();
    const a = await storage(dir, disk);
    const term1 = [noop(1, 1), data(1, 2, 0, 5), data(1, 3, 5, 26), data(1, 4, 31, 3)];
    a.s.append([...term1, noop(2, 5), data(2, 6, 34, 2)]);
    await a.s.sync();
    expect(a.s.endOffset()).toBe(36);
    // The batch at 31 starts after the bytes of the entries before it (each stored exactly).
    const at31 = term1.reduce((n, e) => n + e.data.length, 0) - (term1[3] as Entry).data.length;
    disk.flipOnce('.log', at31 + BatchField.lastOffsetDelta + 1, 0x80);
    await a.s.truncateFrom(5);
    expect(disk.flipped).toBe(1);
    expect(a.s.lastIndex()).toBe(4);
    expect(a.s.endOffset()).toBe(34);
    a.s.append([noop(3, 5), data(3, 6, 34, 5)]);
    await a.s.sync();
    expect(a.s.endOffset()).toBe(39);
    await a.logs.close();
    a.journal.close();
    open.length = 0;
    const b = await storage(dir);
    expect(b.s.lastIndex()).toBe(6);
    expect(b.s.endOffset()).toBe(39);
    expect(b.s.termHistory().map((t) => [t.term, t.index, t.offset])).toEqual([
      [1, 1, 0],
      [3, 5, 34],
    ]);
  });

  it('at start-up, one read with a bit flipped in a batch\'s leader epoch or base offset (no CRC covers them) changes neither entries nor terms', async () => {
    // System simulator seeds 12 and 168 (header flips): the scan took a flipped epoch for a new
    // term (a durable empty entry of a term nobody led) and a flipped base offset for the end of
    // the log, so the raft index stopped short of the segments and the next append failed.
    const entries = [noop(1, 1), data(1, 2, 0, 2), data(1, 3, 2, 3), noop(3, 4), data(3, 5, 5, 1), data(3, 6, 6, 2)];
    const { dir, before } = await written(entries);
    const at = (index: number): number => entries.filter((e) => e.index < index).reduce((n, e) => n + e.data.length, 0);
    const flips: [string, number, number][] = [
      ['epoch of the batch at 2', at(3) + BatchField.partitionLeaderEpoch + 2, 0x40],
      ['epoch of the batch at 6', at(6) + BatchField.partitionLeaderEpoch + 3, 0x01],
      ['base offset of the batch at 2', at(3) + BatchField.baseOffset + 7, 0x10],
      ['base offset of the batch at 5', at(5) + BatchField.baseOffset + 5, 0x01],
    ];
    for (const [what, position, mask] of flips) {
      const disk = new FlippingFileSystem();
      const b = await storage(dir, disk, () => disk.flipOnce('.log', position, mask));
      expect(disk.flipped, what).toBe(1);
      expect(shape(b.s), what).toEqual(before);
      await closeAll();
    }
    const c = await storage(dir);
    expect(shape(c.s)).toEqual(before);
  });

  it('entries read back from the segments with a flipped leader epoch are read again, not handed to the core', async () => {
    const dir = tmpDataDir();
    const entries = [noop(1, 1), data(1, 2, 0, 2), data(1, 3, 2, 3), noop(3, 4), data(3, 5, 5, 1)];
    const disk = new FlippingFileSystem();
    const a = await storage(dir, disk);
    a.s.append(entries);
    await a.s.sync();
    const at3 = entries.filter((e) => e.index < 3).reduce((n, e) => n + e.data.length, 0);
    a.s.trimCache(6);
    disk.flipOnce('.log', at3 + BatchField.partitionLeaderEpoch + 3, 0x02);
    expect(a.s.entries(2, 6, Infinity)).toBe(ENTRIES_UNAVAILABLE);
    await new Promise<void>((resolve) => (a.s.onAvailable = resolve));
    const read = a.s.entries(2, 6, Infinity);
    expect(disk.flipped).toBe(1);
    expect(Array.isArray(read) ? read.map((e) => [e.index, e.term, Buffer.from(e.data).equals(Buffer.from((entries[e.index - 1] as Entry).data))]) : read).toEqual([
      [2, 1, true],
      [3, 1, true],
      [4, 3, true],
      [5, 3, true],
    ]);
  });

  it('a hard-state journal record that fails its CRC in one read is read again, not cut', async () => {
    const { dir, before } = await written(history());
    const file = path.join(dir, 'raft', 'hardstate.journal');
    const size = statSync(file).size;
    const disk = new FlippingFileSystem();
    disk.flipOnce('hardstate.journal', 45, 0x04);
    const b = await storage(dir, disk);
    expect(disk.flipped).toBe(1);
    expect(statSync(file).size).toBe(size);
    expect(shape(b.s)).toEqual(before);
  });

  it('the raft snapshot record carries a checksum: a flipped read of it is read again, a damaged file fails the open', async () => {
    const { dir, before } = await written(history());
    const disk = new FlippingFileSystem();
    disk.flipOnce('raft-snapshot.json', 12, 0x01);
    const b = await storage(dir, disk);
    expect(disk.flipped).toBe(1);
    expect(shape(b.s)).toEqual(before);
    await closeAll();
    const always = new FlippingFileSystem();
    always.flipAlways('raft-snapshot.json', 12, 0x01);
    await expect(storage(dir, always)).rejects.toThrow(/raft-snapshot\.json fails its checksum on 4 reads/);
  });

  it('a truncation the log cannot make exactly fails, leaving log and storage as they were', async () => {
    const dir = tmpDataDir();
    const disk = new FlippingFileSystem();
    const a = await storage(dir, disk);
    a.s.append(history());
    await a.s.sync();
    const before = shape(a.s);
    // The batch of entry 2 (offsets 0 and 1) reads corrupt every time: where it ends is unknown.
    disk.flipAlways('.log', BatchField.lastOffsetDelta + 1, 0x80);
    await expect(a.s.truncateFrom(5)).rejects.toThrow(/cannot truncate to 2: the batch at position 0 .* fails on 3 reads/);
    disk.stop();
    expect(shape(a.s)).toEqual(before);
    await a.logs.close();
    a.journal.close();
    open.length = 0;
    const b = await storage(dir);
    expect(shape(b.s)).toEqual(before);
  });
});
