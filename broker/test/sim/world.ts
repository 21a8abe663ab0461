/**
 * A deterministic simulated cluster: virtual clock, a seeded network that drops, delays,
 * duplicates, reorders and partitions, disks that lose everything not fsynced when their node
 * crashes (and now and then a suffix of what was fsynced and acknowledged: a corrupt tail cut at
 * start-up), and a script of client proposals, reads, membership changes, leadership transfers and
 * compactions. Every event is followed by the invariant checks; after the script the faults stop
 * and every acknowledged proposal must reach every member within a bound.
 */
import { decodeConfChange } from '../../src/raft/membership.js';
import { RaftNode } from '../../src/raft/raft.js';
import { SeededRandom } from '../../src/raft/random.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import {
  ConfChangeOp,
  EntryType,
  MessageType,
  Role,
  type ConfState,
  type Entry,
  type LogPosition,
  type Message,
  type Ready,
} from '../../src/raft/types.js';
import type { MetadataState } from '../../src/cluster/metadata-state.js';
import { applyEntry, decodeImage, encodeImage, encodeRecord, fingerprint, initialImage, proposeFrom, violations } from './metadata-workload.js';
import { EventHeap } from './heap.js';
import { InvariantViolation, sameBytes, Invariants } from './invariants.js';
import { generateScenario, type Action } from './scenario.js';

const TICK = 10;
const ELECTION_TICKS = 10;
/** Virtual time after the last fault in which the cluster must deliver every acknowledged write. */
const LIVENESS_BOUND = 8000;
const AUTO_COMPACT_AFTER = 300;

export interface SimOptions {
  readonly seed: number;
  readonly steps: number;
  /** Script positions to run (all when absent); used to replay a shrunk failure. */
  readonly keep?: ReadonlySet<number>;
  /** Record a readable event trace (slower). */
  readonly trace?: boolean;
  /**
   * Deliberately break the persist-before-send contract (send a Ready's messages before its
   * fsync), to prove the checks catch what a crash then loses.
   */
  readonly sendBeforeSync?: boolean;
  /**
   * Replicate the cluster metadata image instead of opaque values: proposals are metadata
   * records, every replica applies them, and the image's own invariants and cross-replica
   * equality are checked after every apply (metadata-workload.ts).
   */
  readonly metadata?: boolean;
  /** Metadata mode: this node skips every fifth record it applies (proves the checks catch divergence). */
  readonly divergeMetadataOn?: number;
  /**
   * Deliberately restart a node whose log lost its tail as if nothing happened (no new
   * incarnation, votes at once): the behaviour before lost tails were detected, to prove the
   * checks catch what it loses.
   */
  readonly ignoreLostTail?: boolean;
  /**
   * Lost tails anywhere: on several replicas at once, in groups of two voters, in tails holding
   * configuration changes. Acknowledged data may then be gone from every copy, so the cluster may
   * rightly stay without a leader: only safety is checked (liveness failures are not reported).
   * By default a tail is lost only where the group keeps a quorum of complete replicas (one at a
   * time, at least three voters, no configuration change in the lost part), and the cluster must
   * recover.
   */
  readonly manyLostTails?: boolean;
}

export interface SimStats {
  events: number;
  messages: number;
  proposals: number;
  acked: number;
  elections: number;
  snapshotsSent: number;
  crashes: number;
  lostTails: number;
  confChanges: number;
  transfers: number;
  reads: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly property?: string;
  readonly message?: string;
  /** Hash of every event in order: equal for two runs of the same seed and script. */
  readonly traceHash: number;
  readonly trace: string[];
  readonly stats: SimStats;
  readonly actions: Action[];
}

interface SimEvent {
  time: number;
  seq: number;
  kind: number;
  node: number;
  inc: number;
  msg: Message | null;
  action: Action | null;
}
const EV_TICK = 0;
const EV_DELIVER = 1;
const EV_FSYNC = 2;
const EV_ACTION = 3;
const EV_CALM = 4;
const EV_DECOMMISSION = 5;

