/**
 * Lost tails: a replica whose log, at start-up, ends before what it may have acknowledged (the log
 * layer found a corrupt or torn tail and cut it, or a disk lost data it had fsynced). Raft's safety
 * rests on replicas never forgetting what they acknowledged, so such a replica must not vote as if
 * nothing happened, and its leader must learn that its log went backwards (raft.ts, "Lost tails").
 *
 * How it is told: every round that writes a group's entries also writes, in the hard-state journal
 * and in the same fsync, where the log ends (last index and term, and the voter count there); a
 * replica acknowledges entries only after that round. At open the storage's actual end is compared
 * with the recorded one: an end below it (or a different entry at it, or a persisted commit beyond
 * the log) means acknowledged entries may be gone. The replica then starts a new incarnation, with
 * the recorded end as what it must reach again, and both are durable before the core exists (so
 * before it sends anything). A restart while still recovering starts another incarnation and keeps
 * the target. The core clears the target once its log reaches it; the host then records that.
 *
 * Precise for kill -9 (the page cache survives: nothing fsynced or not is lost) and for a corrupt
 * tail of data that had been fsynced. After a power loss a round's journal write may be durable
 * while its segment write is not; then entries that were never acknowledged count as lost, which
 * only costs the wait for a leader past them. Data directories written before this record existed
 * fall back to the persisted commit index.
 */
import type { Logger } from 'pino';
import type { LogPosition } from '../raft/types.js';
import type { HardStateJournal, LogEnd } from './hard-state-journal.js';

/** What the core is opened with (RaftOptions.incarnation and recoverTo). */
export interface ReplicaRecovery {
  readonly incarnation: number;
  readonly recoverTo: LogPosition | null;
}

/** What the check needs of a replica's storage. */
export interface LostTailStorage {
  end(): LogEnd;
  /** Records the current end in the journal (pending until the next sync). */
  noteEnd(): void;
}

function atLeastAsUpToDate(a: LogPosition, b: LogPosition): boolean {
  return a.term > b.term || (a.term === b.term && a.index >= b.index);
}

function later(a: LogPosition, b: LogPosition | null): LogPosition {
  return b === null || atLeastAsUpToDate(a, b) ? a : b;
}

/**
 * Decides, at open, whether the replica recovers a lost tail; makes the decision durable before it
 * returns. `where` names the replica in the log lines.
 */
export async function checkLostTail(
  group: number,
  storage: LostTailStorage,
  journal: HardStateJournal,
  logger: Logger,
  where: Record<string, unknown>,
): Promise<ReplicaRecovery> {
  const now = storage.end();
  const recorded = journal.logEnd(group);
  const hs = journal.get(group);
  const prev = journal.recovery(group);
  const incarnation = prev?.incarnation ?? 0;
  let recoverTo = prev?.recoverTo ?? null;
  let lost: LogPosition | null = null;
  if (recorded !== null && (now.index < recorded.index || (now.index === recorded.index && now.term !== recorded.term))) {
    lost = { index: recorded.index, term: recorded.term };
  } else if (recorded === null && hs !== null && hs.commit > now.index) {
    // No end recorded yet (a data directory from before): the commit index is the best bound, at
    // the newest term (a term at least as high as the committed entry's).
    lost = { index: hs.commit, term: hs.term };
  }
  if (lost !== null) {
    const voters = recorded?.voters ?? now.voters;
    if (voters <= 1 && recoverTo === null) {
      // Nobody else ever held these entries: waiting would only keep the partition down for good.
      logger.error(
        { ...where, group, logEnd: now.index, recordedEnd: lost.index, recordedTerm: lost.term },
        'replica lost acknowledged raft entries and is the only voter: they are gone; going on without them',
      );
    } else {
      recoverTo = later(lost, recoverTo);
      logger.warn(
        { ...where, group, logEnd: now.index, logEndTerm: now.term, recoverTo, incarnation: incarnation + 1 },
        'replica log lost entries it may have acknowledged; it votes only for logs past them until a leader gives them back',
      );
    }
  }
  if (lost === null && recoverTo !== null && atLeastAsUpToDate(now, recoverTo)) {
    // It got there before its recovery was recorded as done.
    noteRecovered(group, incarnation, journal, logger, where);
    recoverTo = null;
  }
  if (recoverTo === null) {
    // A new replica's first end rides on its first round: nothing was acknowledged before it.
    storage.noteEnd();
    if (lost !== null) await journal.sync();
    return { incarnation, recoverTo: null };
  }
  if (lost === null) logger.warn({ ...where, group, recoverTo, incarnation: incarnation + 1 }, 'replica is still recovering a lost log tail');
  const next: ReplicaRecovery = { incarnation: incarnation + 1, recoverTo };
  journal.putRecovery(group, next);
  storage.noteEnd();
  await journal.sync();
  return next;
}

/** The core reached its target: record it (losing this record only means recovering again). */
export function noteRecovered(group: number, incarnation: number, journal: HardStateJournal, logger: Logger, where: Record<string, unknown>): void {
  journal.putRecovery(group, { incarnation, recoverTo: null });
  logger.warn({ ...where, group, incarnation }, 'replica recovered its lost log tail: it holds everything it may have acknowledged again');
}
