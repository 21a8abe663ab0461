/**
 * `npm run chaos:check -- HISTORY [--data NAME=DIR]... [--liveness-bound-ms N] [--json FILE]`
 *
 * Checks a recorded history (and the brokers' data dirs, when given) and prints the summary.
 * Exit status: 0 no violation, 1 violations, 2 unusable input (the message names the line).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { checkHistory, DEFAULT_LIVENESS_BOUND_MS } from './checker/check.js';
import { HistoryError, parseHistory } from './checker/history.js';
import type { ReplicaDir } from './checker/replicas.js';
import { formatReport } from './checker/report.js';

const USAGE = 'usage: npm run chaos:check -- HISTORY.jsonl [--data NAME=DIR]... [--liveness-bound-ms N] [--json FILE]';

interface Args {
  readonly history: string;
  readonly replicas: ReplicaDir[];
  readonly livenessBoundMs: number;
  readonly json?: string;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  let history: string | undefined;
  const replicas: ReplicaDir[] = [];
  let livenessBoundMs = DEFAULT_LIVENESS_BOUND_MS;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--data') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq <= 0 || eq === v.length - 1) throw new UsageError(`--data takes NAME=DIR, got ${JSON.stringify(v)}`);
      replicas.push({ broker: v.slice(0, eq), dir: v.slice(eq + 1) });
    } else if (a === '--liveness-bound-ms') {
      const v = Number(next());
      if (!Number.isFinite(v) || v <= 0) throw new UsageError('--liveness-bound-ms must be a positive number');
      livenessBoundMs = v;
    } else if (a === '--json') {
      json = next();
    } else if (a === '--help' || a === '-h') {
      throw new UsageError(USAGE);
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${a}\n${USAGE}`);
    } else if (history === undefined) {
      history = a;
    } else {
      throw new UsageError(`one history file only (got ${history} and ${a})`);
    }
  }
  if (history === undefined) throw new UsageError(USAGE);
  return { history, replicas, livenessBoundMs, json };
}

function main(): number {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  try {
    const report = checkHistory(parseHistory(readFileSync(args.history, 'utf8')), { livenessBoundMs: args.livenessBoundMs, replicas: args.replicas });
    process.stdout.write(formatReport(report) + '\n');
    if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    return report.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof HistoryError || (e instanceof Error && 'code' in e)) {
      process.stderr.write(`chaos:check: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main();
