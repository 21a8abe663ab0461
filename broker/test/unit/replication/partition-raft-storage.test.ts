/** The raft log as the partition's segments: empty leader entries take no offset, and survive restarts. */
import { truncateSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { createLogManager, type FileLogManager } from '../../../src/log/index.js';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';
import { ENTRIES_UNAVAILABLE } from '../../../src/raft/storage.js';
import { HardStateJournal } from '../../../src/replication/hard-state-journal.js';
import { PartitionRaftStorage } from '../../../src/replication/partition-raft-storage.js';
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
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.logs.close();
    o.journal.close();
  }
});

async function storage(dir: string): Promise<{ s: PartitionRaftStorage; journal: HardStateJournal; logs: FileLogManager }> {
  const logger = silentLogger();
  const logs = createLogManager({ dataDir: dir, logger });
  const journal = await HardStateJournal.open(path.join(dir, 'raft'), logs.committer, logger);
  open.push({ logs, journal });
  const log = await logs.open('t', 0, logConfig);
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

describe('partition raft storage', () => {
  it('empty leader entries take no offset, and come back after a restart where they are', async () => {
    const dir = tmpDataDir();
    const a = await storage(dir);
    a.s.append(history());
    await a.s.sync();
    expect(a.s.endOffset()).toBe(3);
    expect(a.s.offsetAfter(2)).toBe(2);
    expect(a.s.offsetAfter(4)).toBe(2);
    expect(a.s.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 2 });
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
    const dir = tmpDataDir();
    const a = await storage(dir);
    a.s.append(history());
    await a.s.sync();
    const before = shape(a.s);
    await a.logs.close();
    a.journal.close();
    open.length = 0;
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
});
