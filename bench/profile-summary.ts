/**
 * `node --import tsx bench/profile-summary.ts FILE.cpuprofile... [--top N]`: where a broker's CPU
 * went, from the profiles `--cpu-prof` writes (CHRONIK_BENCH_NODE_ARGS='--cpu-prof
 * --cpu-prof-dir=DIR' for the benchmarks' brokers). Prints self time by function and by source
 * file, and the total time of the functions whose callees the rest of the table does not show
 * (GC, idle, program), each in ms and percent of the sampled time.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const i = url.indexOf('/broker/');
  if (i >= 0) return url.slice(i + 1);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  return url === '' ? '(native)' : url.replace(/^node:/, 'node:');
}

function summarize(files: readonly string[], top: number): void {
  const selfByFn = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const selfUs = new Map<number, number>();
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      const dt = p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    }
    for (const [id, us] of selfUs) {
      const n = byId.get(id)!;
      const { functionName, url, lineNumber } = n.callFrame;
      if (functionName === '(idle)') continue;
      total += us;
      const fn = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
      selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + us);
      const f = shortUrl(url);
      selfByFile.set(f, (selfByFile.get(f) ?? 0) + us);
      // Inclusive time per function name along the stack (each name counted once per sample).
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const c = byId.get(cur)!.callFrame;
        const key = `${c.functionName || '(anonymous)'} ${shortUrl(c.url)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + us);
      }
    }
  }
  const print = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title}`);
    for (const [k, us] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
    }
  };
  console.log(`sampled busy time: ${(total / 1000).toFixed(0)} ms over ${files.length} profile(s)`);
  print('self time by function', selfByFn);
  print('self time by file', selfByFile);
  print('inclusive time by function', inclusive);
}

const args = process.argv.slice(2);
const t = args.indexOf('--top');
const top = t >= 0 ? Number(args[t + 1]) : 40;
const files = args.filter((a, i) => a !== '--top' && (t < 0 || i !== t + 1));
if (files.length === 0) {
  console.error('usage: profile-summary.ts FILE.cpuprofile... [--top N]');
  process.exit(2);
}
summarize(files, top);
