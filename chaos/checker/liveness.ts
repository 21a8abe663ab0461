/**
 * Liveness after the last fault is healed: the last nemesis event marks the heal, and from then
 * every partition the workload writes must acknowledge a write within the bound. The time each
 * took is a figure of the report either way.
 */
import { partitionOf, type Operation } from './operations.js';
import type { CheckResult, Violation } from './report.js';

export const NEMESIS_PROCESS = 'nemesis';

export function checkLiveness(ops: readonly Operation[], boundMs: number): CheckResult {
  const violations: Violation[] = [];
  const nemesis = ops.filter((o) => o.process === NEMESIS_PROCESS);
  const heal = nemesis.reduce((t, o) => Math.max(t, Number.isFinite(o.completeTime) ? o.completeTime : o.invokeTime), Number.NEGATIVE_INFINITY);
  const produces = ops.filter((o) => o.f === 'produce');
  const partitions = [...new Set(produces.map(partitionOf))].sort();
  const anchor = Number.isFinite(heal) ? heal : produces.reduce((t, o) => Math.min(t, o.invokeTime), Number.POSITIVE_INFINITY);
  const figures: Record<string, number | string> = {};
  figures['final heal at (ms)'] = Number.isFinite(heal) ? Math.round(heal) : 'no nemesis events';
  let worst = 0;
  for (const p of partitions) {
    let first: number | undefined;
    for (const o of produces) {
      if (o.outcome !== 'ok' || o.completeTime < anchor || partitionOf(o) !== p) continue;
      if (first === undefined || o.completeTime < first) first = o.completeTime;
    }
    if (first === undefined) {
      violations.push({ kind: 'liveness', partition: p, message: `no write was acknowledged after the final heal at ${Math.round(anchor)} ms` });
      continue;
    }
    const took = first - anchor;
    worst = Math.max(worst, took);
    if (took > boundMs) {
      violations.push({ kind: 'liveness', partition: p, message: `the first write after the final heal was acknowledged ${Math.round(took)} ms later (bound ${boundMs} ms)` });
    }
  }
  figures['slowest partition to acknowledge after heal (ms)'] = Math.round(worst);
  figures['bound (ms)'] = boundMs;
  return { name: 'liveness after heal', checked: partitions.length, unit: 'partitions', violations, figures };
}
