/**
 * `createRaftTransport`: wires the gRPC server (inbound.ts), one PeerLink per peer (outbound.ts),
 * the per-turn flush and the beat timer. The contract is in types.ts.
 */
import type { Message } from '../../raft/types.js';
import { loadRaftCodec, type RaftCodec } from './codec.js';
import { InboundService } from './inbound.js';
import { listen, type RaftListener } from './listener.js';
import { createTransportMetrics, type TransportMetrics } from './metrics.js';
import { PeerLink, grpcTarget, type LinkContext } from './outbound.js';
import { resolveSettings, type TransportSettings } from './settings.js';
import { acceptTcpStream } from './tcp-stream.js';
import { PeerRequestError, type GroupSignals, type PeerAddress, type RaftTransport, type RaftTransportOptions } from './types.js';

export function createRaftTransport(options: RaftTransportOptions): RaftTransport {
  return new GrpcRaftTransport(options);
}

type State = 'new' | 'starting' | 'running' | 'closed';

class GrpcRaftTransport implements RaftTransport {
  private readonly settings: TransportSettings;
  private readonly codec: RaftCodec;
  private readonly metrics: TransportMetrics;
  private readonly inbound: InboundService;
  private readonly linkContext: LinkContext;
  private readonly links = new Map<number, PeerLink>();
  private readonly dirty = new Set<PeerLink>();
  private flushTimer: NodeJS.Immediate | null = null;
  private beatTimer: NodeJS.Timeout | null = null;
  private listener: RaftListener | null = null;
  private state: State = 'new';
  private readonly badPeers = new Set<number>();

  constructor(private readonly opts: RaftTransportOptions) {
    this.settings = resolveSettings(opts);
    this.codec = loadRaftCodec(opts.protoPath);
    this.metrics = createTransportMetrics(opts.registry);
    const log = opts.logger;
    const now = (): number => performance.now();
    this.linkContext = {
      settings: this.settings,
      codec: this.codec,
      metrics: this.metrics,
      logger: log,
      random: opts.random ?? Math.random,
      now,
      address: (peer) => this.currentPeers()?.get(peer),
      peerState: (peer, up) => {
        if (this.state === 'running') this.callback('onPeerState', () => opts.onPeerState?.(peer, up));
      },
      snapshotFailed: (peer, m, reason) => {
        if (this.state === 'running') this.callback('onSnapshotFailed', () => opts.onSnapshotFailed?.(peer, m, reason));
      },
      scheduleFlush: (link) => {
        this.dirty.add(link);
        this.flushTimer ??= setImmediate(() => this.flush());
      },
    };
    this.inbound = new InboundService({
      settings: this.settings,
      codec: this.codec,
      metrics: this.metrics,
      logger: log,
      now,
      isPeer: (node) => this.currentPeers()?.has(node) ?? false,
      deliver: (from, messages) => {
        if (this.serving()) this.callback('onMessages', () => opts.onMessages(from, messages));
      },
      signals: (from, signals) => {
        if (this.serving()) this.callback('onSignals', () => opts.onSignals?.(from, signals));
      },
      onRequest: opts.onRequest
        ? (kind, payload, from) =>
            this.serving()
              ? (opts.onRequest as NonNullable<RaftTransportOptions['onRequest']>)(kind, payload, from)
              : Promise.reject(new Error(`broker ${this.settings.nodeId} is shutting down`))
        : null,
    });
  }

