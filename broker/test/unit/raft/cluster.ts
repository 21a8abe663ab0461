/**
 * A synchronous in-memory cluster for the scenario tests: every replica persists its Ready to a
 * MemoryStorage, messages are queued and delivered in order unless a link is cut. No time, no I/O.
 */
import { MemoryStorage, type WritableRaftStorage } from '../../../src/raft/storage.js';
import { RaftNode } from '../../../src/raft/raft.js';
import { SeededRandom } from '../../../src/raft/random.js';
import { EntryType, type ConfState, type Entry, type Message, type RaftOptions, type ReadState } from '../../../src/raft/types.js';
import { decodeConfChange } from '../../../src/raft/membership.js';

export interface Replica {
  raft: RaftNode;
  storage: WritableRaftStorage;
  applied: Entry[];
  readStates: ReadState[];
  /** Configuration as applied (from committed ConfChange entries). */
  appliedConf: ConfState;
}

export type NodeOptions = Partial<Omit<RaftOptions, 'id' | 'group' | 'storage' | 'random'>>;

export class TestCluster {
  readonly replicas = new Map<number, Replica>();
  private queue: Message[] = [];
  private readonly cut = new Set<string>();
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | null = null;
  /** Every message delivered, for assertions on what was sent. */
  readonly delivered: Message[] = [];

  constructor(
    ids: number[],
    private readonly opts: NodeOptions = {},
    learners: number[] = [],
  ) {
    const conf = { voters: ids.filter((i) => !learners.includes(i)), learners };
    for (const id of ids) this.add(id, new MemoryStorage(conf));
  }

  add(id: number, storage: WritableRaftStorage, opts: NodeOptions = {}): Replica {
    const raft = new RaftNode({ id, group: 1, storage, random: new SeededRandom(id * 7919), ...this.opts, ...opts });
    const r: Replica = { raft, storage, applied: [], readStates: [], appliedConf: storage.snapshot().conf };
    this.replicas.set(id, r);
    return r;
  }

  /** Replaces a replica's RaftNode as after a crash (storage kept: everything here was synced). */
  restart(id: number): RaftNode {
    const old = this.get(id);
    // As the host does: the incarnation is durable, and a restart while recovering starts a new one.
    const target = old.raft.recoveryTarget;
    const o = target !== null ? { incarnation: old.raft.incarnation + 1, recoverTo: target } : { incarnation: old.raft.incarnation };
    const r = this.add(id, old.storage, o);
    r.applied = old.applied.filter((e) => e.index <= old.storage.snapshot().index);
    return r.raft;
  }

  /**
   * Restarts a replica whose log lost everything after `keepThrough` (a corrupt tail cut at
   * start-up), as the host opens it: in a new incarnation, recovering, unless `tell` is false (the
   * behaviour before lost tails were detected).
   */
  restartLosingTail(id: number, keepThrough: number, tell = true): RaftNode {
    const old = this.get(id);
    const storage = old.storage;
    if (!(storage instanceof MemoryStorage)) throw new Error('restartLosingTail needs a MemoryStorage');
    // What it may have acknowledged ends where its log ended (or further, if already recovering).
    const before = { index: storage.lastIndex(), term: storage.term(storage.lastIndex()) };
    const prev = old.raft.recoveryTarget;
    const recoverTo = prev !== null && (prev.term > before.term || (prev.term === before.term && prev.index > before.index)) ? prev : before;
    storage.discardFrom(keepThrough + 1);
    const incarnation = old.raft.incarnation + (tell ? 1 : 0);
    const r = this.add(id, storage, tell ? { incarnation, recoverTo } : { incarnation });
    r.applied = old.applied.filter((e) => e.index <= storage.snapshot().index);
    return r.raft;
  }

  get(id: number): Replica {
    const r = this.replicas.get(id);
    if (r === undefined) throw new Error(`no replica ${id}`);
    return r;
  }

  raft(id: number): RaftNode {
    return this.get(id).raft;
  }

  isolate(id: number): void {
    for (const other of this.replicas.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  cutLink(a: number, b: number): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Handles every pending Ready and delivers every message until the cluster is quiet. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const r of this.replicas.values()) {
        if (!r.raft.hasReady()) continue;
        busy = true;
        const rd = r.raft.ready();
        if (rd.snapshot !== null) r.storage.applySnapshot(rd.snapshot);
        r.storage.append(rd.entries);
        if (rd.hardState !== null) r.storage.setHardState(rd.hardState);
        for (const m of rd.messages) this.queue.push(m);
        if (rd.snapshot !== null) {
          r.applied = r.applied.filter((e) => e.index <= (rd.snapshot?.index ?? 0));
          r.appliedConf = rd.snapshot.conf;
        }
        for (const e of rd.committedEntries) {
          r.applied.push(e);
          if (e.type === EntryType.ConfChange) r.appliedConf = decodeConfChange(e.data).conf;
        }
        for (const s of rd.readStates) r.readStates.push(s);
        r.raft.advance();
      }
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        busy = true;
        if (this.cut.has(`${m.from}>${m.to}`)) continue;
        if (this.filter !== null && !this.filter(m)) continue;
        const target = this.replicas.get(m.to);
        if (target === undefined) continue;
        this.delivered.push(m);
        target.raft.step(m);
      }
      if (!busy) return;
    }
    throw new Error('cluster did not settle');
  }

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.raft(id).tick();
      this.settle();
    }
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const r of this.replicas.values()) r.raft.tick();
      this.settle();
    }
  }

  /** Ticks `id` alone until it campaigns and the cluster settles. */
  elect(id: number): void {
    const r = this.raft(id);
    for (let i = 0; i < 100 && r.role !== 3; i++) this.tick(id);
    if (r.role !== 3) throw new Error(`node ${id} did not become leader`);
  }

  leaders(): number[] {
    return [...this.replicas.entries()].filter(([, r]) => r.raft.role === 3).map(([id]) => id);
  }

  propose(id: number, text: string): number {
    const idx = this.raft(id).propose(new TextEncoder().encode(text));
    this.settle();
    return idx;
  }

  appliedText(id: number): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A message with every field defaulted, for stepping a replica by hand. */
export function msg(m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return { group: 1, logTerm: 0, index: 0, commit: 0, entries: [], snapshot: null, reject: false, hint: 0, transfer: false, context: null, ...m };
}