interface SimNode {
  readonly id: number;
  alive: boolean;
  /** Bumped on every crash so events of a previous life are ignored. */
  inc: number;
  storage: MemoryStorage;
  durable: MemoryStorage;
  raft: RaftNode;
  syncing: Ready | null;
  applied: number;
  hash: number;
  conf: ConfState;
  lastCommit: number;
  lastRole: number;
  lastTerm: number;
  proposals: Map<number, { term: number; data: Uint8Array }>;
  reads: Map<number, number>;
  /** Metadata mode: the image after `applied`. */
  image: MetadataState;
  /**
   * As the broker's hard-state journal keeps it, durable with every fsync: the end of the log
   * (what the replica may have acknowledged ends there), its incarnation, and what it must reach
   * again while it recovers a lost tail.
   */
  bound: LogBound;
}

interface LogBound {
  readonly last: LogPosition;
  /** Voters of the configuration at the end of the log. */
  readonly voters: number;
  readonly incarnation: number;
  readonly recoverTo: LogPosition | null;
}

function later(a: LogPosition, b: LogPosition | null): LogPosition {
  if (b === null) return a;
  return a.term > b.term || (a.term === b.term && a.index >= b.index) ? a : b;
}

const MESSAGE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k]));
const ROLE_NAMES = ['Follower', 'PreCandidate', 'Candidate', 'Leader'];

export function runSimulation(opts: SimOptions): SimResult {
  return new World(opts).run();
}

class World {
  private readonly heap = new EventHeap<SimEvent>();
  private seqNo = 0;
  private now = 0;
  private readonly nodes: SimNode[] = [];
  private readonly net: SeededRandom;
  private readonly inv = new Invariants();
  private readonly actions: Action[];
  private readonly founders: ConfState;
  private readonly maxAppendBytes: number;
  private readonly maxInflight: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private drop = 0;
  private dup = 0;
  private maxDelay = 10;
  private side: number[] = [];
  private isolated = new Set<number>();
  private nextProposal = 1;
  private nextRead = 1;
  private maxAcked = 0;
  private traceHash = 0x811c9dc5;
  private readonly trace: string[] = [];
  private readonly tracing: boolean;
  private readonly stats: SimStats = {
    events: 0,
    messages: 0,
    proposals: 0,
    acked: 0,
    elections: 0,
    snapshotsSent: 0,
    crashes: 0,
    lostTails: 0,
    confChanges: 0,
    transfers: 0,
    reads: 0,
  };

  constructor(private readonly opts: SimOptions) {
    const shape = generateScenario(opts.seed, opts.steps);
    this.actions = opts.keep === undefined ? shape.actions : shape.actions.filter((a) => opts.keep?.has(a.n));
    this.net = new SeededRandom(opts.seed ^ 0x5bd1e995);
    this.maxAppendBytes = shape.maxAppendBytes;
    this.maxInflight = shape.maxInflight;
    this.preVote = shape.preVote;
    this.checkQuorum = shape.checkQuorum;
    this.tracing = opts.trace === true;
    const voters: number[] = [];
    for (let i = 1; i <= shape.voters; i++) voters.push(i);
    this.founders = { voters, learners: [] };
    for (let id = 1; id <= shape.pool; id++) {
      const storage = new MemoryStorage(id <= shape.voters ? this.founders : { voters: [], learners: [] });
      const node: SimNode = {
        id,
        alive: true,
        inc: 0,
        storage,
        durable: storage.clone(),
        raft: this.newRaft(id, storage, 0, 0, null),
        syncing: null,
        applied: 0,
        hash: 0,
        conf: storage.snapshot().conf,
        lastCommit: 0,
        lastRole: 0,
        lastTerm: 0,
        proposals: new Map(),
        reads: new Map(),
        image: initialImage(),
        bound: { last: { index: 0, term: 0 }, voters: storage.snapshot().conf.voters.length, incarnation: 0, recoverTo: null },
      };
      this.nodes[id] = node;
      this.side[id] = 0;
      this.schedule(id * 3, EV_TICK, id, 0, null, null);
    }
  }

