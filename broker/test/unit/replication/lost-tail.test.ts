/**
 * Lost tails on real files: a replica whose segment lost acknowledged batches is told at open
 * (its recorded log end is past the log), starts a new incarnation with the end it must reach
 * again, durably, and is told again at every start until it has recovered.
 */
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../../src/kafka/protocol/records.js';
import { createLogManager, type FileLogManager } from '../../../src/log/index.js';
import type { LogConfig } from '../../../src/log/types.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { encodeConfChange } from '../../../src/raft/membership.js';
import { ConfChangeOp, EntryType, type Entry } from '../../../src/raft/types.js';
import { HardStateJournal } from '../../../src/replication/hard-state-journal.js';
import { checkLostTail, noteRecovered } from '../../../src/replication/lost-tail.js';
import { PartitionRaftStorage } from '../../../src/replication/partition-raft-storage.js';
import { nodeFileSystem, type FileSystem } from '../../../src/platform/file-system.js';
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

const GROUP = 7;
const SELF = 1;
const open: { logs: FileLogManager; journal: HardStateJournal }[] = [];
async function closeAll(): Promise<void> {
  for (const o of open.splice(0)) {
    await o.logs.close();
    o.journal.close();
  }
}
afterEach(closeAll);

/** The real file system on a machine whose boot id is `boot` (null: the platform does not tell). */
function booted(boot: string | null): FileSystem {
  return { ...nodeFileSystem, bootId: () => boot };
}

async function replica(dir: string, voters: number[], fs?: FileSystem): Promise<{ s: PartitionRaftStorage; journal: HardStateJournal }> {
  const logger = silentLogger();
  const logs = createLogManager({ dataDir: dir, logger, ...(fs !== undefined ? { fs } : {}) });
  const journal = await HardStateJournal.open(path.join(dir, 'raft'), logs.committer, logger);
  open.push({ logs, journal });
  const log = await logs.open('t', 0, logConfig);
  const s = await PartitionRaftStorage.open({ group: GROUP, log, journal, initialConf: { voters, learners: [] }, logger });
  return { s, journal };
}

function batch(term: number, index: number, base: number): Entry {
  const b = buildRecordBatch({ baseOffset: base, partitionLeaderEpoch: term, records: [{ value: `v${index}`, timestamp: 1 }] });
  return { term, index, type: EntryType.Normal, data: b };
}

const noop = (term: number, index: number): Entry => ({ term, index, type: EntryType.Normal, data: new Uint8Array(0) });

/** Ten entries of term 2: an empty leader entry and nine one-record batches at offsets 0..8. */
function entries(): Entry[] {
  const out = [noop(2, 1)];
  for (let i = 2; i <= 10; i++) out.push(batch(2, i, i - 2));
  return out;
}

function segmentFile(dir: string): string {
  return path.join(dir, 't-0', '00000000000000000000.log');
}

/** Writes the entries as the host does (append, then one sync), and stops the broker. */
async function writeAndStop(dir: string, voters: number[], more: Entry[] = entries()): Promise<void> {
  const { s, journal } = await replica(dir, voters);
  await checkLostTail(GROUP, SELF, s, journal, silentLogger(), {});
  s.append(more);
  s.setHardState({ term: 2, vote: 1, commit: 4 });
  await s.sync();
  await closeAll();
}

/** Cuts the last `batches` one-record batches off the segment (what recovery leaves of a corrupt tail). */
function cutBatches(dir: string, batches: number): void {
  const file = segmentFile(dir);
  const one = buildRecordBatch({ baseOffset: 0, partitionLeaderEpoch: 2, records: [{ value: 'v2', timestamp: 1 }] }).length;
  truncateSync(file, statSync(file).size - batches * one);
}

