/**
 * The simulated network between the brokers' raft hosts: what the host hands its MessageSink is
 * encoded with the real transport codec (so the receiver gets fresh bytes, as over gRPC) and
 * delivered to the destination's current incarnation after a delay, unless the weather drops it.
 * It may also be delivered twice, or overtaken by later messages (reordered). Links can be cut
 * both ways (partitions, isolation) or one way. Liveness: every node beats every peer over the
 * same faulty links; a peer not heard from within the timeout is reported down to the host
 * (peerDown + peerUnreachable, as the broker wires the real transport's onPeerState).
 */
import type { Message } from '../../../src/raft/types.js';
import { SeededRandom } from '../../../src/raft/random.js';
import type { RaftHost } from '../../../src/replication/raft-host.js';
import { loadRaftCodec, type RaftCodec } from '../../../src/replication/transport/codec.js';
import type { NodeTimers, SimLoop } from './sim-loop.js';

export interface Weather {
  readonly drop: number;
  readonly duplicate: number;
  /** Chance that a message is held back (others on its link may overtake it). */
  readonly reorder: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const CALM: Weather = { drop: 0, duplicate: 0, reorder: 0, minDelayMs: 0.2, maxDelayMs: 2 };

export interface NetStats {
  frames: number;
  messages: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  cut: number;
}

interface Endpoint {
  host: RaftHost;
  timers: NodeTimers;
  /** Last time each peer was heard from, and whether it is up as this node sees it. */
  heard: Map<number, number>;
  up: Map<number, boolean>;
}

const CLUSTER = 'sim';
export const BEAT_MS = 50;
export const PEER_TIMEOUT_MS = 400;

export class SimNetwork {
  weather: Weather = CALM;
  readonly stats: NetStats = { frames: 0, messages: 0, dropped: 0, duplicated: 0, reordered: 0, cut: 0 };
  private readonly endpoints = new Map<number, Endpoint>();
  /** Blocked directed links "from>to". */
  private readonly blocked = new Set<string>();
  /** Per directed link, when its last in-order frame arrives (frames are FIFO unless held back). */
  private readonly lastArrival = new Map<string, number>();
  private readonly rng: SeededRandom;
  private readonly codec: RaftCodec = loadRaftCodec();
  private sequence = 0;
  /** Called for every message handed to the network (the model counts and traces). */
  onSend: (from: number, to: number, m: Message) => void = () => undefined;

  constructor(
    private readonly loop: SimLoop,
    seed: number,
  ) {
    this.rng = new SeededRandom(seed);
  }

  /** A node (re)started: its host receives from now on, and it beats its peers. */
  attach(node: number, host: RaftHost, timers: NodeTimers, peers: readonly number[]): void {
    const ep: Endpoint = { host, timers, heard: new Map(), up: new Map() };
    for (const p of peers) {
      if (p === node) continue;
      ep.heard.set(p, this.loop.now);
      ep.up.set(p, true);
    }
    this.endpoints.set(node, ep);
    timers.setInterval(() => this.beat(node, ep), BEAT_MS);
  }

  /** A node crashed: nothing reaches it any more. */
  detach(node: number): void {
    this.endpoints.delete(node);
  }

  canSend(from: number, to: number): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  cut(from: number, to: number): void {
    this.blocked.add(`${from}>${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  blockedLinks(): string[] {
    return [...this.blocked].sort();
  }

  /** The MessageSink of node `from`. */
  sinkFor(from: number): { send(to: number, messages: readonly Message[]): boolean; quiesce(to: number, groups: readonly number[]): void } {
    return {
      send: (to, messages) => {
        for (const m of messages) this.onSend(from, to, m);
        this.frame(from, to, messages, []);
        return true;
      },
      quiesce: (to, groups) => this.frame(from, to, [], groups),
    };
  }

  private frame(from: number, to: number, messages: readonly Message[], quiesced: readonly number[]): void {
    this.stats.frames++;
    this.stats.messages += messages.length;
    if (!this.canSend(from, to)) {
      this.stats.cut++;
      return;
    }
    const w = this.weather;
    if (this.rng.chance(w.drop)) {
      this.stats.dropped++;
      return;
    }
    const bytes = this.codec.encodeBatch({ fromNode: from, toNode: to, clusterId: CLUSTER, sequence: this.sequence++, messages, quiescedGroups: quiesced, wokenGroups: [] });
    const copies = this.rng.chance(w.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      const link = `${from}>${to}`;
      let at = this.loop.now + w.minDelayMs + this.rng.nextFloat() * (w.maxDelayMs - w.minDelayMs);
      if (c === 0 && this.rng.chance(w.reorder)) {
        at += this.rng.nextFloat() * 4 * w.maxDelayMs + w.maxDelayMs;
        this.stats.reordered++;
      } else {
        at = Math.max(at, this.lastArrival.get(link) ?? 0);
        this.lastArrival.set(link, at);
      }
      this.loop.at(at, () => this.deliver(from, to, bytes));
    }
  }

  private deliver(from: number, to: number, bytes: Buffer): void {
    const ep = this.endpoints.get(to);
    // A cut made while the frame was on its way also stops it (a broken stream loses its frames).
    if (ep === undefined || !ep.timers.alive || !this.canSend(from, to)) return;
    const batch = this.codec.decodeBatch(bytes);
    this.heardFrom(ep, from);
    if (batch.messages.length > 0) ep.host.receive(from, batch.messages);
    if (batch.quiescedGroups.length > 0) ep.host.receiveQuiesce(from, batch.quiescedGroups);
  }

  private heardFrom(ep: Endpoint, from: number): void {
    ep.heard.set(from, this.loop.now);
    ep.up.set(from, true);
  }

  private beat(node: number, ep: Endpoint): void {
    for (const [peer] of ep.heard) {
      if (this.canSend(node, peer) && !this.rng.chance(this.weather.drop)) {
        const delay = this.weather.minDelayMs + this.rng.nextFloat() * (this.weather.maxDelayMs - this.weather.minDelayMs);
        this.loop.at(this.loop.now + delay, () => {
          const target = this.endpoints.get(peer);
          if (target !== undefined && target.timers.alive && this.canSend(node, peer)) this.heardFrom(target, node);
        });
      }
      const last = ep.heard.get(peer) ?? 0;
      if (ep.up.get(peer) === true && this.loop.now - last > PEER_TIMEOUT_MS) {
        ep.up.set(peer, false);
        ep.host.peerDown(peer);
        ep.host.peerUnreachable(peer);
      }
    }
  }
}
