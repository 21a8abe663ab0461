/**
 * Network faults between brokers, as iptables rules in each broker's own network namespace,
 * entered from the host with nsenter (the broker image needs no iptables and no NET_ADMIN). Only
 * traffic from other brokers' addresses is dropped: clients on the host reach every broker
 * throughout, so both sides of a partition keep receiving requests, as in a real split.
 * The rules live in a chain of ours, so a heal removes exactly them; a restarted container gets
 * a fresh namespace and therefore starts healed.
 */
import { run } from '../../e2e/lib/exec.js';
import type { BrokerNode, DockerCluster } from './docker-cluster.js';

const CHAIN = 'CHRONIK_CHAOS';

/** One receiving broker drops packets from these senders (with this probability; 1 = all). */
export interface DropRule {
  readonly at: number;
  readonly from: readonly number[];
  readonly probability: number;
}

/**
 * The drop rules that cut the given groups apart: every broker drops what comes from brokers
 * outside its group. Brokers in no group (a bridge) keep hearing everyone and are heard by all.
 */
export function rulesForGroups(groups: readonly (readonly number[])[]): DropRule[] {
  const rules: DropRule[] = [];
  for (const g of groups) {
    const others = groups.filter((o) => o !== g).flat();
    for (const at of g) if (others.length > 0) rules.push({ at, from: others, probability: 1 });
  }
  return rules;
}

async function iptables(pid: number, args: readonly string[], allowFailure = false): Promise<{ code: number; stderr: string }> {
  const r = await run('nsenter', ['--target', String(pid), '--net', '--', 'iptables', '-w', '5', ...args], { allowFailure: true, timeoutMs: 20_000 });
  if (r.code !== 0 && !allowFailure) throw new Error(`iptables ${args.join(' ')} in the namespace of pid ${pid} failed: ${r.stderr.trim()}`);
  return r;
}

async function ensureChain(pid: number): Promise<void> {
  await iptables(pid, ['-N', CHAIN], true);
  const hooked = await iptables(pid, ['-C', 'INPUT', '-j', CHAIN], true);
  if (hooked.code !== 0) await iptables(pid, ['-I', 'INPUT', '-j', CHAIN]);
}

export async function applyRules(cluster: DockerCluster, rules: readonly DropRule[]): Promise<void> {
  for (const rule of rules) {
    const node = cluster.node(rule.at);
    if (node.state === 'killed') continue;
    const pid = await cluster.pid(node);
    await ensureChain(pid);
    for (const from of rule.from) {
      const src = cluster.node(from).ip;
      if (!src) continue;
      const match = rule.probability < 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', String(rule.probability)] : [];
      await iptables(pid, ['-A', CHAIN, '-s', `${src}/32`, ...match, '-j', 'DROP']);
    }
  }
}

/** Removes every rule of ours on these brokers. */
export async function healNetwork(cluster: DockerCluster, nodes: readonly BrokerNode[] = cluster.nodes): Promise<void> {
  for (const node of nodes) {
    if (node.state === 'killed') continue;
    const pid = await cluster.pid(node);
    if (!pid) continue;
    await iptables(pid, ['-F', CHAIN], true);
  }
}

/** Rules of ours on a broker now (iptables -S of our chain), for the history and for tests. */
export async function listRules(cluster: DockerCluster, node: BrokerNode): Promise<string[]> {
  const pid = await cluster.pid(node);
  const r = await run('nsenter', ['--target', String(pid), '--net', '--', 'iptables', '-w', '5', '-S', CHAIN], { allowFailure: true });
  return r.code === 0 ? r.stdout.split('\n').filter((l) => l.startsWith('-A')) : [];
}