describe('lost tails at open', () => {
  it('a clean restart is no loss', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    const { s, journal } = await replica(dir, [1, 2, 3]);
    expect(await checkLostTail(GROUP, SELF, s, journal, silentLogger(), {})).toEqual({ incarnation: 0, recoverTo: null });
  });

  it('a log that lost acknowledged batches recovers to where it ended, in a new incarnation each start', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    cutBatches(dir, 3);
    let r = await replica(dir, [1, 2, 3]);
    expect(r.s.lastIndex()).toBe(7);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 1, recoverTo: { index: 10, term: 2 } });
    await closeAll();
    // Durable before anything is sent: a crash now still finds it, and starts another incarnation.
    r = await replica(dir, [1, 2, 3]);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 2, recoverTo: { index: 10, term: 2 } });
    // The leader gives the entries back; the core reaches its target and the host records it.
    r.s.append([batch(2, 8, 6), batch(2, 9, 7), batch(2, 10, 8), batch(2, 11, 9)]);
    noteRecovered(GROUP, 2, r.journal, silentLogger(), {});
    await r.s.sync();
    await closeAll();
    r = await replica(dir, [1, 2, 3]);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 2, recoverTo: null });
  });

  it('a recovery already reached but not yet recorded is recorded at the next start', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    cutBatches(dir, 2);
    let r = await replica(dir, [1, 2, 3]);
    expect((await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).recoverTo).toEqual({ index: 10, term: 2 });
    r.s.append([batch(2, 9, 7), batch(2, 10, 8)]);
    await r.s.sync();
    await closeAll();
    r = await replica(dir, [1, 2, 3]);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 1, recoverTo: null });
  });

  it('the end is recorded in the round that writes the entries, so even a follower\'s uncommitted tail counts', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    const r = await replica(dir, [1, 2, 3]);
    expect(r.journal.logEnd(GROUP)).toEqual({ index: 10, term: 2, voters: 3 });
    // Commit is 4 in the hard state: only the recorded end tells that 5..10 were acknowledged.
    expect(r.journal.get(GROUP)?.commit).toBe(4);
  });

  it('a replica that was the only voter goes on without what it lost', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1]);
    cutBatches(dir, 2);
    const r = await replica(dir, [1]);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 0, recoverTo: null });
    await closeAll();
    // And it is not told again at the next start.
    const again = await replica(dir, [1]);
    expect(await checkLostTail(GROUP, SELF, again.s, again.journal, silentLogger(), {})).toEqual({ incarnation: 0, recoverTo: null });
  });

  it('counts the voters of the configuration the lost log ended with, not of what is left', async () => {
    const dir = tmpDataDir();
    // Founded with one voter, a second added at entry 11 (in the part that gets lost).
    const grow = encodeConfChange({ change: { op: ConfChangeOp.AddVoter, node: 2 }, conf: { voters: [1, 2], learners: [] } });
    const conf: Entry = { term: 2, index: 11, type: EntryType.ConfChange, data: grow };
    await writeAndStop(dir, [1], [...entries(), conf]);
    const r0 = await replica(dir, [1]);
    expect(r0.s.lastIndex()).toBe(11);
    await closeAll();
    // Keep entries 1..9 (the empty entry and the batches of v2..v9, all of one size): the control
    // batch with the configuration goes, and the batch before it.
    const one = buildRecordBatch({ baseOffset: 0, partitionLeaderEpoch: 2, records: [{ value: 'v2', timestamp: 1 }] }).length;
    truncateSync(segmentFile(dir), 8 * one);
    const r = await replica(dir, [1]);
    expect(r.s.lastIndex()).toBe(9);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 1, recoverTo: { index: 11, term: 2 } });
  });

  it('the log end and recovery state are gone with the replica', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    cutBatches(dir, 1);
    const r = await replica(dir, [1, 2, 3]);
    await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {});
    r.journal.remove(GROUP);
    expect(r.journal.logEnd(GROUP)).toBeNull();
    expect(r.journal.recovery(GROUP)).toBeNull();
  });
});