  run(): SimResult {
    let calmAt = 50;
    for (const a of this.actions) {
      this.schedule(a.at, EV_ACTION, 0, 0, null, a);
      calmAt = Math.max(calmAt, a.at + 1);
    }
    this.schedule(calmAt, EV_CALM, 0, 0, null, null);
    const end = calmAt + LIVENESS_BOUND;
    try {
      for (;;) {
        const ev = this.heap.pop();
        if (ev === undefined || ev.time > end) break;
        this.now = ev.time;
        this.stats.events++;
        this.handle(ev);
      }
      if (this.opts.manyLostTails !== true) this.checkLiveness();
      return this.result(true);
    } catch (err) {
      const property = err instanceof InvariantViolation ? err.property : 'core assertion';
      const message = err instanceof Error ? err.message : String(err);
      this.note(`VIOLATION ${message}`);
      if (this.tracing) this.dumpState();
      return this.result(false, property, message);
    }
  }

  private result(ok: boolean, property?: string, message?: string): SimResult {
    return {
      seed: this.opts.seed,
      ok,
      ...(property !== undefined ? { property } : {}),
      ...(message !== undefined ? { message } : {}),
      traceHash: this.traceHash >>> 0,
      trace: this.trace,
      stats: this.stats,
      actions: this.actions,
    };
  }

  // ------------------------------------------------------------------ events

