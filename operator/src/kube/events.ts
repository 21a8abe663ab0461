import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeRest } from './rest.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

/** Writes core/v1 Events so `kubectl describe` shows what the operator did and why. */
export class EventRecorder {
  constructor(
    private readonly rest: KubeRest,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    const name = `${target.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
    try {
      await this.rest.request('POST', `/api/v1/namespaces/${target.namespace}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: target.namespace },
        involvedObject: target,
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      // An event that cannot be written must never fail the reconcile that produced it.
      this.log.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'event not recorded');
    }
  }
}