describe('after a power loss', () => {
  /**
   * Boot `boot-1` writes entries 1..10 in one round and 11..13 in the next (which also carries the
   * first round's durable end), then stops; the segment is cut to `keep` entries.
   */
  async function twoRounds(dir: string, keep: number): Promise<void> {
    const { s, journal } = await replica(dir, [1, 2, 3], booted('boot-1'));
    await checkLostTail(GROUP, SELF, s, journal, silentLogger(), {});
    s.append(entries());
    s.setHardState({ term: 2, vote: 1, commit: 4 });
    await s.sync();
    s.append([batch(2, 11, 9), batch(2, 12, 10), batch(2, 13, 11)]);
    await s.sync();
    await closeAll();
    cutBatches(dir, 13 - keep);
  }

  it('a log that ends where it was last durable, before the last round, lost only that round (never acknowledged)', async () => {
    const dir = tmpDataDir();
    await twoRounds(dir, 10);
    const r = await replica(dir, [1, 2, 3], booted('boot-2'));
    expect(r.journal.rebooted).toBe(true);
    expect(r.journal.durableEnd(GROUP)).toEqual({ index: 10, term: 2 });
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 0, recoverTo: null });
  });

  it('the same log in a replica opened again after its group failed (its own cut, not the power loss) lost acknowledged entries', async () => {
    const dir = tmpDataDir();
    await twoRounds(dir, 10);
    const r = await replica(dir, [1, 2, 3], booted('boot-2'));
    expect(r.journal.rebooted).toBe(true);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {}, true)).toEqual({ incarnation: 1, recoverTo: { index: 13, term: 2 } });
  });

  it('the same log after a process crash (same boot id) lost acknowledged entries', async () => {
    const dir = tmpDataDir();
    await twoRounds(dir, 10);
    const r = await replica(dir, [1, 2, 3], booted('boot-1'));
    expect(r.journal.rebooted).toBe(false);
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 1, recoverTo: { index: 13, term: 2 } });
  });

  it('a log that ends before where it was durable lost entries, power loss or not', async () => {
    const dir = tmpDataDir();
    await twoRounds(dir, 8);
    const r = await replica(dir, [1, 2, 3], booted('boot-2'));
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 1, recoverTo: { index: 13, term: 2 } });
  });

  it('the boot id is recorded with the first round, so a second crash in the new boot is read strictly', async () => {
    const dir = tmpDataDir();
    await twoRounds(dir, 13);
    let r = await replica(dir, [1, 2, 3], booted('boot-2'));
    expect(r.journal.rebooted).toBe(true);
    await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {});
    r.s.append([batch(2, 14, 12)]);
    await r.s.sync();
    await closeAll();
    r = await replica(dir, [1, 2, 3], booted('boot-2'));
    expect(r.journal.rebooted).toBe(false);
  });

  it('a data directory with no boot id recorded (an unknown platform) is read strictly', async () => {
    const dir = tmpDataDir();
    const { s, journal } = await replica(dir, [1, 2, 3], booted(null));
    await checkLostTail(GROUP, SELF, s, journal, silentLogger(), {});
    s.append(entries());
    await s.sync();
    s.append([batch(2, 11, 9)]);
    await s.sync();
    await closeAll();
    cutBatches(dir, 1);
    const r = await replica(dir, [1, 2, 3], booted('boot-2'));
    expect(r.journal.rebooted).toBe(false);
    expect((await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).recoverTo).toEqual({ index: 11, term: 2 });
  });

  it('a durable end with no round to ride on is written after a short linger', async () => {
    const dir = tmpDataDir();
    const { s, journal } = await replica(dir, [1, 2, 3], booted('boot-1'));
    await checkLostTail(GROUP, SELF, s, journal, silentLogger(), {});
    s.append(entries());
    await s.sync();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await closeAll();
    const r = await replica(dir, [1, 2, 3], booted('boot-1'));
    expect(r.journal.durableEnd(GROUP)).toEqual({ index: 10, term: 2 });
  });

  it('a cut below the durable end lowers it with the cut', async () => {
    const dir = tmpDataDir();
    await twoRounds(dir, 13);
    const r = await replica(dir, [1, 2, 3], booted('boot-1'));
    await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {});
    r.s.append([batch(2, 14, 12)]);
    await r.s.sync();
    expect(r.journal.durableEnd(GROUP)).toEqual({ index: 14, term: 2 });
    await r.s.truncateFrom(9);
    expect(r.journal.durableEnd(GROUP)).toEqual({ index: 8, term: 2 });
  });
});

