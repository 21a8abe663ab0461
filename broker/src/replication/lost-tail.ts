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
 * tail of data that had been fsynced. After a power loss (the journal recorded another boot id
 * than the machine's) a round's journal write may be durable while its segment write is not: its
 * entries were never acknowledged, yet the log ends before the recorded end. Counting them as lost
 * would be safe but can leave a partition leaderless for good when a majority lost power in one
 * such round (each waits for a leader holding entries none has; system simulator seed 126). So
 * after a reboot a log that ends at or past where it was last known durable (the journal's durable
 * end, put after each round's fsyncs) but before the recorded end is taken as such an unfinished
 * round. What that reading misses: fsynced data the disk damaged in the same power loss, in the
 * last round or two before it. Data directories written before the log-end record existed fall
 * back to the persisted commit index.
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
 * returns. `self` is the replica's raft id; `where` names the replica in the log lines.
 */
export async function checkLostTail(
  group: number,
  self: number,
  storage: LostTailStorage,
  journal: HardStateJournal,
  logger: Logger,
  where: Record<string, unknown>,
  /** Opened again after its group failed while running (replica-revival.ts), not at start-up. */
  reopened = false,
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
    const durable = journal.durableEnd(group);
    // Only for the first open after the power loss: a replica opened again later cut its log itself.
    if (!reopened && journal.rebooted && durable !== null && now.index < recorded.index && now.index >= durable.index && now.term >= durable.term) {
      logger.warn(
        { ...where, group, logEnd: now.index, durableEnd: durable.index, recordedEnd: recorded.index },
        'after a power loss the log ends between where it was last durable and the last round written: that round never finished, so nothing in it was acknowledged',
      );
      lost = null;
    }
  } else if (recorded === null && hs !== null && hs.commit > now.index) {
    // No end recorded yet (a data directory from before, or records the journal lost): the
    // commit index is the best bound, at the newest term (at least as high as the committed entry's).
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
  if (journal.votesLost && now.index > 0) refuseForgottenVotes(group, self, now, recoverTo, journal, logger, where);
  if (lost === null && recoverTo !== null && atLeastAsUpToDate(now, recoverTo)) {
    // It got there before its recovery was recorded as done.
    noteRecovered(group, incarnation, journal, logger, where);
    recoverTo = null;
  }
  // A journal that lost records may have lost this group's end, recovery state and no-ops (its log
  // may even hold its entries at other indexes than the leader thinks): a new incarnation makes
  // the leader check the whole log again. Its counter may have lost a later value too, and a
  // leader ignores answers from an incarnation below the one it knows, so the new one is at least
  // the wall clock in milliseconds.
  const damaged = journal.damaged !== null && now.index > 0;
  if (recoverTo === null && !damaged) {
    // A new replica's first end rides on its first round: nothing was acknowledged before it.
    storage.noteEnd();
    if (lost !== null || journal.votesLost) await journal.sync();
    return { incarnation, recoverTo: null };
  }
  if (lost === null && recoverTo !== null) logger.warn({ ...where, group, recoverTo, incarnation: incarnation + 1 }, 'replica is still recovering a lost log tail');
  const next: ReplicaRecovery = { incarnation: damaged ? Math.max(incarnation + 1, Date.now()) : incarnation + 1, recoverTo };
  if (damaged) logger.warn({ ...where, group, incarnation: next.incarnation, recoverTo }, 'hard-state journal lost records: replica starts a new incarnation so its leader checks its whole log again');
  journal.putRecovery(group, next);
  storage.noteEnd();
  await journal.sync();
  return next;
}

/**
 * Both hard-state files lost records, so the replica may have voted in a term it no longer knows.
 * It takes the newest term its log and recovery target show, and counts itself as having voted in
 * it for itself: it grants no vote in that term. A forgotten vote in a later term, one that left
 * nothing in this log, is not covered: that needs both files damaged and an election whose entries
 * never reached this replica, and the error at open says so.
 */
function refuseForgottenVotes(group: number, self: number, now: LogPosition, recoverTo: LogPosition | null, journal: HardStateJournal, logger: Logger, where: Record<string, unknown>): void {
  const hs = journal.get(group) ?? { term: 0, vote: 0, commit: 0 };
  const term = Math.max(hs.term, now.term, recoverTo?.term ?? 0);
  if (term === 0 || (term === hs.term && hs.vote !== 0)) return;
  journal.put(group, { term, vote: self, commit: hs.commit });
  logger.error({ ...where, group, term, recordedTerm: hs.term }, 'replica may have forgotten a vote: it grants none in the newest term its log shows');
}

/** The core reached its target: record it (losing this record only means recovering again). */
export function noteRecovered(group: number, incarnation: number, journal: HardStateJournal, logger: Logger, where: Record<string, unknown>): void {
  journal.putRecovery(group, { incarnation, recoverTo: null });
  logger.warn({ ...where, group, incarnation }, 'replica recovered its lost log tail: it holds everything it may have acknowledged again');
}
