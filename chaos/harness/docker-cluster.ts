/**
 * The brokers under test: one container per broker from the locally built image, on a Docker
 * network of their own, created with testcontainers (Ryuk off: it would need a registry). Each
 * broker's data dir is a bind mount, so the harness can corrupt a segment while the broker is down
 * and compare the replicas' files afterwards, and a restart (`docker start` after `docker kill`)
 * finds its data where it left it. Everything is labelled with the run id and the harness's pid,
 * so a later run can remove what a killed harness left behind, and only that.
 */
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { processAlive, run, sleep } from '../../e2e/lib/exec.js';

export const RUN_LABEL = 'org.chronik.chaos.run';
export const PID_LABEL = 'org.chronik.chaos.pid';
const NETWORK_PREFIX = 'chronik-chaos-';

export const KAFKA_PORT = 9092;
export const HTTP_PORT = 9644;
export const RAFT_PORT = 9645;
/** The image's broker user (Dockerfile.broker); it must own the bind-mounted data dir. */
const BROKER_UID = 10001;
const CONTAINER_DATA_DIR = '/var/lib/chronik/data';

export type NodeState = 'up' | 'killed' | 'paused';

export interface ClusterSpec {
  readonly runId: string;
  readonly image: string;
  readonly brokers: number;
  readonly voters: number;
  /** Host dir holding broker-<id>/ data dirs. */
  readonly dataRoot: string;
  /** The image knows --raft-listen and friends (replication wired); otherwise only one broker makes sense. */
  readonly clusterFlags: boolean;
  /** More --config NAME=VALUE settings for every broker. */
  readonly config: readonly string[];
}

export function hostName(id: number): string {
  return `chronik-${id}`;
}

/** The broker's command line inside its container. */
export function brokerCommand(spec: Pick<ClusterSpec, 'brokers' | 'voters' | 'clusterFlags' | 'config'>, id: number): string[] {
  const host = hostName(id);
  const args = [
    'chronik',
    'broker',
    '--node-id',
    String(id),
    '--data-dir',
    CONTAINER_DATA_DIR,
    '--kafka-listen',
    `0.0.0.0:${KAFKA_PORT}`,
    '--advertised',
    `${host}:${KAFKA_PORT}`,
    '--http-listen',
    `0.0.0.0:${HTTP_PORT}`,
  ];
  if (spec.clusterFlags) {
    const voters = Array.from({ length: spec.voters }, (_, v) => `${v}@${hostName(v)}:${RAFT_PORT}`).join(',');
    args.push('--raft-listen', `0.0.0.0:${RAFT_PORT}`, '--advertised-raft', `${host}:${RAFT_PORT}`, '--initial-voters', voters);
  }
  for (const c of spec.config) args.push('--config', c);
  return args;
}

/** Whether the image's broker takes the cluster flags (`chronik broker --help`). */
export async function probeClusterFlags(image: string, runId: string): Promise<{ supported: boolean; missing: string[] }> {
  const r = await run('docker', ['run', '--rm', '--label', `${RUN_LABEL}=${runId}`, '--label', `${PID_LABEL}=${process.pid}`, image, 'chronik', 'broker', '--help'], {
    timeoutMs: 60_000,
  });
  const missing = ['--raft-listen', '--advertised-raft', '--initial-voters'].filter((f) => !r.stdout.includes(f));
  return { supported: missing.length === 0, missing };
}

/** Removes containers and networks of earlier runs whose harness process is gone. */
export async function removeStaleRuns(log: (m: string) => void): Promise<void> {
  const ps = await run('docker', ['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', `{{.ID}} {{.Label "${PID_LABEL}"}} {{.Label "${RUN_LABEL}"}}`], { allowFailure: true });
  const staleRuns = new Set<string>();
  for (const line of ps.stdout.split('\n').filter(Boolean)) {
    const [id, pid, runId] = line.split(' ');
    const owner = Number(pid);
    if (!id || !runId || owner === process.pid) continue;
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) continue;
    await run('docker', ['rm', '-f', '-v', id], { allowFailure: true });
    staleRuns.add(runId);
  }
  for (const runId of staleRuns) {
    await run('docker', ['network', 'rm', `${NETWORK_PREFIX}${runId}`], { allowFailure: true });
    log(`removed the containers of an earlier run ${runId} whose harness is gone`);
  }
}

export class BrokerNode {
  state: NodeState = 'up';
  /** Address on the run's network; it may change across restarts, so it is looked up again after each. */
  ip = '';

  constructor(
    readonly id: number,
    readonly container: StartedTestContainer,
    readonly dataDir: string,
  ) {}

  get name(): string {
    return `broker-${this.id}`;
  }

  get host(): string {
    return hostName(this.id);
  }

  get containerId(): string {
    return this.container.getId();
  }
}

async function inspect(id: string, format: string): Promise<string> {
  return (await run('docker', ['inspect', '-f', format, id], { timeoutMs: 30_000 })).stdout.trim();
}

export class DockerCluster {
  private constructor(
    readonly spec: ClusterSpec,
    readonly network: StartedNetwork,
    readonly nodes: readonly BrokerNode[],
  ) {}