  private schedule(time: number, kind: number, node: number, inc: number, msg: Message | null, action: Action | null): void {
    this.heap.push({ time, seq: this.seqNo++, kind, node, inc, msg, action });
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case EV_TICK: {
        const n = this.nodes[ev.node] as SimNode;
        this.schedule(this.now + TICK, EV_TICK, ev.node, 0, null, null);
        if (!n.alive) return;
        this.mix(1, ev.node, 0);
        n.raft.tick();
        this.pump(n);
        this.observe(n);
        return;
      }
      case EV_DELIVER: {
        const m = ev.msg as Message;
        const n = this.nodes[m.to];
        if (n === undefined || !n.alive || !this.canTalk(m.from, m.to)) return;
        this.mix(2, m.from * 16 + m.to, m.type * 1_000_003 + m.term * 7919 + m.index);
        if (this.tracing) this.note(`deliver ${describe(m)}`);
        n.raft.step(m);
        this.pump(n);
        this.observe(n);
        return;
      }
      case EV_FSYNC: {
        const n = this.nodes[ev.node] as SimNode;
        if (!n.alive || n.inc !== ev.inc || n.syncing === null) return;
        this.mix(3, ev.node, n.storage.lastIndex());
        n.durable = n.storage.clone();
        n.bound = { last: endOf(n.durable), voters: confOf(n.durable).voters.length, incarnation: n.raft.incarnation, recoverTo: n.raft.recoveryTarget };
        const rd = n.syncing;
        n.syncing = null;
        this.finish(n, rd);
        this.pump(n);
        this.observe(n);
        return;
      }
      case EV_ACTION:
        this.act(ev.action as Action);
        return;
      case EV_CALM:
        this.note('faults stop: network healed and calm, every node restarted');
        this.mix(5, 0, 0);
        this.side = this.side.map(() => 0);
        this.isolated.clear();
        this.drop = 0;
        this.dup = 0;
        this.maxDelay = 10;
        for (const n of this.nodes) if (n !== undefined && !n.alive) this.restart(n);
        if (!this.preVote && !this.checkQuorum) this.schedule(this.now, EV_DECOMMISSION, 0, 0, null, null);
        return;
      case EV_DECOMMISSION:
        this.decommissionRemoved();
        this.schedule(this.now + 50, EV_DECOMMISSION, 0, 0, null, null);
        return;
    }
  }

  /** Drains the node's Ready: write it, and after the (simulated) fsync send, apply, advance. */
  private pump(n: SimNode): void {
    while (n.alive && n.syncing === null && n.raft.hasReady()) {
      const rd = n.raft.ready();
      this.write(n, rd);
      if (rd.mustSync) {
        if (this.opts.sendBeforeSync === true) {
          for (const m of rd.messages) this.send(m);
          n.syncing = { ...rd, messages: [] };
        } else {
          n.syncing = rd;
        }
        this.schedule(this.now + 1 + this.net.nextInt(8), EV_FSYNC, n.id, n.inc, null, null);
        return;
      }
      this.finish(n, rd);
    }
  }

  private write(n: SimNode, rd: Ready): void {
    const s = n.storage;
    if (rd.snapshot !== null) {
      const snap = rd.snapshot;
      const t = this.inv.committedTerm(snap.index);
      if (t !== undefined && t !== snap.term) {
        throw new InvariantViolation('committed entry lost', `node ${n.id} installs snapshot ${snap.index}/${snap.term}, committed term ${t}`);
      }
      s.applySnapshot(snap);
    }
    if (rd.entries.length > 0) {
      const first = (rd.entries[0] as Entry).index;
      for (let i = first; i <= s.lastIndex(); i++) {
        const t = s.term(i);
        const incoming = rd.entries[i - first];
        if (t >= 0 && (incoming === undefined || incoming.term !== t)) this.inv.entryTruncated(n.id, i, t);
      }
      let prevTerm = s.term(first - 1);
      for (const e of rd.entries) {
        this.inv.entryWritten(n.id, e, prevTerm);
        prevTerm = e.term;
      }
      s.append(rd.entries);
    }
    if (rd.hardState !== null) s.setHardState(rd.hardState);
  }

  private finish(n: SimNode, rd: Ready): void {
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot !== null) {
      n.applied = rd.snapshot.index;
      this.restoreState(n, rd.snapshot.data);
      n.conf = rd.snapshot.conf;
      this.inv.applied(n.id, n.applied, n.hash);
      if (this.tracing) this.note(`node ${n.id} restores snapshot at ${n.applied}`);
    }
    for (const e of rd.committedEntries) this.apply(n, e);
    for (const rs of rd.readStates) {
      const id = decodeHash(rs.context);
      const min = n.reads.get(id);
      if (min === undefined) continue;
      n.reads.delete(id);
      if (rs.index < min) {
        throw new InvariantViolation('linearizable read', `node ${n.id} read ${id} got index ${rs.index}, below acknowledged write ${min}`);
      }
    }
    n.raft.advance();
    if (n.applied - n.storage.firstIndex() > AUTO_COMPACT_AFTER) this.compact(n);
  }

  private apply(n: SimNode, e: Entry): void {
    if (e.index !== n.applied + 1) {
      throw new InvariantViolation('state machine safety', `node ${n.id} applies ${e.index} after ${n.applied}`);
    }
    n.hash = mixHash(n.hash, e);
    n.applied = e.index;
    this.inv.applied(n.id, e.index, n.hash);
    if (this.opts.metadata === true && e.type === EntryType.Normal && e.data.length > 0) {
      if (this.opts.divergeMetadataOn !== n.id || e.index % 5 !== 0) n.image = applyEntry(n.image, e.data);
      const broken = violations(n.image);
      if (broken.length > 0) throw new InvariantViolation('metadata image', `node ${n.id} at ${e.index}: ${broken.slice(0, 3).join('; ')}`);
      this.inv.metadataApplied(n.id, e.index, fingerprint(n.image));
    }
    if (e.type === EntryType.ConfChange) n.conf = decodeConfChange(e.data).conf;
    const p = n.proposals.get(e.index);
    if (p !== undefined) {
      n.proposals.delete(e.index);
      if (p.term === e.term && sameBytes(p.data, e.data)) {
        this.stats.acked++;
        if (e.index > this.maxAcked) this.maxAcked = e.index;
      }
    }
  }

  private send(m: Message): void {
    this.stats.messages++;
    if (m.type === MessageType.InstallSnapshot) this.stats.snapshotsSent++;
    if (!this.canTalk(m.from, m.to) || this.net.chance(this.drop)) return;
    this.schedule(this.now + 1 + this.net.nextInt(this.maxDelay), EV_DELIVER, m.to, 0, m, null);
    if (this.net.chance(this.dup)) this.schedule(this.now + 1 + this.net.nextInt(this.maxDelay * 2), EV_DELIVER, m.to, 0, m, null);
  }

  private canTalk(a: number, b: number): boolean {
    return this.side[a] === this.side[b] && !this.isolated.has(a) && !this.isolated.has(b);
  }

  /** Checks run after every event that touched node `n`. */
  private observe(n: SimNode): void {
    if (!n.alive) return;
    const r = n.raft;
    if (r.role !== n.lastRole || r.term !== n.lastTerm) {
      n.lastRole = r.role;
      n.lastTerm = r.term;
      if (this.tracing) this.note(`node ${n.id} is ${ROLE_NAMES[r.role]} of term ${r.term}`);
    }
    const c = r.commitIndex;
    if (c < n.lastCommit) {
      throw new InvariantViolation('commit index monotonic', `node ${n.id} commit went from ${n.lastCommit} to ${c}`);
    }
    for (let i = Math.max(n.lastCommit + 1, r.firstIndex); i <= c; i++) this.inv.entryCommitted(n.id, i, r.termAt(i));
    n.lastCommit = c;
    if (r.role === Role.Leader && this.inv.leader(n.id, r.term)) {
      this.stats.elections++;
      this.inv.leaderComplete(n.id, r.term, r.firstIndex, r.lastIndex, (i) => r.termAt(i));
    }
  }

  // ------------------------------------------------------------------ faults and workload

  private act(a: Action): void {
    const rng = new SeededRandom(a.seed);
    const pool = this.nodes.length - 1;
    const pick = (): SimNode => this.nodes[1 + rng.nextInt(pool)] as SimNode;
    const leader = this.currentLeader();
    this.mix(4, a.n, 0);
    switch (a.kind) {
      case 'propose': {
        if (leader === undefined) return;
        const count = 1 + rng.nextInt(8);
        const batch: Uint8Array[] = [];
        if (this.opts.metadata === true) {
          for (let i = 0; i < count; i++) for (const r of proposeFrom(leader.image, rng)) batch.push(encodeRecord(r));
          if (batch.length === 0) return;
        } else {
          for (let i = 0; i < count; i++) batch.push(encodeHash(this.nextProposal++));
        }
        if (rng.chance(0.3)) {
          const first = leader.raft.proposeBatch(batch);
          if (first > 0) {
            batch.forEach((data, i) => leader.proposals.set(first + i, { term: leader.raft.term, data }));
            this.stats.proposals += count;
          }
        } else {
          for (const data of batch) {
            const idx = leader.raft.propose(data);
            if (idx > 0) {
              this.stats.proposals++;
              leader.proposals.set(idx, { term: leader.raft.term, data });
            }
          }
        }
        this.note(`client proposes ${count} entries at leader ${leader.id}`);
        this.pump(leader);
        this.observe(leader);
        return;
      }
      case 'read': {
        const n = pick();
        if (!n.alive) return;
        const id = this.nextRead++;
        if (n.raft.readIndex(encodeHash(id))) {
          this.stats.reads++;
          n.reads.set(id, this.maxAcked);
        }
        this.note(`client reads at node ${n.id}`);
        this.pump(n);
        return;
      }
      case 'crash':
      case 'crash-leader': {
        const n = a.kind === 'crash' ? pick() : leader;
        if (n === undefined || !n.alive) return;
        this.note(`node ${n.id} crashes (unsynced writes lost)`);
        n.alive = false;
        n.inc++;
        n.syncing = null;
        this.stats.crashes++;
        return;
      }
      case 'restart': {
        const down = this.nodes.filter((n) => n !== undefined && !n.alive);
        if (down.length === 0) return;
        this.restart(down[rng.nextInt(down.length)] as SimNode);
        return;
      }
      case 'lose-tail': {
        // A crash, and a disk that comes back without the last entries it had fsynced (and so
        // maybe acknowledged): the broker finds a corrupt tail and cuts it.
        const n = pick();
        const lose = 1 + rng.nextInt(12);
        if (!this.mayLoseTail(n, lose, leader)) return;
        if (n.alive) {
          n.alive = false;
          n.inc++;
          n.syncing = null;
          this.stats.crashes++;
        }
        this.restart(n, lose);
        return;
      }
      case 'partition': {
        for (let id = 1; id <= pool; id++) this.side[id] = rng.nextInt(2);
        this.note(`partition: ${this.side.slice(1).join('')}`);
        return;
      }
      case 'isolate': {
        const n = pick();
        this.isolated.add(n.id);
        this.note(`node ${n.id} isolated`);
        return;
      }
      case 'heal':
        this.side = this.side.map(() => 0);
        this.isolated.clear();
        this.note('network healed');
        return;
      case 'weather': {
        this.drop = [0, 0.01, 0.05, 0.2][rng.nextInt(4)] as number;
        this.dup = [0, 0.02, 0.1][rng.nextInt(3)] as number;
        this.maxDelay = [5, 20, 80][rng.nextInt(3)] as number;
        this.note(`network: drop ${this.drop} dup ${this.dup} delay <= ${this.maxDelay}`);
        return;
      }
      case 'membership': {
        if (leader === undefined) return;
        const conf = leader.raft.conf;
        const target = pick().id;
        const r = rng.nextInt(10);
        let op: ConfChangeOp;
        if (r < 3) op = ConfChangeOp.AddLearner;
        else if (r < 6) op = ConfChangeOp.AddVoter;
        else op = ConfChangeOp.Remove;
        if (op === ConfChangeOp.Remove && conf.voters.includes(target) && conf.voters.length <= 2) return;
        const idx = leader.raft.proposeMembershipChange({ op, node: target });
        const name = op === ConfChangeOp.AddLearner ? 'add learner' : op === ConfChangeOp.AddVoter ? 'add voter' : 'remove';
        this.note(`leader ${leader.id}: ${name} ${target} -> ${idx > 0 ? `entry ${idx}` : `refused ${idx}`}`);
        if (idx > 0) this.stats.confChanges++;
        this.pump(leader);
        this.observe(leader);
        return;
      }
      case 'transfer': {
        if (leader === undefined) return;
        const voters = leader.raft.conf.voters.filter((v) => v !== leader.id);
        if (voters.length === 0) return;
        const to = voters[rng.nextInt(voters.length)] as number;
        const ok = leader.raft.transferLeadership(to);
        this.note(`leader ${leader.id}: transfer to ${to}${ok ? '' : ' refused'}`);
        if (ok) this.stats.transfers++;
        this.pump(leader);
        return;
      }
      case 'compact': {
        const n = pick();
        if (n.alive) this.compact(n);
        return;
      }
    }
  }

  /**
   * Without PreVote and CheckQuorum leases, a removed server that missed its removal keeps
   * campaigning with ever higher terms and deposes every leader (thesis §4.2.3); the paper's answer
   * is that removed servers are shut down once their removal commits, so the calm phase does that
   * (as an operator would) for plain-protocol seeds.
   */
  private decommissionRemoved(): void {
    let latest: SimNode | undefined;
    for (const n of this.nodes) if (n !== undefined && (latest === undefined || n.applied > latest.applied)) latest = n;
    if (latest === undefined) return;
    const member = (c: ConfState, id: number): boolean => c.voters.includes(id) || c.learners.includes(id);
    for (const n of this.nodes) {
      if (n === undefined || !n.alive || member(latest.conf, n.id)) continue;
      // Re-added by a change still in flight at the leader: not removable.
      const leader = this.currentLeader();
      if (leader === undefined || member(leader.raft.conf, n.id)) continue;
      n.alive = false;
      n.inc++;
      n.syncing = null;
      this.note(`node ${n.id} is not in the committed configuration: shut down`);
    }
  }

  /**
   * Where a lost tail may strike. Never the only voter (nobody could give the entries back). By
   * default only where the cluster is promised to recover as well: one replica short at a time,
   * at least three voters, no configuration change in the part lost (the group keeps its quorum
   * size), and another voter durably at least as up to date as the log before the loss (a
   * recovering replica votes only for such a candidate; see raft.ts, "Lost tails").
   */
  private mayLoseTail(n: SimNode, lose: number, leader: SimNode | undefined): boolean {
    const durableVoters = confOf(n.durable).voters.length;
    if (this.opts.manyLostTails === true) return durableVoters >= 2;
    const short = (o: SimNode): boolean => (o.alive ? o.raft.recovering : o.bound.recoverTo !== null);
    if (this.nodes.some((o) => o !== undefined && o !== n && short(o))) return false;
    if (durableVoters < 3 || (leader !== undefined && leader.raft.conf.voters.length < 3)) return false;
    const d = n.durable;
    const from = Math.max(d.snapshot().index + 1, d.lastIndex() - lose + 1);
    const lost = from <= d.lastIndex() ? d.entries(from, d.lastIndex() + 1, Infinity) : [];
    if (lost !== null && lost.some((e) => e.type === EntryType.ConfChange)) return false;
    const end = endOf(d);
    return confOf(d).voters.some((v) => {
      const o = this.nodes[v];
      if (o === undefined || o === n) return false;
      const e = endOf(o.durable);
      return e.term > end.term || (e.term === end.term && e.index >= end.index);
    });
  }

  /** Snapshot data: the hash, and in metadata mode the encoded image after it. */
  private stateBytes(n: SimNode): Uint8Array {
    const h = encodeHash(n.hash);
    if (this.opts.metadata !== true) return h;
    const img = encodeImage(n.image);
    const out = new Uint8Array(h.length + img.length);
    out.set(h, 0);
    out.set(img, h.length);
    return out;
  }

  private restoreState(n: SimNode, data: Uint8Array): void {
    n.hash = decodeHash(data);
    if (this.opts.metadata === true) n.image = data.length > 8 ? decodeImage(data.subarray(8)) : initialImage();
  }

  private compact(n: SimNode): void {
    if (n.applied < n.storage.firstIndex()) return;
    n.storage.createSnapshot(n.applied, n.conf, this.stateBytes(n));
    if (this.tracing) this.note(`node ${n.id} compacts through ${n.applied}`);
  }

  private restart(n: SimNode, loseEntries = 0): void {
    n.storage = n.durable.clone();
    if (loseEntries > 0) {
      const keep = Math.max(n.storage.snapshot().index, n.storage.lastIndex() - loseEntries);
      if (keep < n.storage.lastIndex()) {
        this.note(`node ${n.id} lost entries ${keep + 1}..${n.storage.lastIndex()} from its disk`);
        this.stats.lostTails++;
        n.storage.discardFrom(keep + 1);
        n.durable = n.storage.clone();
      }
    }
    // What the broker does at open (replication/lost-tail.ts): a log shorter than what it may have
    // acknowledged, or than its commit, starts a new incarnation that recovers before it votes.
    const b = n.bound;
    const end = endOf(n.storage);
    const lost = end.index < b.last.index || end.term !== b.last.term || n.storage.hardState().commit > end.index;
    let recoverTo: LogPosition | null = null;
    let incarnation = b.incarnation;
    if (this.opts.ignoreLostTail !== true) {
      // A replica that was the only voter has nobody to get the entries back from (the broker logs
      // them as lost for good); one already recovering goes on recovering.
      recoverTo = lost && b.voters > 1 ? later(b.last, b.recoverTo) : b.recoverTo;
      if (recoverTo !== null) incarnation++;
    }
    n.bound = { last: end, voters: confOf(n.storage).voters.length, incarnation, recoverTo };
    n.inc++;
    n.alive = true;
    n.syncing = null;
    n.proposals.clear();
    n.reads.clear();
    const snap = n.storage.snapshot();
    n.raft = this.newRaft(n.id, n.storage, n.inc, incarnation, recoverTo);
    n.applied = snap.index;
    this.restoreState(n, snap.data);
    n.conf = snap.conf;
    if (snap.index > 0) this.inv.applied(n.id, snap.index, n.hash);
    n.lastCommit = n.raft.commitIndex;
    n.lastRole = n.raft.role;
    n.lastTerm = n.raft.term;
    this.note(
      `node ${n.id} restarts (log ${n.storage.firstIndex()}..${n.storage.lastIndex()}, commit ${n.lastCommit}${n.raft.recovering ? `, recovering in incarnation ${incarnation}` : ''})`,
    );
    this.pump(n);
  }

  private newRaft(id: number, storage: MemoryStorage, inc: number, incarnation: number, recoverTo: LogPosition | null): RaftNode {
    return new RaftNode({
      incarnation,
      ...(recoverTo !== null ? { recoverTo } : {}),
      id,
      group: 1,
      storage,
      random: new SeededRandom(this.opts.seed * 31 + id * 1009 + inc * 7),
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      maxInflight: this.maxInflight,
      maxAppendBytes: this.maxAppendBytes,
      preVote: this.preVote,
      checkQuorum: this.checkQuorum,
    });
  }

  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      if (n === undefined || !n.alive || n.raft.role !== Role.Leader) continue;
      if (best === undefined || n.raft.term > best.raft.term) best = n;
    }
    return best;
  }

  private checkLiveness(): void {
    const leader = this.currentLeader();
    if (leader === undefined) {
      throw new InvariantViolation('liveness', `no leader ${LIVENESS_BOUND} time units after the faults stopped`);
    }
    const conf = leader.raft.conf;
    for (const id of [...conf.voters, ...conf.learners]) {
      const n = this.nodes[id] as SimNode;
      if (n.raft.recovering) {
        throw new InvariantViolation('liveness', `member ${id} still recovers its lost tail ${LIVENESS_BOUND} units after faults stopped`);
      }
      if (n.applied < this.maxAcked) {
        throw new InvariantViolation(
          'liveness',
          `member ${id} applied only ${n.applied} of acknowledged ${this.maxAcked} ${LIVENESS_BOUND} units after faults stopped`,
        );
      }
    }
  }

  // ------------------------------------------------------------------ trace

  private dumpState(): void {
    for (const n of this.nodes) {
      if (n === undefined) continue;
      const r = n.raft;
      this.note(
        `  node ${n.id}: ${n.alive ? 'up' : 'down'} ${ROLE_NAMES[r.role]} term=${r.term} vote=${r.vote} lead=${r.leader} ` +
          `log=${r.firstIndex}..${r.lastIndex}/${r.termAt(r.lastIndex)} commit=${r.commitIndex} applied=${n.applied} ` +
          `voters=[${r.conf.voters}] learners=[${r.conf.learners}]`,
      );
    }
  }

  private mix(kind: number, a: number, b: number): void {
    let h = this.traceHash;
    h = Math.imul(h ^ kind, 16777619);
    h = Math.imul(h ^ this.now, 16777619);
    h = Math.imul(h ^ a, 16777619);
    h = Math.imul(h ^ (b | 0), 16777619);
    this.traceHash = h;
  }

  private note(text: string): void {
    if (this.tracing) this.trace.push(`t=${this.now} ${text}`);
  }
}

