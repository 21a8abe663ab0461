/**
 * Hosts every raft group of a broker in one loop. Each turn takes the Ready of every group with
 * work, writes all their entries and hard states (the partition logs' shared group committer
 * turns that into one fsync per dirty file for the whole turn), then sends every message grouped
 * per destination broker, applies committed entries and calls advance(). Groups whose Ready
 * needs no fsync (heartbeats, acknowledgements, commits) are sent and applied at once instead of
 * waiting for the turn's fsync. One turn runs at a time; what arrives meanwhile is stepped into
 * the cores and handled by the next turn, which is what batches proposals under load.
 *
 * Raft ids are Kafka node ids + 1 (the core reserves 0 for "nobody").
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { realTimers, type TimerHandle, type Timers } from '../platform/timers.js';
import type { RaftNode } from '../raft/raft.js';
import { MessageType, Role, type Entry, type Message, type ReadState, type Ready, type Snapshot, type SoftState } from '../raft/types.js';
import type { PartitionRaftStorage } from './partition-raft-storage.js';

/** What a group's state machine does with its Ready (the partition replica, the metadata image). */
export interface GroupMachine {
  onSoftState(s: SoftState): void;
  /** Entries just written to the local log (before they are durable or committed). */
  onAppended(entries: readonly Entry[]): void;
  /** The log was cut from `index` on (a follower replacing a conflicting suffix). */
  onTruncated(index: number): void;
  /** A snapshot from the leader: the machine installs it into the storage and resets itself. */
  installSnapshot(snap: Snapshot): Promise<void>;
  /** Everything through `index` is durable in the local log. */
  onStable(index: number): void;
  /** Committed entries in order. */
  apply(entries: readonly Entry[]): void;
  /**
   * While leading: the commit index moved (a follower's acknowledgement, or the leader's own
   * fsync). Comes before the committed entries are applied; a leader's committed entries are
   * durable here already, so the machine may act on them at once (answer acks=all).
   */
  onLeaderCommit?(index: number): void;
  onReadStates?(states: readonly ReadState[]): void;
  /** Every tick, after the core's (ISR bookkeeping, leadership preferences). */
  onTick?(): void;
  /**
   * Whether a message from a peer may reach the core now; false means the machine keeps it and
   * hands it back through `receive` later (a snapshot whose records are being copied).
   */
  admit?(m: Message): boolean;
}

/** Where the host's messages go: the transport to other brokers. */
export interface MessageSink {
  /** false = dropped (queue full, unknown broker): the host tells the core the peer is unreachable. */
  send(toNode: number, messages: readonly Message[]): boolean;
  /** Tells broker `toNode` that these groups, led here, went quiet (see quiescence below). */
  quiesce?(toNode: number, groups: readonly number[]): void;
}

export interface HostedGroup {
  readonly id: number;
  readonly node: RaftNode;
  readonly storage: PartitionRaftStorage;
  readonly machine: GroupMachine;
  /** Set once the group failed (a write error): it is no longer stepped. */
  failed: Error | null;
  removed: boolean;
  role: Role;
  /** Not ticked: an idle group whose replicas all hold the whole committed log. */
  quiesced: boolean;
  /** Leader: consecutive ticks the group has been idle. */
  idleTicks: number;
  /** The commit index last handed to onLeaderCommit. */
  commitSeen: number;
  /** Term and vote as last made durable (a leader may send its appends before its own fsync only if they are). */
  durableTerm: number;
  durableVote: number;
  /** The core recovers a lost log tail (lost-tail.ts); onRecovered runs once when it is done. */
  recovering: boolean;
  readonly onRecovered: (() => void) | undefined;
  /** Names the replica in log lines (topic, partition). */
  readonly label: Readonly<Record<string, unknown>>;
  /** Ticks a recovering replica has heard no leader (for the warning that the group may stay down). */
  leaderlessTicks: number;
}

