/**
 * Raft core throughput: a 3-voter cluster in one process, no I/O (storage is memory, messages are
 * handed over directly). Reports committed entries per second on the leader for single-entry
 * proposals (one propose() call per entry, the host's event loop turning after every few
 * proposals) and for batches of 100 entries, plus the heap allocated per committed entry.
 *
 *   npm run bench:raft            (re-executes itself with a large young generation to count bytes)
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RaftNode } from '../broker/src/raft/raft.js';
import { SeededRandom } from '../broker/src/raft/random.js';
import { MemoryStorage } from '../broker/src/raft/storage.js';
import { Role, type Message } from '../broker/src/raft/types.js';

class BenchCluster {
  readonly nodes: RaftNode[] = [];
  readonly storages: MemoryStorage[] = [];
  private inbox: Message[][] = [[], [], [], []];
  committed = 0;

  constructor() {
    const conf = { voters: [1, 2, 3], learners: [] };
    for (let id = 1; id <= 3; id++) {
      const storage = new MemoryStorage(conf);
      this.storages[id] = storage;
      this.nodes[id] = new RaftNode({ id, group: 1, storage, random: new SeededRandom(id), maxInflight: 1024 });
    }
    const leader = this.nodes[1] as RaftNode;
    while (leader.role !== Role.Leader) {
      leader.tick();
      this.turn();
    }
    for (let i = 0; i < 5; i++) this.turn();
  }

  get leader(): RaftNode {
    return this.nodes[1] as RaftNode;
  }

  /** One turn of every host's loop: persist and send each Ready, then deliver what was sent. */
  turn(): void {
    for (let id = 1; id <= 3; id++) {
      const r = this.nodes[id] as RaftNode;
      if (!r.hasReady()) continue;
      const rd = r.ready();
      const s = this.storages[id] as MemoryStorage;
      if (rd.entries.length > 0) s.append(rd.entries);
      if (rd.hardState !== null) s.setHardState(rd.hardState);
      for (let i = 0; i < rd.messages.length; i++) {
        const m = rd.messages[i] as Message;
        (this.inbox[m.to] as Message[]).push(m);
      }
      if (id === 1) this.committed += rd.committedEntries.length;
      r.advance();
      if (rd.committedEntries.length > 0 && s.lastIndex() - s.firstIndex() > 200_000) {
        const upTo = (rd.committedEntries[rd.committedEntries.length - 1] as { index: number }).index;
        s.createSnapshot(upTo, { voters: [1, 2, 3], learners: [] }, new Uint8Array(0));
      }
    }
    for (let id = 1; id <= 3; id++) {
      const box = this.inbox[id] as Message[];
      if (box.length === 0) continue;
      this.inbox[id] = [];
      const r = this.nodes[id] as RaftNode;
      for (let i = 0; i < box.length; i++) r.step(box[i] as Message);
    }
  }
}

interface Figure {
  name: string;
  entries: number;
  seconds: number;
  perSecond: number;
}

const PAYLOAD = new Uint8Array(16);

function runSingles(perTurn: number, total: number): Figure {
  const c = new BenchCluster();
  const start0 = c.committed;
  const t0 = process.hrtime.bigint();
  let proposed = 0;
  while (c.committed - start0 < total) {
    for (let i = 0; i < perTurn && proposed < total; i++, proposed++) c.leader.propose(PAYLOAD);
    c.turn();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const entries = c.committed - start0;
  return { name: `single-entry proposals, ${perTurn} per loop turn`, entries, seconds, perSecond: entries / seconds };
}

function runBatches(batch: number, total: number): Figure {
  const c = new BenchCluster();
  const data: Uint8Array[] = Array.from({ length: batch }, () => PAYLOAD);
  const start0 = c.committed;
  const t0 = process.hrtime.bigint();
  let proposed = 0;
  while (c.committed - start0 < total) {
    if (proposed < total) {
      c.leader.proposeBatch(data);
      proposed += batch;
    }
    c.turn();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const entries = c.committed - start0;
  return { name: `batches of ${batch} entries per proposal`, entries, seconds, perSecond: entries / seconds };
}

/** Heap bytes allocated per committed entry: heap growth over a window in which no GC ran. */
async function allocationPerEntry(perTurn: number): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return 'n/a (run via npm run bench:raft)';
  const c = new BenchCluster();
  for (let i = 0; i < 20_000; i++) {
    for (let k = 0; k < perTurn; k++) c.leader.propose(PAYLOAD);
    c.turn();
  }
  gc();
  await sleep(10);
  let collections = 0;
  const obs = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const start = c.committed;
  const before = process.memoryUsage().heapUsed;
  const turns = Math.ceil(10_000 / perTurn);
  for (let i = 0; i < turns; i++) {
    for (let k = 0; k < perTurn; k++) c.leader.propose(PAYLOAD);
    c.turn();
  }
  const after = process.memoryUsage().heapUsed;
  const entries = c.committed - start;
  await sleep(10);
  obs.disconnect();
  const bytes = ((after - before) / entries).toFixed(0);
  return collections === 0
    ? `${bytes} bytes (over ${entries} commits, no GC in the window; includes the entries the log retains)`
    : `~${bytes} bytes or more (a GC ran in the window, figure is a lower bound)`;
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    // Warm up the JIT.
    runSingles(8, 200_000);
    runBatches(100, 200_000);
    const figures = [runSingles(1, 500_000), runSingles(8, 1_000_000), runSingles(64, 2_000_000), runBatches(100, 3_000_000)];
    console.log('Raft core, 3 voters in one process, no I/O, 16-byte entries, one core:');
    for (const f of figures) {
      console.log(`  ${f.name.padEnd(46)} ${Math.round(f.perSecond).toLocaleString('en-US').padStart(12)} commits/s  (${f.entries} in ${f.seconds.toFixed(2)}s)`);
    }
    console.log(`  allocation per committed entry, 1 per turn:   ${await allocationPerEntry(1)}`);
    console.log(`  allocation per committed entry, 64 per turn:  ${await allocationPerEntry(64)}`);
    console.log(`  (load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} cores while measuring)`);
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=128', '--min-semi-space-size=128', '--import', 'tsx', self, '--child'],
    { stdio: 'inherit' },
  );
  process.exitCode = r.status ?? 1;
}

await main();
