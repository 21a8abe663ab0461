/**
 * A cluster of real broker processes on 127.0.0.1: N `chronik broker` processes with their own
 * data dirs, Kafka, HTTP, Raft and admin ports, the first min(3, N) as initial metadata voters.
 * They start in parallel (a voter is ready only once the metadata group has a quorum).
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { startBrokerProcess, type BrokerProcess, type StartBrokerOptions } from './broker-process.js';
import { tmpDataDir } from './tmp.js';

export interface ClusterMember {
  readonly nodeId: number;
  readonly raftPort: number;
  readonly adminPort: number;
  /** "127.0.0.1:<adminPort>", the broker's admin gRPC listener. */
  readonly admin: string;
  process: BrokerProcess;
}

export interface ClusterOptions {
  readonly brokers: number;
  /** Initial metadata voters; default min(3, brokers). */
  readonly voters?: number;
  /** Extra flags for every broker, e.g. ['--config', 'num.partitions=3']. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface ProcessCluster {
  readonly members: ClusterMember[];
  /** Kafka bootstrap list of every broker. */
  readonly bootstrap: string;
  member(nodeId: number): ClusterMember;
  /** kill -9 of one broker. */
  kill(nodeId: number): Promise<void>;
  /** Starts a stopped or killed broker again on its ports and data dir. */
  start(nodeId: number, opts?: Pick<StartBrokerOptions, 'onOutput'>): Promise<void>;
  /** Adds a broker outside the initial voters (it joins the running cluster). */
  add(): Promise<ClusterMember>;
  /** SIGTERM to all (SIGKILL after 20 s). */
  stop(): Promise<void>;
  logs(): string;
}

interface Ports {
  kafka: number;
  http: number;
  raft: number;
  admin: number;
}

const taken = new Set<number>();

/**
 * A free port below the kernel's ephemeral range (32768 up by default): brokers dialling each
 * other take ephemeral ports for their outgoing connections, which could otherwise grab a port
 * handed to a broker that has not started listening yet.
 */
async function reservePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}

async function ports(): Promise<Ports> {
  return { kafka: await reservePort(), http: await reservePort(), raft: await reservePort(), admin: await reservePort() };
}

export async function startCluster(o: ClusterOptions): Promise<ProcessCluster> {
  const n = o.brokers;
  const voterCount = o.voters ?? Math.min(3, n);
  const all: Ports[] = [];
  for (let i = 0; i < n; i++) all.push(await ports());
  const voters = all
    .slice(0, voterCount)
    .map((p, i) => `${i}@127.0.0.1:${p.raft}`)
    .join(',');
  const dirs = all.map(() => tmpDataDir('chronik-cluster-'));
  const argsFor = (i: number, p: Ports): string[] => [
    '--node-id',
    String(i),
    '--raft-listen',
    `127.0.0.1:${p.raft}`,
    '--admin-listen',
    `127.0.0.1:${p.admin}`,
    '--initial-voters',
    voters,
    ...(o.args ?? []),
  ];
  const launch = (i: number, p: Ports, dir: string, extra: Pick<StartBrokerOptions, 'onOutput'> = {}): Promise<BrokerProcess> =>
    startBrokerProcess({
      ...extra,
      dataDir: dir,
      kafkaPort: p.kafka,
      httpPort: p.http,
      args: argsFor(i, p),
      ...(o.env ? { env: o.env } : {}),
      readyTimeoutMs: o.readyTimeoutMs ?? 60_000,
    });
  const started = await Promise.allSettled(all.map((p, i) => launch(i, p, dirs[i] as string)));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of started) if (r.status === 'fulfilled') await r.value.kill();
    throw (failed as PromiseRejectedResult).reason;
  }
  const members: ClusterMember[] = started.map((r, i) => ({
    nodeId: i,
    raftPort: (all[i] as Ports).raft,
    adminPort: (all[i] as Ports).admin,
    admin: `127.0.0.1:${(all[i] as Ports).admin}`,
    process: (r as PromiseFulfilledResult<BrokerProcess>).value,
  }));
  const cluster: ProcessCluster = {
    members,
    get bootstrap() {
      return members.map((m) => m.process.bootstrap).join(',');
    },
    member(nodeId) {
      const m = members.find((x) => x.nodeId === nodeId);
      if (!m) throw new Error(`no broker ${nodeId}`);
      return m;
    },
    async kill(nodeId) {
      await cluster.member(nodeId).process.kill();
    },
    async start(nodeId, opts) {
      const m = cluster.member(nodeId);
      if (!m.process.exited) return;
      const p = all[nodeId] as Ports;
      m.process = await launch(nodeId, p, m.process.dataDir, opts);
    },
    async add() {
      const i = members.length;
      const p = await ports();
      all.push(p);
      const dir = tmpDataDir('chronik-cluster-');
      const m: ClusterMember = { nodeId: i, raftPort: p.raft, adminPort: p.admin, admin: `127.0.0.1:${p.admin}`, process: await launch(i, p, dir) };
      members.push(m);
      return m;
    },
    async stop() {
      await Promise.all(members.map((m) => m.process.stop()));
    },
    logs() {
      return members.map((m) => `==== broker ${m.nodeId}\n${m.process.logs()}`).join('\n');
    },
  };
  return cluster;
}

/**
 * Starts stopped broker `nodeId` and kills it with SIGKILL as soon as its output shows `line`
 * (a crash at that point); resolves once it is gone. The process may have been ready before it
 * got there: then it is the member's process, and is killed too.
 */
export async function startAndKillAt(cluster: ProcessCluster, nodeId: number, line: string, waitMs = 90_000): Promise<void> {
  let seen = '';
  let killed = false;
  const onOutput = (text: string, child: ChildProcess): void => {
    seen += text;
    if (!killed && seen.includes(line)) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  await cluster.start(nodeId, { onOutput }).catch(() => undefined);
  const until = Date.now() + waitMs;
  while (!killed) {
    if (Date.now() > until) throw new Error(`broker ${nodeId} never logged "${line}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await cluster.member(nodeId).process.kill();
}