  /** Starts every broker (not waiting for readiness: brokers of a cluster need each other for that). */
  static async start(spec: ClusterSpec): Promise<DockerCluster> {
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    const name = `${NETWORK_PREFIX}${spec.runId}`;
    const network = await new Network({ nextUuid: () => name }).start();
    const started: BrokerNode[] = [];
    try {
      const labels = { [RUN_LABEL]: spec.runId, [PID_LABEL]: String(process.pid) };
      const results = await Promise.allSettled(
        Array.from({ length: spec.brokers }, async (_, id) => {
          const dataDir = join(spec.dataRoot, `broker-${id}`);
          mkdirSync(dataDir, { recursive: true });
          chownSync(dataDir, BROKER_UID, BROKER_UID);
          const container = await new GenericContainer(spec.image)
            .withName(`chronik-chaos-${spec.runId}-${id}`)
            .withHostname(hostName(id))
            .withNetwork(network)
            .withNetworkAliases(hostName(id))
            .withLabels(labels)
            .withBindMounts([{ source: dataDir, target: CONTAINER_DATA_DIR, mode: 'rw' }])
            .withCommand(brokerCommand(spec, id))
            .withStartupTimeout(60_000)
            .start();
          const node = new BrokerNode(id, container, dataDir);
          started.push(node);
          return node;
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const nodes = results.map((r) => (r as PromiseFulfilledResult<BrokerNode>).value).sort((a, b) => a.id - b.id);
      const cluster = new DockerCluster(spec, network, nodes);
      for (const n of nodes) await cluster.refreshIp(n);
      return cluster;
    } catch (e) {
      for (const n of started) await run('docker', ['rm', '-f', '-v', n.containerId], { allowFailure: true });
      await network.stop().catch(() => undefined);
      throw e;
    }
  }

  node(id: number): BrokerNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no broker ${id}`);
    return n;
  }

  async refreshIp(node: BrokerNode): Promise<void> {
    node.ip = await inspect(node.containerId, `{{ (index .NetworkSettings.Networks "${this.network.getName()}").IPAddress }}`);
  }

  /** Advertised host name -> current address, for clients on the host. */
  addresses(): Map<string, string> {
    return new Map(this.nodes.map((n) => [n.host, n.ip]));
  }

  /** Whether /readyz answers 200 now (a paused or killed broker does not answer). */
  async ready(node: BrokerNode): Promise<boolean> {
    if (!node.ip) return false;
    try {
      const res = await fetch(`http://${node.ip}:${HTTP_PORT}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Waits until every running broker answers /readyz with 200; returns those that did not in time. */
  async waitReady(timeoutMs: number, nodes: readonly BrokerNode[] = this.nodes): Promise<BrokerNode[]> {
    const deadline = Date.now() + timeoutMs;
    let pending = nodes.filter((n) => n.state === 'up');
    while (pending.length > 0 && Date.now() < deadline) {
      const ready = await Promise.all(pending.map((n) => this.ready(n)));
      pending = pending.filter((_, i) => !ready[i]);
      if (pending.length > 0) await sleep(500);
    }
    return pending;
  }

  async running(node: BrokerNode): Promise<boolean> {
    return (await inspect(node.containerId, '{{.State.Running}}')) === 'true';
  }

  /** kill -9 of the whole container (tini and the broker with it): no chance to flush anything. */
  async kill(node: BrokerNode): Promise<void> {
    if (node.state === 'paused') await this.resume(node);
    await run('docker', ['kill', '--signal', 'KILL', node.containerId], { allowFailure: true, timeoutMs: 30_000 });
    for (let i = 0; i < 100 && (await this.running(node)); i++) await sleep(100);
    node.state = 'killed';
  }

  async start(node: BrokerNode): Promise<void> {
    await run('docker', ['start', node.containerId], { timeoutMs: 60_000 });
    node.state = 'up';
    await this.refreshIp(node);
  }

  /** Freezes every process of the container (cgroup freezer): the broker sees time jump when resumed. */
  async pause(node: BrokerNode): Promise<void> {
    await run('docker', ['pause', node.containerId], { timeoutMs: 30_000 });
    node.state = 'paused';
  }

  async resume(node: BrokerNode): Promise<void> {
    await run('docker', ['unpause', node.containerId], { timeoutMs: 30_000 });
    node.state = 'up';
  }

  /** Host pid of the container's init, for entering its network namespace. */
  async pid(node: BrokerNode): Promise<number> {
    return Number(await inspect(node.containerId, '{{.State.Pid}}'));
  }

  /** Every incarnation's stdout and stderr, one file per broker. */
  async saveLogs(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    for (const n of this.nodes) {
      const r = await run('docker', ['logs', '--timestamps', n.containerId], { allowFailure: true, timeoutMs: 60_000 });
      writeFileSync(join(dir, `${n.name}.log`), r.stdout + r.stderr);
    }
  }

  /** SIGTERM to every running broker (the broker drains and fsyncs), SIGKILL after the grace period. */
  async stopAll(graceS = 30): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        if (n.state === 'paused') await this.resume(n);
        if (n.state === 'killed') return;
        await run('docker', ['stop', '--time', String(graceS), n.containerId], { allowFailure: true, timeoutMs: (graceS + 30) * 1000 });
        n.state = 'killed';
      }),
    );
  }

  /** Removes the containers (with their anonymous volumes) and the network. */
  async destroy(): Promise<void> {
    for (const n of this.nodes) {
      if (n.state === 'paused') await run('docker', ['unpause', n.containerId], { allowFailure: true });
      try {
        await n.container.stop({ timeout: 1000, remove: true, removeVolumes: true });
      } catch {
        await run('docker', ['rm', '-f', '-v', n.containerId], { allowFailure: true });
      }
    }
    try {
      await this.network.stop();
    } catch {
      await run('docker', ['network', 'rm', this.network.getName()], { allowFailure: true });
    }
  }
}
