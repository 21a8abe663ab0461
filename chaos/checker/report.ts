/** What the checks return, and the summary table the CLI prints. */

export type ViolationKind =
  | 'lost-write'
  | 'offset-mismatch'
  | 'duplicate'
  | 'unexpected-value'
  | 'failed-write-present'
  | 'final-read-missing'
  | 'final-read-inconsistent'
  | 'reorder'
  | 'nonmonotonic-poll'
  | 'poll-skip'
  | 'inconsistent-read'
  | 'nonmonotonic-commit'
  | 'lost-commit'
  | 'replica-divergence'
  | 'replica-behind'
  | 'replica-corrupt'
  | 'liveness'
  | 'aborted-read'
  | 'txn-partial'
  | 'txn-lost-write'
  | 'txn-unknown-partial'
  | 'txn-reorder'
  | 'isolation-mismatch';

export interface Violation {
  readonly kind: ViolationKind;
  /** The partition it concerns, as `topic-p` (or `p`). */
  readonly partition?: string;
  readonly message: string;
  /** History lines that show it. */
  readonly lines?: readonly number[];
}

export interface CheckResult {
  readonly name: string;
  /** How many things this check examined, in `unit`s ("acknowledged writes", "polls"...). */
  readonly checked: number;
  readonly unit: string;
  readonly violations: readonly Violation[];
  /** Measured figures worth printing (recovery times, counts by outcome). */
  readonly figures?: Readonly<Record<string, number | string>>;
}

export interface Report {
  readonly results: readonly CheckResult[];
  readonly ok: boolean;
}

export function makeReport(results: readonly CheckResult[]): Report {
  return { results, ok: results.every((r) => r.violations.length === 0) };
}

export function countByKind(report: Report): Map<ViolationKind, number> {
  const counts = new Map<ViolationKind, number>();
  for (const r of report.results) for (const v of r.violations) counts.set(v.kind, (counts.get(v.kind) ?? 0) + 1);
  return counts;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]): string => row.map((c, i) => pad(c, widths[i] ?? 0)).join('  ').trimEnd();
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The summary: one row per check, then the figures, then up to `perKind` examples of each violation kind. */
export function formatReport(report: Report, perKind = 5): string {
  const out: string[] = [];
  out.push(
    table([
      ['check', 'checked', 'violations', 'result'],
      ...report.results.map((r) => [r.name, `${r.checked} ${r.unit}`, String(r.violations.length), r.violations.length === 0 ? 'ok' : 'FAIL']),
    ]),
  );
  const figures = report.results.flatMap((r) => Object.entries(r.figures ?? {}).map(([k, v]) => [r.name, k, String(v)]));
  if (figures.length > 0) out.push('', table([['check', 'figure', 'value'], ...figures]));
  const byKind = new Map<ViolationKind, Violation[]>();
  for (const r of report.results) for (const v of r.violations) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
  for (const [kind, list] of byKind) {
    out.push('', `${kind}: ${list.length}`);
    for (const v of list.slice(0, perKind)) {
      const where = v.partition !== undefined ? `[${v.partition}] ` : '';
      const lines = v.lines && v.lines.length > 0 ? ` (history lines ${v.lines.slice(0, 6).join(', ')})` : '';
      out.push(`  ${where}${v.message}${lines}`);
    }
    if (list.length > perKind) out.push(`  ... and ${list.length - perKind} more`);
  }
  out.push('', report.ok ? 'no violations' : `VIOLATIONS: ${[...countByKind(report)].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return out.join('\n');
}
