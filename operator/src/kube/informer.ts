import type { Logger } from 'pino';
import type { JsonObject, KubeRest } from './rest.js';

export interface WatchedObject extends JsonObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
}

export interface InformerOptions {
  /** Collection path, e.g. /apis/apps/v1/namespaces/ns/statefulsets or cluster-wide. */
  path: string;
  labelSelector?: string;
  /** Full relist even without errors: a missed event is repaired within this time. */
  resyncMs?: number;
  onChange(type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC', obj: WatchedObject): void;
  log: Logger;
}

/**
 * List-then-watch with a local cache. After any error, a closed stream or an expired
 * resourceVersion it relists from scratch (reporting objects that vanished meanwhile as
 * DELETED), and it relists periodically, because watch streams are known to drop events.
 */
export class Informer {
  private readonly cache = new Map<string, WatchedObject>();
  private abort = new AbortController();
  private stopped = false;
  private synced = false;
  private loop: Promise<void> | null = null;
  lastError: string | null = null;

  constructor(
    private readonly rest: KubeRest,
    private readonly o: InformerOptions,
  ) {}

  static key(obj: WatchedObject): string {
    return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  list(): WatchedObject[] {
    return [...this.cache.values()];
  }

  get(key: string): WatchedObject | undefined {
    return this.cache.get(key);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
  }

  private async relist(): Promise<string> {
    const list = await this.rest.get<{ metadata: { resourceVersion: string }; items: WatchedObject[] }>(this.o.path, {
      labelSelector: this.o.labelSelector,
    });
    const seen = new Set<string>();
    for (const item of list.items) {
      const k = Informer.key(item);
      seen.add(k);
      this.cache.set(k, item);
      this.o.onChange('SYNC', item);
    }
    for (const [k, obj] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.o.onChange('DELETED', obj);
      }
    }
    this.synced = true;
    return list.metadata.resourceVersion;
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      try {
        let rv = await this.relist();
        backoff = 500;
        const resyncAt = Date.now() + (this.o.resyncMs ?? 300_000);
        while (!this.stopped && Date.now() < resyncAt) {
          this.abort = new AbortController();
          const timer = setTimeout(() => this.abort.abort(), Math.max(1000, resyncAt - Date.now()));
          let expired = false;
          try {
            await this.rest.watch(
              this.o.path,
              { labelSelector: this.o.labelSelector, resourceVersion: rv, timeoutSeconds: 240 },
              (type, raw) => {
                const obj = raw as WatchedObject;
                if (type === 'BOOKMARK') {
                  rv = obj.metadata.resourceVersion ?? rv;
                  return;
                }
                if (type === 'ERROR') {
                  expired = true;
                  this.lastError = JSON.stringify(raw).slice(0, 300);
                  this.abort.abort();
                  return;
                }
                rv = obj.metadata.resourceVersion ?? rv;
                const k = Informer.key(obj);
                if (type === 'DELETED') this.cache.delete(k);
                else this.cache.set(k, obj);
                this.o.onChange(type as 'ADDED' | 'MODIFIED' | 'DELETED', obj);
              },
              this.abort.signal,
            );
          } finally {
            clearTimeout(timer);
          }
          if (expired) break;
        }
      } catch (err) {
        if (this.stopped) break;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.o.log.warn({ err: this.lastError, path: this.o.path }, 'watch failed; relisting');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }
}