/** The configuration in force at the end of a stored log (its latest ConfChange, else the snapshot's). */
function confOf(s: MemoryStorage): ConfState {
  const ents = s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity) ?? [];
  for (let i = ents.length - 1; i >= 0; i--) {
    const e = ents[i] as Entry;
    if (e.type === EntryType.ConfChange) return decodeConfChange(e.data).conf;
  }
  return s.snapshot().conf;
}

function endOf(s: MemoryStorage): LogPosition {
  return { index: s.lastIndex(), term: s.term(s.lastIndex()) };
}

function describe(m: Message): string {
  let s = `${m.from}->${m.to} ${MESSAGE_NAMES[m.type]} term=${m.term}`;
  switch (m.type) {
    case MessageType.Append:
      s += ` prev=${m.index}/${m.logTerm} entries=${m.entries.length} commit=${m.commit}`;
      break;
    case MessageType.AppendResponse:
      s += m.reject ? ` reject ${m.index} hint=${m.hint}/${m.logTerm}` : ` ok ${m.index}`;
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      s += ` last=${m.index}/${m.logTerm}${m.transfer ? ' transfer' : ''}`;
      break;
    case MessageType.VoteResponse:
    case MessageType.PreVoteResponse:
      s += m.reject ? ' rejected' : ' granted';
      break;
    case MessageType.InstallSnapshot:
      s += ` snapshot=${m.snapshot?.index}/${m.snapshot?.term}`;
      break;
    case MessageType.Heartbeat:
      s += ` commit=${m.commit}`;
      break;
  }
  return s;
}

function mixHash(h: number, e: Entry): number {
  h = Math.imul(h ^ e.index, 16777619);
  h = Math.imul(h ^ e.term, 16777619);
  h = Math.imul(h ^ e.type, 16777619);
  for (let i = 0; i < e.data.length; i++) h = Math.imul(h ^ (e.data[i] as number), 16777619);
  return h >>> 0;
}

function encodeHash(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return b;
}

function decodeHash(b: Uint8Array): number {
  if (b.length < 8) return 0;
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
}
