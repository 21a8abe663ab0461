import type { Logger } from 'pino';
import { GROUP, PLURAL, VERSION } from './api/types.js';
import { Informer, type WatchedObject } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import type { KubeRest } from './kube/rest.js';
import { WorkQueue, type WorkQueueOptions } from './kube/workqueue.js';
import type { OperatorMetrics } from './observability/metrics.js';
import { Reconciler } from './reconcile/reconciler.js';

export interface ControllerOptions {
  rest: KubeRest;
  log: Logger;
  metrics: OperatorMetrics;
  reconciler: Reconciler;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  leaderElection: { namespace: string; name: string; identity: string; leaseDurationSec?: number; renewEveryMs?: number };
  workers?: number;
  queue?: WorkQueueOptions;
  resyncMs?: number;
  /** Leadership lost: this controller has already stopped acting. main.ts exits the process. */
  onLostLeadership?: () => void;
}

/** Owned kinds watched for drift: any change to one re-queues its ChronikCluster. */
const OWNED: { group: string; version: string; plural: string }[] = [
  { group: 'apps', version: 'v1', plural: 'statefulsets' },
  { group: '', version: 'v1', plural: 'services' },
  { group: '', version: 'v1', plural: 'configmaps' },
  { group: '', version: 'v1', plural: 'serviceaccounts' },
  { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets' },
];

function collectionPath(group: string, version: string, plural: string, namespace: string | null): string {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}

/**
 * Ties it together: leader election gates everything; the leader runs informers that turn
 * every relevant change into a ChronikCluster key, and workers that reconcile keys from the
 * queue (one key never concurrently), requeueing after waits and backing off after errors.
 */
export class Controller {
  queue: WorkQueue;
  private readonly informers: Informer[] = [];
  private readonly elector: LeaderElector;
  private workers: Promise<void>[] = [];
  private running = false;
  private stopping = false;
  private depthTimer: NodeJS.Timeout | null = null;
  /** Aborted the moment the lease is lost: every step and API call of this term honours it. */
  private term: AbortController | null = null;

  constructor(private readonly o: ControllerOptions) {
    this.queue = new WorkQueue(o.queue);
    this.elector = new LeaderElector(o.rest, {
      ...o.leaderElection,
      log: o.log,
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: () => {
        this.term?.abort();
        o.metrics.isLeader.set(0);
        void this.stopLeading().then(() => o.onLostLeadership?.());
      },
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  get synced(): boolean {
    return this.informers.length > 0 && this.informers.every((i) => i.hasSynced);
  }

  start(): void {
    this.elector.start();
  }

  private namespaces(): (string | null)[] {
    return this.o.namespaces.length > 0 ? this.o.namespaces : [null];
  }

  private startLeading(): void {
    if (this.running || this.stopping) return;
    this.running = true;
    this.term = new AbortController();
    this.queue = new WorkQueue(this.o.queue);
    this.informers.length = 0;
    this.o.metrics.isLeader.set(1);
    const { rest, log } = this.o;
    for (const ns of this.namespaces()) {
      this.informers.push(
        new Informer(rest, {
          path: collectionPath(GROUP, VERSION, PLURAL, ns),
          resyncMs: this.o.resyncMs,
          log,
          onChange: (_t, obj) => this.queue.add(Informer.key(obj)),
        }),
      );
      for (const k of OWNED) {
        this.informers.push(
          new Informer(rest, {
            path: collectionPath(k.group, k.version, k.plural, ns),
            labelSelector: 'app.kubernetes.io/managed-by=chronik-operator',
            resyncMs: this.o.resyncMs,
            log,
            onChange: (_t, obj) => this.enqueueOwner(obj),
          }),
        );
      }
      this.informers.push(
        new Informer(rest, {
          path: collectionPath('', 'v1', 'pods', ns),
          labelSelector: 'app.kubernetes.io/name=chronik,app.kubernetes.io/component=broker',
          resyncMs: this.o.resyncMs,
          log,
          onChange: (_t, obj) => {
            const inst = (obj.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/instance'];
            if (inst) this.queue.add(`${obj.metadata.namespace ?? ''}/${inst}`);
          },
        }),
      );
    }
    for (const i of this.informers) i.start();
    this.depthTimer = setInterval(() => this.o.metrics.queueDepth.set(this.queue.depth), 2_000);
    this.depthTimer.unref();
    const n = this.o.workers ?? 4;
    const signal = this.term.signal;
    for (let w = 0; w < n; w++) this.workers.push(this.worker(signal));
  }

  private enqueueOwner(obj: WatchedObject): void {
    const owner = obj.metadata.ownerReferences?.find((r) => r.kind === 'ChronikCluster' && r.controller);
    if (owner) this.queue.add(`${obj.metadata.namespace ?? ''}/${owner.name}`);
  }

  private async worker(signal: AbortSignal): Promise<void> {
    const { metrics, log } = this.o;
    for (;;) {
      const key = await this.queue.get();
      if (key === null) return;
      const [ns, name] = key.split('/') as [string, string];
      const end = metrics.reconcileDuration.startTimer();
      try {
        if (signal.aborted) return;
        const r = await this.o.reconciler.reconcile(ns, name, signal);
        this.queue.forget(key);
        metrics.reconciles.inc({ result: 'success' });
        end({ result: 'success' });
        if (r.requeueAfterMs !== undefined && this.running) this.queue.addAfter(key, r.requeueAfterMs);
      } catch (err) {
        if (signal.aborted) return;
        const msg = err instanceof Error ? err.message : String(err);
        metrics.reconciles.inc({ result: 'error' });
        metrics.reconcileErrors.inc({ reason: (err as { reason?: string }).reason ?? (err instanceof Error ? err.name : 'unknown') });
        end({ result: 'error' });
        const delay = this.running ? this.queue.addRateLimited(key) : 0;
        log.warn({ key, err: msg, retryInMs: delay }, 'reconcile failed');
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async stopLeading(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.term?.abort();
    if (this.depthTimer) clearInterval(this.depthTimer);
    this.queue.shutdown();
    await Promise.all(this.informers.map((i) => i.stop()));
    // In-flight reconciles finish their current call; none start after this.
    await Promise.all(this.workers);
    this.workers = [];
  }

  /** Graceful shutdown: finish in-flight work, then hand the lease over. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopLeading();
    await this.elector.stop();
    this.o.metrics.isLeader.set(0);
  }
}
