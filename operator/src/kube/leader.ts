import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeRest } from './rest.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSec?: number;
  renewEveryMs?: number;
  log: Logger;
  onStartedLeading(): void;
  /** Called when leadership is lost; the process must stop acting at once. */
  onStoppedLeading(): void;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease. Updates carry the resourceVersion they
 * read, so two candidates can never both win; a leader that cannot renew before its lease
 * would expire steps down on its own clock, before anyone else can take over.
 */
export class LeaderElector {
  private timer: NodeJS.Timeout | null = null;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;

  constructor(
    private readonly rest: KubeRest,
    private readonly o: LeaderElectionOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
  }

  private get durationSec(): number {
    return this.o.leaseDurationSec ?? 15;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.o.renewEveryMs ?? Math.floor((this.durationSec * 1000) / 3));
  }

  private async tick(): Promise<void> {
    try {
      const won = await this.tryAcquireOrRenew();
      if (won) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ identity: this.o.identity }, 'became leader');
          this.o.onStartedLeading();
        }
      } else this.loseIfExpired(true);
    } catch (err) {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease renew failed');
      this.loseIfExpired(false);
    }
    this.schedule();
  }

  private loseIfExpired(otherHolds: boolean): void {
    if (!this.leading) return;
    // Step down a margin before the lease could expire in anyone else's eyes.
    if (otherHolds || Date.now() - this.lastRenew > this.durationSec * 1000 * 0.66) {
      this.leading = false;
      this.o.log.warn({ identity: this.o.identity }, 'lost leadership');
      this.o.onStoppedLeading();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    let lease: Lease;
    try {
      lease = await this.rest.get<Lease>(`${this.path}/${this.o.name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.rest.request('POST', this.path, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.durationSec, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    }
    const holder = lease.spec.holderIdentity ?? '';
    const renewed = lease.spec.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    const duration = (lease.spec.leaseDurationSeconds ?? this.durationSec) * 1000;
    const expired = !holder || now.getTime() > renewed + duration;
    if (holder !== this.o.identity && !expired) return false;
    const spec = { ...lease.spec, holderIdentity: this.o.identity, leaseDurationSeconds: this.durationSec, renewTime: microTime(now) };
    if (holder !== this.o.identity) {
      spec.acquireTime = microTime(now);
      spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1;
    }
    try {
      await this.rest.request('PUT', `${this.path}/${this.o.name}`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Gives the lease up so a standby takes over immediately instead of after expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.rest.get<Lease>(`${this.path}/${this.o.name}`);
      if (lease.spec.holderIdentity === this.o.identity) {
        await this.rest.request('PUT', `${this.path}/${this.o.name}`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: lease.metadata,
          spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(new Date(0)) },
        });
      }
    } catch (err) {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'lease release failed');
    }
  }
}