export interface RaftHostOptions {
  readonly nodeId: number;
  readonly sink: MessageSink;
  readonly logger: Logger;
  /** Length of a raft tick in ms (heartbeat interval = heartbeatTicks ticks). */
  readonly tickMs: number;
  readonly registry?: Registry;
  /** Entry bytes a leader keeps in memory per group for followers behind it (default 32 MiB). */
  readonly cacheBytesPerGroup?: number;
  /** The tick and turn scheduling (default: Node's timers; the system simulator's virtual clock in tests). */
  readonly timers?: Timers;
}

interface Work {
  readonly g: HostedGroup;
  readonly rd: Ready;
  error: Error | null;
  /** Messages sent before the fsync (a leader's appends); the rest go after it. */
  sentEarly: boolean;
  appliedEarly: boolean;
}

/** What a leader may send before its own fsync: nothing in them promises its durability. */
const EARLY_TYPES = new Set<number>([MessageType.Append, MessageType.Heartbeat, MessageType.InstallSnapshot, MessageType.TimeoutNow]);


const DEFAULT_CACHE_BYTES_PER_GROUP = 32 << 20;
/** Idle ticks (each with a heartbeat) before a leader quiesces its group. */
const QUIESCE_AFTER_IDLE_TICKS = 3;
/** A follower keeps this many recent entries in memory for when it becomes leader. */
const FOLLOWER_CACHE_ENTRIES = 1024;

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class RaftHost {
  readonly nodeId: number;
  private readonly groups = new Map<number, HostedGroup>();
  private readonly dirty = new Set<HostedGroup>();
  private readonly opts: RaftHostOptions;
  private running = false;
  private scheduled = false;
  /** Groups whose Ready is being written or fsynced; they get no new Ready until it finishes. */
  private readonly busy = new Set<HostedGroup>();
  private inflight = 0;
  private stopped = false;
  private ticker: TimerHandle | null = null;
  private readonly timers: Timers;
  private readonly runTurnsSoon = (): void => {
    this.scheduled = false;
    this.runTurns();
  };
  private idleWaiters: (() => void)[] = [];
  private readonly metrics: HostMetrics | null;
  private readonly proposedAt = new Map<HostedGroup, { index: number; at: number }[]>();

  constructor(opts: RaftHostOptions) {
    this.opts = opts;
    this.nodeId = opts.nodeId;
    this.timers = opts.timers ?? realTimers;
    this.metrics = opts.registry ? new HostMetrics(opts.registry, () => this.groups.values()) : null;
  }

  start(): void {
    if (this.ticker) return;
    this.ticker = this.timers.setInterval(() => this.tick(), this.opts.tickMs);
  }

  /** Stops ticking and waits for the running turn; groups stay registered (close them yourself). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) this.timers.clearInterval(this.ticker);
    this.ticker = null;
    await this.idle();
  }

  addGroup(init: { id: number; node: RaftNode; storage: PartitionRaftStorage; machine: GroupMachine; onRecovered?: () => void; label?: Readonly<Record<string, unknown>> }): HostedGroup {
    if (this.groups.has(init.id)) throw new Error(`raft group ${init.id} is already hosted`);
    const hs = init.storage.hardState();
    const g: HostedGroup = {
      ...init,
      onRecovered: init.onRecovered,
      label: init.label ?? {},
      recovering: init.node.recovering,
      failed: null,
      removed: false,
      role: Role.Follower,
      quiesced: false,
      idleTicks: 0,
      leaderlessTicks: 0,
      commitSeen: 0,
      durableTerm: hs.term,
      durableVote: hs.vote,
    };
    this.groups.set(init.id, g);
    init.storage.onAvailable = () => {
      g.node.entriesAvailable();
      this.markDirty(g);
    };
    this.markDirty(g);
    return g;
  }

  /** Stops hosting a group; resolves once no turn uses it any more. */
  async removeGroup(id: number): Promise<void> {
    const g = this.groups.get(id);
    if (!g) return;
    g.removed = true;
    this.groups.delete(id);
    this.dirty.delete(g);
    this.proposedAt.delete(g);
    await this.idle();
  }

  group(id: number): HostedGroup | undefined {
    return this.groups.get(id);
  }

  hostedGroups(): IterableIterator<HostedGroup> {
    return this.groups.values();
  }

  /** Messages from broker `from` (the transport calls this). Unknown groups are dropped. */
  receive(from: number, messages: readonly Message[]): number {
    let unknown = 0;
    for (const m of messages) {
      const g = this.groups.get(m.group);
      if (!g || g.failed) {
        unknown++;
        continue;
      }
      if (m.from !== from + 1) {
        this.metrics?.refused.inc({ reason: 'sender' });
        continue;
      }
      if (g.machine.admit && !g.machine.admit(m)) continue;
      // A heartbeat's answer is no reason for a quiet leader to wake; everything else is.
      if (m.type !== MessageType.HeartbeatResponse) this.unquiesce(g);
      if (g.node.step(m)) {
        this.markDirty(g);
        if (m.type === MessageType.AppendResponse) this.noteCommit(g);
      } else this.metrics?.refused.inc({ reason: 'malformed' });
    }
    return unknown;
  }

  /** A proposal (or any other input) was given to the group's core: run a turn soon. */
  wake(id: number): void {
    const g = this.groups.get(id);
    if (!g) return;
    this.unquiesce(g);
    if (this.metrics) {
      this.metrics.proposals.inc();
      let list = this.proposedAt.get(g);
      if (!list) this.proposedAt.set(g, (list = []));
      list.push({ index: g.node.lastIndex, at: this.timers.now() });
    }
    this.markDirty(g);
  }

  /** Broker `node` cannot be reached: leaders stop streaming to it and probe instead. */
  peerUnreachable(node: number): void {
    for (const g of this.groups.values()) {
      if (g.role === Role.Leader) g.node.reportUnreachable(node + 1);
    }
  }

  /**
   * Broker `node` went silent (its connection dropped or its liveness beats stopped). Groups it
   * led start ticking again and forget it as leader; the lowest other voter campaigns at its
   * next tick (with pre-vote, which the others grant now that no lease holds them back), so a
   * killed leader is replaced within a tick and a round trip instead of an election timeout, and
   * the rest follow their randomized timeouts should that one fail.
   */
  peerDown(node: number): void {
    const dead = node + 1;
    for (const g of this.groups.values()) {
      if (g.failed || g.node.leader !== dead || g.role === Role.Leader) continue;
      this.unquiesce(g);
      let successor = Number.POSITIVE_INFINITY;
      for (const v of g.node.conf.voters) if (v !== dead && v < successor) successor = v;
      g.node.leaderLost(successor === g.node.id);
      this.markDirty(g);
    }
  }

  /**
   * The leader on broker `from` says these groups are idle. A follower that follows that leader
   * and holds the whole committed log stops ticking them until any message or proposal arrives.
   */
  receiveQuiesce(from: number, groups: readonly number[]): void {
    for (const id of groups) {
      const g = this.groups.get(id);
      if (!g || g.failed || g.role === Role.Leader) continue;
      const n = g.node;
      if (n.leader === from + 1 && n.commitIndex === n.lastIndex && n.appliedIndex === n.commitIndex) g.quiesced = true;
    }
  }

  /** Groups currently quiesced here (for metrics and tests). */
  quiescedCount(): number {
    let n = 0;
    for (const g of this.groups.values()) if (g.quiesced) n++;
    return n;
  }

  private unquiesce(g: HostedGroup): void {
    if (!g.quiesced) return;
    g.quiesced = false;
    g.idleTicks = 0;
    this.markDirty(g);
  }

  /**
   * A leader may go quiet once nothing is in flight: every replica matches the last index, the
   * last index is committed and applied, and the followers have had a heartbeat since (which
   * carried the commit index to them). Then it stops ticking and tells the followers to stop too,
   * so an idle group costs nothing per tick; the transport's per-broker liveness beats stand in
   * for its heartbeats (peerDown wakes the followers when the leader's broker goes silent).
   */
  private maybeQuiesce(g: HostedGroup): boolean {
    const n = g.node;
    const last = n.lastIndex;
    let idle = n.transferee === 0 && n.commitIndex === last && n.appliedIndex === last && !this.busy.has(g);
    const peers: number[] = [];
    if (idle) {
      for (const v of n.conf.voters.concat(n.conf.learners)) {
        if (v === n.id) continue;
        const pr = n.progressOf(v);
        if (pr === undefined || pr.match !== last) {
          idle = false;
          break;
        }
        peers.push(v - 1);
      }
    }
    if (!idle) {
      g.idleTicks = 0;
      return false;
    }
    g.idleTicks++;
    if (g.idleTicks < QUIESCE_AFTER_IDLE_TICKS || !this.opts.sink.quiesce) return false;
    g.quiesced = true;
    for (const p of peers) this.opts.sink.quiesce(p, [g.id]);
    return true;
  }

  /** Resolves when no turn is running or pending. */
  idle(): Promise<void> {
    if (!this.running && !this.scheduled && this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private tick(): void {
    for (const g of this.groups.values()) {
      if (g.failed || g.quiesced) continue;
      // The machine's hook runs before a leader may go quiet: a partition's ISR is what it saw
      // last, and frozen without the followers a produce refuses (NOT_ENOUGH_REPLICAS) before
      // proposing anything, so nothing would ever wake the group again.
      try {
        g.machine.onTick?.();
      } catch (err) {
        this.opts.logger.error({ err, group: g.id }, 'raft group tick hook failed');
      }
      // Checked before ticking, so the heartbeat of the previous tick is the group's last message.
      if (g.role === Role.Leader && this.maybeQuiesce(g)) continue;
      g.node.tick();
      if (g.node.recovering) this.noteLeaderless(g);
      this.markDirty(g);
    }
  }

  /**
   * A recovering replica votes only for a log past what it lost, so a group whose other replicas
   * that hold it are gone elects nobody: that is the intended outcome (never lose acknowledged
   * data), and it must be visible. Logged after 10 s without a leader, then once a minute.
   */
  private noteLeaderless(g: HostedGroup): void {
    if (g.node.leader !== 0) {
      g.leaderlessTicks = 0;
      return;
    }
    g.leaderlessTicks++;
    const ms = g.leaderlessTicks * this.opts.tickMs;
    const first = Math.ceil(10_000 / this.opts.tickMs);
    const every = Math.ceil(60_000 / this.opts.tickMs);
    if (g.leaderlessTicks === first || (g.leaderlessTicks > first && (g.leaderlessTicks - first) % every === 0)) {
      this.opts.logger.error(
        { group: g.id, recoverTo: g.node.recoveryTarget, leaderlessMs: ms, ...g.label },
        'replica recovering a lost log tail hears no leader: it votes only for a replica whose log is past what it lost, so the group stays without a leader until one that holds the lost entries is back',
      );
    }
  }

  private markDirty(g: HostedGroup): void {
    if (g.removed) return;
    this.dirty.add(g);
    if (!this.running && !this.scheduled && !this.stopped) {
      this.scheduled = true;
      this.timers.setImmediate(this.runTurnsSoon);
    }
  }

  /**
   * Drains the dirty set. A group with an outstanding Ready (its write or fsync in flight) is
   * skipped until that Ready is finished; other groups go on meanwhile, so one slow fsync never
   * holds up heartbeats and acknowledgements of the rest. The fsyncs requested in one pass join
   * the same group-commit round.
   */
  private runTurns(): void {
    if (this.running) return;
    this.running = true;
    try {
      while (this.dirty.size > 0) {
        const groups = [...this.dirty];
        this.dirty.clear();
        const synced: Work[] = [];
        for (const g of groups) {
          if (g.removed || g.failed || this.busy.has(g)) continue;
          let rd: Ready;
          try {
            if (!g.node.hasReady()) continue;
            rd = g.node.ready();
          } catch (err) {
            this.fail(g, toError(err));
            continue;
          }
          const w: Work = { g, rd, error: null, sentEarly: false, appliedEarly: false };
          let p: Promise<void> | null;
          try {
            p = this.persist(w);
          } catch (err) {
            this.fail(g, toError(err));
            continue;
          }
          if (p !== null) {
            this.busy.add(g);
            this.track(
              p.then(
                () => this.afterPersist(w, null),
                (err: unknown) => this.afterPersist(w, toError(err)),
              ),
            );
          } else if (rd.mustSync) {
            this.busy.add(g);
            this.early(w);
            synced.push(w);
          } else {
            this.finish(w, false);
          }
        }
        if (synced.length > 0) this.track(this.syncAll(synced));
      }
    } finally {
      this.running = false;
      this.maybeIdle();
    }
  }

  /**
   * A leader replicates in parallel with its own fsync (Raft thesis §10.2.1): its appends go out
   * before its disk write is durable, since it counts itself towards a commit only once it is
   * (the core's advance()). Its committed entries are durable here already, so they are applied
   * now as well. Only when nothing else in the Ready needs the fsync first: the group leads, it
   * leads after this Ready, and its term and vote are already durable.
   */
  private early(w: Work): void {
    const { g, rd } = w;
    if (g.node.role !== Role.Leader || (rd.softState !== null && rd.softState.role !== Role.Leader)) return;
    if (rd.hardState !== null && (rd.hardState.term !== g.durableTerm || rd.hardState.vote !== g.durableVote)) return;
    if (rd.messages.every((m) => EARLY_TYPES.has(m.type))) {
      this.send(g, rd.messages);
      w.sentEarly = true;
    }
    if (rd.committedEntries.length > 0 && rd.softState === null) {
      try {
        g.machine.apply(rd.committedEntries);
        this.observeCommit(g, (rd.committedEntries[rd.committedEntries.length - 1] as Entry).index);
        w.appliedEarly = true;
      } catch (err) {
        this.fail(g, toError(err));
      }
    }
  }

  private afterPersist(w: Work, err: Error | null): Promise<void> | void {
    if (err) {
      this.busy.delete(w.g);
      this.fail(w.g, err);
      return;
    }
    if (!w.rd.mustSync) {
      this.busy.delete(w.g);
      this.finish(w, false);
      return;
    }
    return this.syncAll([w]);
  }

  private async syncAll(ws: Work[]): Promise<void> {
    await Promise.all(
      ws.map((w) =>
        w.g.storage.sync().catch((err: unknown) => {
          w.error = toError(err);
        }),
      ),
    );
    for (const w of ws) {
      this.busy.delete(w.g);
      if (w.error) this.fail(w.g, w.error);
      else this.finish(w, true);
    }
  }

  private track(p: Promise<void> | void): void {
    if (!p) return;
    this.inflight++;
    void p
      .catch((err: unknown) => this.opts.logger.error({ err }, 'raft host: unexpected failure finishing a Ready'))
      .finally(() => {
        this.inflight--;
        this.maybeIdle();
      });
  }

  private maybeIdle(): void {
    if (this.running || this.scheduled || this.inflight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Step 1 of the Ready contract: snapshot, entries (after any truncation), hard state. */
  private persist(w: Work): Promise<void> | null {
    const { g, rd } = w;
    if (rd.snapshot === null && (rd.entries.length === 0 || (rd.entries[0] as Entry).index > g.storage.lastIndex())) {
      this.write(g, rd);
      return null;
    }
    return (async () => {
      if (rd.snapshot !== null) await g.machine.installSnapshot(rd.snapshot);
      const first = rd.entries[0];
      if (first !== undefined && first.index <= g.storage.lastIndex()) {
        await g.storage.truncateFrom(first.index);
        g.machine.onTruncated(first.index);
      }
      this.write(g, rd);
    })();
  }

  private write(g: HostedGroup, rd: Ready): void {
    if (rd.entries.length > 0) {
      g.storage.append(rd.entries);
      g.machine.onAppended(rd.entries);
    }
    if (rd.hardState !== null) g.storage.setHardState(rd.hardState);
  }

  /** Steps 2-4: send, apply, advance. */
  private finish(w: Work, synced: boolean): void {
    const { g, rd } = w;
    if (g.removed) return;
    try {
      if (rd.hardState !== null && (synced || !rd.mustSync)) {
        g.durableTerm = rd.hardState.term;
        g.durableVote = rd.hardState.vote;
      }
      if (!w.sentEarly) this.send(g, rd.messages);
      if (rd.softState !== null) {
        if (rd.softState.role === Role.Leader && g.role !== Role.Leader) this.metrics?.elections.inc();
        // Idle ticks counted in an earlier leadership do not count toward quiescing this one.
        if (rd.softState.role !== g.role) g.idleTicks = 0;
        g.role = rd.softState.role;
        g.machine.onSoftState(rd.softState);
      }
      if (rd.snapshot !== null) this.metrics?.snapshots.inc({ direction: 'installed' });
      if (synced || rd.entries.length > 0 || rd.snapshot !== null) g.machine.onStable(g.storage.lastIndex());
      if (rd.committedEntries.length > 0 && !w.appliedEarly) {
        g.machine.apply(rd.committedEntries);
        this.observeCommit(g, (rd.committedEntries[rd.committedEntries.length - 1] as Entry).index);
      }
      if (rd.readStates.length > 0) g.machine.onReadStates?.(rd.readStates);
      g.node.advance();
      if (g.recovering && !g.node.recovering) {
        g.recovering = false;
        g.onRecovered?.();
      }
      this.noteCommit(g);
      this.trim(g);
      if (g.node.hasReady()) this.markDirty(g);
    } catch (err) {
      this.fail(g, toError(err));
    }
  }

  /** Tells a leader's machine its commit index moved, as soon as it has (not when applied). */
  private noteCommit(g: HostedGroup): void {
    const c = g.node.commitIndex;
    if (c <= g.commitSeen) return;
    // Only once the machine has been told it leads (the Ready that made the core leader may
    // still be in its fsync while followers' acknowledgements already commit): a commit seen
    // earlier would be used up unheard, and the new leader's high watermark would lag (and its
    // acks=all answers wait) until the entries are applied.
    if (g.role !== Role.Leader || g.node.role !== Role.Leader) return;
    g.commitSeen = c;
    if (g.machine.onLeaderCommit) {
      try {
        g.machine.onLeaderCommit(c);
      } catch (err) {
        this.fail(g, toError(err));
      }
    }
  }

  private send(g: HostedGroup, messages: readonly Message[]): void {
    if (messages.length === 0) return;
    if (this.metrics) for (const m of messages) if (m.type === MessageType.InstallSnapshot) this.metrics.snapshots.inc({ direction: 'sent' });
    if (messages.length === 1) {
      const m = messages[0] as Message;
      if (!this.opts.sink.send(m.to - 1, messages)) g.node.reportUnreachable(m.to);
      return;
    }
    const byNode = new Map<number, Message[]>();
    for (const m of messages) {
      let list = byNode.get(m.to);
      if (!list) byNode.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, list] of byNode) {
      if (!this.opts.sink.send(to - 1, list)) g.node.reportUnreachable(to);
    }
  }

  private trim(g: HostedGroup): void {
    const applied = g.node.appliedIndex;
    const budget = this.opts.cacheBytesPerGroup ?? DEFAULT_CACHE_BYTES_PER_GROUP;
    let keepFrom = applied + 1;
    if (g.role === Role.Leader) {
      if (g.storage.cachedBytes() <= budget) {
        for (const v of g.node.conf.voters.concat(g.node.conf.learners)) {
          const pr = g.node.progressOf(v);
          if (pr !== undefined && v !== g.node.id) keepFrom = Math.min(keepFrom, pr.next);
        }
      }
    } else if (g.storage.cachedBytes() <= budget) {
      keepFrom = Math.min(keepFrom, g.storage.lastIndex() + 1 - FOLLOWER_CACHE_ENTRIES);
    }
    g.storage.trimCache(keepFrom);
  }

  private observeCommit(g: HostedGroup, index: number): void {
    const list = this.proposedAt.get(g);
    if (!list || !this.metrics) return;
    const now = this.timers.now();
    let k = 0;
    while (k < list.length && (list[k] as { index: number }).index <= index) {
      this.metrics.commitLatency.observe((now - (list[k] as { at: number }).at) / 1000);
      k++;
    }
    if (k > 0) list.splice(0, k);
  }

  /**
   * Told once of each group that fails (a write, a read of its storage, its core): the group
   * no longer takes part here until its replica is opened again (replica-revival.ts).
   */
  onGroupFailed: ((group: number, err: Error) => void) | null = null;

  /** Stops a group whose machine found its storage unusable (durable damage), as a failed write does. */
  failGroup(id: number, err: Error): void {
    const g = this.groups.get(id);
    if (g) this.fail(g, err);
  }

  private fail(g: HostedGroup, err: Error): void {
    if (g.failed) return;
    g.failed = err;
    this.opts.logger.error({ err, group: g.id }, 'raft group failed; it no longer takes part');
    const listener = this.onGroupFailed;
    // Told on a later turn: the listener closes the group, which waits for the turn failing it.
    if (listener) queueMicrotask(() => listener(g.id, err));
  }
}

class HostMetrics {
  readonly elections: Counter;
  readonly proposals: Counter;
  readonly commitLatency: Histogram;
  readonly refused: Counter;
  readonly snapshots: Counter;

  constructor(registry: Registry, groups: () => Iterable<HostedGroup>) {
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.elections = get('chronik_raft_leader_elections_total', () => new Counter({ name: 'chronik_raft_leader_elections_total', help: 'Raft groups this broker became leader of', registers: [registry] }));
    this.proposals = get('chronik_raft_proposals_total', () => new Counter({ name: 'chronik_raft_proposals_total', help: 'Proposals handed to raft groups led here', registers: [registry] }));
    this.commitLatency = get(
      'chronik_raft_commit_latency_seconds',
      () =>
        new Histogram({
          name: 'chronik_raft_commit_latency_seconds',
          help: 'Time from a proposal to its commit, at the leader',
          buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers: [registry],
        }),
    );
    this.refused = get('chronik_raft_refused_messages_total', () => new Counter({ name: 'chronik_raft_refused_messages_total', help: 'Raft messages refused (wrong sender, malformed)', labelNames: ['reason'], registers: [registry] }));
    this.snapshots = get(
      'chronik_raft_snapshot_transfers_total',
      () => new Counter({ name: 'chronik_raft_snapshot_transfers_total', help: 'Raft snapshots sent to followers and installed from leaders', labelNames: ['direction'], registers: [registry] }),
    );
    get('chronik_raft_recovering_replicas', () =>
      new Gauge({
        name: 'chronik_raft_recovering_replicas',
        help: 'Replicas hosted here whose log lost entries they may have acknowledged and that vote only for logs past them until a leader gives them back',
        registers: [registry],
        collect() {
          let n = 0;
          for (const g of groups()) if (!g.failed && g.node.recovering) n++;
          this.set(n);
        },
      }),
    );
    get('chronik_raft_groups', () =>
      new Gauge({
        name: 'chronik_raft_groups',
        help: 'Raft groups hosted, by role',
        labelNames: ['role'],
        registers: [registry],
        collect() {
          const counts = { leader: 0, follower: 0, candidate: 0, failed: 0 };
          for (const g of groups()) {
            if (g.failed) counts.failed++;
            else if (g.role === Role.Leader) counts.leader++;
            else if (g.role === Role.Follower) counts.follower++;
            else counts.candidate++;
          }
          for (const [role, n] of Object.entries(counts)) this.set({ role }, n);
        },
      }),
    );
  }
}
