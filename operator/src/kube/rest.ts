import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A small JSON client for the Kubernetes REST API. @kubernetes/client-node supplies the
 * kubeconfig and credentials; requests are made here so the operator sends exactly the JSON
 * it built (the generated serializers drop fields they do not model, which would break
 * server-side apply of free-form fields such as affinity) and so watches are plain streams
 * whose lifetime this code controls.
 */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}

export type JsonObject = Record<string, unknown>;

export interface RequestOptions {
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

export class KubeRest {
  private constructor(
    private readonly kc: KubeConfig,
    readonly server: URL,
  ) {}

  static fromKubeConfig(kc: KubeConfig): KubeRest {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return new KubeRest(kc, new URL(cluster.server));
  }

  /** Loads $KUBECONFIG / ~/.kube/config, or the in-cluster service account. */
  static fromDefault(kubeconfigPath?: string): KubeRest {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    return KubeRest.fromKubeConfig(kc);
  }

  private url(path: string, query?: RequestOptions['query']): URL {
    const base = this.server.pathname.replace(/\/$/, '');
    const u = new URL(this.server.origin + base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  private async options(method: string, u: URL, headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json', ...headers } };
    await this.kc.applyToHTTPSOptions(opts);
    opts.hostname = u.hostname;
    opts.port = u.port;
    opts.path = u.pathname + u.search;
    opts.protocol = u.protocol;
    return opts;
  }

  private transport(u: URL): typeof https | typeof http {
    return u.protocol === 'http:' ? http : https;
  }

  async request<T = JsonObject>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    const u = this.url(path, o.query);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const opts = await this.options(method, u, headers);
    return new Promise<T>((resolve, reject) => {
      const req = this.transport(u).request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown = undefined;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : {};
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) {
            resolve((parsed ?? {}) as T);
            return;
          }
          const st = (parsed ?? {}) as { reason?: string; message?: string };
          reject(new KubeApiError(status, st.reason ?? 'Unknown', `${method} ${u.pathname}: ${status} ${st.message ?? text.slice(0, 300)}`));
        });
      });
      req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${u.pathname}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = JsonObject>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, undefined, { query });
  }

  /** Server-side apply: the operator owns exactly the fields it sends, under its field manager. */
  apply<T = JsonObject>(path: string, obj: JsonObject, fieldManager: string): Promise<T> {
    return this.request<T>('PATCH', path, obj, {
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
  }

  mergePatch<T = JsonObject>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, { contentType: 'application/merge-patch+json' });
  }

  delete(path: string, query?: RequestOptions['query']): Promise<JsonObject> {
    return this.request('DELETE', path, undefined, { query });
  }

  /**
   * Streams watch events until the server closes, the signal aborts, or an error occurs.
   * Resolves when the stream ends normally; rejects on HTTP or transport errors.
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: JsonObject) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const u = this.url(path, { ...query, watch: true, allowWatchBookmarks: true });
    const opts = await this.options('GET', u, {});
    return new Promise<void>((resolve, reject) => {
      const req = this.transport(u).request({ ...opts, signal }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new KubeApiError(res.statusCode ?? 0, 'WatchFailed', Buffer.concat(chunks).toString('utf8').slice(0, 300))));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              const ev = JSON.parse(line) as { type: string; object: JsonObject };
              onEvent(ev.type, ev.object);
            } catch (err) {
              req.destroy(err instanceof Error ? err : new Error(String(err)));
              return;
            }
          }
        });
        res.on('end', () => resolve());
        res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
        res.on('aborted', () => (signal.aborted ? resolve() : reject(new Error(`watch ${u.pathname}: stream aborted`))));
      });
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      req.end();
    });
  }
}