describe('a damaged hard-state journal', () => {
  const journalFile = (dir: string): string => path.join(dir, 'raft', 'hardstate.journal');
  const votesFile = (dir: string): string => path.join(dir, 'raft', 'hardstate.votes');
  /** What a bad disk leaves: the file's records replaced by bytes that fail their CRC. */
  const ruin = (file: string): void => writeFileSync(file, Buffer.alloc(statSync(file).size, 0xa5));

  it('writes a term or vote change to the votes file too, and nothing else there', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    const size = statSync(votesFile(dir)).size;
    expect(size).toBeGreaterThan(0);
    const r = await replica(dir, [1, 2, 3]);
    await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {});
    r.s.setHardState({ term: 2, vote: 1, commit: 9 });
    await r.s.sync();
    expect(statSync(votesFile(dir)).size).toBe(size);
    r.s.setHardState({ term: 3, vote: 0, commit: 9 });
    await r.s.sync();
    expect(statSync(votesFile(dir)).size).toBeGreaterThan(size);
    expect(r.journal.damaged).toBeNull();
  });

  it('keeps the term and vote from the votes file, and the replica starts an incarnation its leader has not seen', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    ruin(journalFile(dir));
    const before = Date.now();
    const r = await replica(dir, [1, 2, 3]);
    expect(r.journal.damaged).not.toBeNull();
    expect(r.journal.votesLost).toBe(false);
    expect(r.journal.get(GROUP)).toEqual({ term: 2, vote: 1, commit: 0 });
    // The log itself is whole (the leader's empty entry is derived again from the batches' epoch).
    expect(r.s.lastIndex()).toBe(10);
    const rec = await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {});
    expect(rec.recoverTo).toBeNull();
    expect(rec.incarnation).toBeGreaterThanOrEqual(before);
    await closeAll();
    // Durable: the next start finds it, and a clean start does not bump it again.
    const again = await replica(dir, [1, 2, 3]);
    expect(again.journal.damaged).toBeNull();
    expect(await checkLostTail(GROUP, SELF, again.s, again.journal, silentLogger(), {})).toEqual(rec);
  });

  it('a damaged votes file alone changes nothing', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    ruin(votesFile(dir));
    const r = await replica(dir, [1, 2, 3]);
    expect(r.journal.damaged).toBeNull();
    expect(r.journal.votesLost).toBe(false);
    expect(r.journal.get(GROUP)).toEqual({ term: 2, vote: 1, commit: 4 });
    expect(await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {})).toEqual({ incarnation: 0, recoverTo: null });
  });

  it('with both files damaged, grants no vote in the newest term its log shows', async () => {
    const dir = tmpDataDir();
    await writeAndStop(dir, [1, 2, 3]);
    ruin(journalFile(dir));
    ruin(votesFile(dir));
    const r = await replica(dir, [1, 2, 3]);
    expect(r.journal.votesLost).toBe(true);
    expect(r.journal.get(GROUP)).toBeNull();
    await checkLostTail(GROUP, SELF, r.s, r.journal, silentLogger(), {});
    // Counted as voted for itself in term 2: a candidate of term 2 gets no vote.
    expect(r.s.hardState()).toEqual({ term: 2, vote: SELF, commit: 0 });
    await closeAll();
    const again = await replica(dir, [1, 2, 3]);
    expect(again.journal.get(GROUP)).toEqual({ term: 2, vote: SELF, commit: 0 });
  });
});
