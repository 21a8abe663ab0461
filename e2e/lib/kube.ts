import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKubectl } from './tools.js';
import { run, waitFor } from './exec.js';

/** kubectl bound to one kubeconfig, for tests. */
export class Kubectl {
  constructor(readonly kubeconfigPath: string) {}

  async run(args: readonly string[], input?: string): Promise<string> {
    const bin = await ensureKubectl();
    const r = await run(bin, ['--kubeconfig', this.kubeconfigPath, ...args], input === undefined ? {} : { input });
    return r.stdout;
  }

  apply(manifest: string, namespace?: string): Promise<string> {
    return this.run([...(namespace ? ['-n', namespace] : []), 'apply', '-f', '-'], manifest);
  }

  /** `kubectl apply -f DIR/` for every manifest file of a folder (crds/); false when it has none. */
  async applyDir(dir: string): Promise<boolean> {
    const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
    if (files.length === 0) return false;
    await this.run(['apply', '-f', dir.endsWith('/') ? dir : dir + '/']);
    return true;
  }

  async jsonpath(args: readonly string[], path: string): Promise<string> {
    return (await this.run([...args, '-o', `jsonpath=${path}`])).trim();
  }

  /** Diagnostics for a failed test: events and pod states of a namespace. */
  async describe(namespace: string): Promise<string> {
    const parts = await Promise.all([
      this.run(['-n', namespace, 'get', 'pods', '-o', 'wide']).catch((e: Error) => e.message),
      this.run(['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']).catch((e: Error) => e.message),
    ]);
    return parts.join('\n');
  }

  async waitPodReady(namespace: string, pod: string, timeoutMs: number): Promise<void> {
    await waitFor(
      `pod ${namespace}/${pod} Ready`,
      async () => {
        const s = await this.jsonpath(['-n', namespace, 'get', 'pod', pod], '{.status.conditions[?(@.type=="Ready")].status}');
        return s === 'True' ? true : undefined;
      },
      timeoutMs,
      1000,
    );
  }
}

export function manifestPath(name: string): string {
  return join(new URL('../manifests', import.meta.url).pathname, name);
}