  async start(): Promise<number> {
    if (this.state !== 'new') throw new Error(`raft transport: start() called on a transport that is ${this.state}`);
    this.state = 'starting';
    const target = grpcTarget({ host: this.opts.listenHost, port: this.opts.listenPort });
    let listener: RaftListener;
    try {
      listener = await listen({
        host: this.opts.listenHost,
        port: this.opts.listenPort,
        service: this.inbound.definition(),
        handlers: this.inbound.handlers(),
        grpcMessageLimit: this.settings.grpcMessageLimit,
        receiveWindowBytes: this.settings.receiveWindowBytes,
        logger: this.opts.logger,
        idleTimeoutMs: this.settings.peerTimeoutMs,
        onRawConnection: (socket, first) =>
          acceptTcpStream(socket, first, this.settings.grpcMessageLimit, (channel) => this.inbound.open(channel), (remote, detail) => this.inbound.refuseConnection(remote, detail)),
      });
    } catch (e) {
      this.state = 'closed';
      throw new Error(`raft transport: cannot listen on ${target}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.listener = listener;
    const port = listener.port;
    if (this.state !== 'starting') {
      // close() was called while binding.
      await listener.close(0);
      return port;
    }
    this.state = 'running';
    this.opts.logger.info({ nodeId: this.settings.nodeId, port }, `raft transport of broker ${this.settings.nodeId} listening on ${grpcTarget({ host: this.opts.listenHost, port })}`);
    this.refreshPeers();
    this.beatTimer = setInterval(() => this.tick(), this.settings.beatIntervalMs);
    this.beatTimer.unref();
    return port;
  }

  send(to: number, messages: readonly Message[]): boolean {
    if (messages.length === 0) return true;
    const link = this.state === 'running' ? this.linkFor(to) : undefined;
    if (link === undefined) {
      this.metrics.dropped.labels(String(to), this.state === 'running' ? 'unknown_peer' : 'closed').inc(messages.length);
      return false;
    }
    return link.enqueue(messages);
  }

  signal(to: number, signals: Partial<GroupSignals>): boolean {
    const link = this.state === 'running' ? this.linkFor(to) : undefined;
    if (link === undefined) return false;
    link.addSignals(signals);
    return true;
  }

  request(to: number, kind: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.state !== 'running') return Promise.reject(new PeerRequestError('closed', `request ${kind} to broker ${to}: the transport is not running`));
    const link = this.linkFor(to);
    if (link === undefined) return Promise.reject(new PeerRequestError('unknown_peer', `request ${kind}: broker ${to} is not a peer of broker ${this.settings.nodeId}`));
    return link.request(kind, payload, timeoutMs);
  }

  peerUp(nodeId: number): boolean {
    return this.links.get(nodeId)?.up ?? false;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.beatTimer !== null) clearInterval(this.beatTimer);
    this.beatTimer = null;
    if (this.flushTimer !== null) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    this.dirty.clear();
    for (const link of this.links.values()) link.close('closed');
    this.links.clear();
    this.inbound.close();
    const listener = this.listener;
    this.listener = null;
    // Give the statuses just sent a moment to leave, then cut whatever is still open.
    await listener?.close(250);
  }

  // ------------------------------------------------------------------ internals

  /** Callbacks fire from the moment the listener is up until close(). */
  private serving(): boolean {
    return this.state === 'starting' || this.state === 'running';
  }

  private linkFor(to: number): PeerLink | undefined {
    const existing = this.links.get(to);
    if (existing !== undefined || to === this.settings.nodeId) return existing;
    const address = this.currentPeers()?.get(to);
    return address === undefined ? undefined : this.addLink(to, address);
  }

  private addLink(peer: number, address: PeerAddress): PeerLink {
    const link = new PeerLink(peer, address, this.linkContext);
    this.links.set(peer, link);
    link.start();
    return link;
  }

  /** peers() without this node and without entries that cannot be dialled (each logged once). */
  private currentPeers(): ReadonlyMap<number, PeerAddress> | null {
    let peers: ReadonlyMap<number, PeerAddress>;
    try {
      peers = this.opts.peers();
    } catch (e) {
      this.opts.logger.error({ err: e }, 'raft transport: peers() threw; keeping the current peers');
      return null;
    }
    let usable: Map<number, PeerAddress> | null = null;
    for (const [id, a] of peers) {
      const ok = Number.isSafeInteger(id) && id >= 0 && typeof a?.host === 'string' && a.host.length > 0 && Number.isInteger(a.port) && a.port > 0 && a.port < 65536;
      if (ok && id !== this.settings.nodeId) continue;
      // Copy on the first entry to leave out, so the common case allocates nothing.
      usable ??= new Map(peers);
      usable.delete(id);
      if (!ok && !this.badPeers.has(id)) {
        this.badPeers.add(id);
        this.opts.logger.error({ peer: id, address: a }, `raft transport: ignoring peer ${String(id)}: not a node id >= 0 with a host and a port 1..65535`);
      }
    }
    return usable ?? peers;
  }

  /** Dials new peers, redials moved ones, drops removed ones. */
  private refreshPeers(): void {
    const peers = this.currentPeers();
    if (peers === null) return;
    for (const [id, address] of peers) {
      const link = this.links.get(id);
      if (link === undefined) this.addLink(id, address);
      else link.updateAddress(address);
    }
    for (const [id, link] of this.links) {
      if (peers.has(id)) continue;
      this.opts.logger.info({ peer: id }, `broker ${id} is no longer a peer; closing its raft streams`);
      this.links.delete(id);
      this.dirty.delete(link);
      link.close('peer_removed');
      this.inbound.dropPeer(id);
    }
  }

  private tick(): void {
    if (this.state !== 'running') return;
    this.refreshPeers();
    const now = performance.now();
    for (const link of this.links.values()) link.tick(now);
    this.inbound.sweep(now);
  }

  private flush(): void {
    this.flushTimer = null;
    for (const link of this.dirty) link.flush();
    this.dirty.clear();
  }

  private callback(name: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.opts.logger.error({ err: e }, `raft transport: the host's ${name} callback threw`);
    }
  }
}
