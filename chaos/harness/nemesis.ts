/**
 * The fault schedule: quiet, fault, hold, heal, and again until the time is up; then heal-all,
 * the event the liveness check measures from. Each fault and each heal is an operation of the
 * `nemesis` process in the history, with its targets, so a violation can be read against what
 * was done to the cluster at that moment.
 */
import { join } from 'node:path';
import { run, sleep } from '../../e2e/lib/exec.js';
import { NEMESIS_PROCESS } from '../checker/liveness.js';
import { corruptJournalTail, corruptSegmentTail } from './corrupt.js';
import { KAFKA_PORT, type BrokerNode, type DockerCluster } from './docker-cluster.js';
import { applyRules, healNetwork } from './network-faults.js';
import { describeFault, planFault, type Fault, type Rng, type Roles } from './nemesis-plan.js';
import type { NemesisFamily } from './options.js';
import { describeError, type HistoryRecorder } from './recorder.js';

export interface NemesisTiming {
  /** Quiet time before each fault, and how long each fault is held, in ms: [min, max). */
  readonly quietMs: readonly [number, number];
  readonly holdMs: readonly [number, number];
  /** How long restarted brokers get to answer /readyz before the schedule goes on regardless. */
  readonly readyMs: number;
}

export const DEFAULT_TIMING: NemesisTiming = { quietMs: [2000, 5000], holdMs: [4000, 10_000], readyMs: 60_000 };

export interface NemesisDeps {
  readonly cluster: DockerCluster;
  readonly rec: HistoryRecorder;
  readonly rng: Rng;
  readonly families: readonly NemesisFamily[];
  readonly topic: string;
  readonly partitions: number;
  /** More topics whose partitions `corrupt` may damage (the txn workload's); none keeps old schedules as they were. */
  readonly corruptAlso?: readonly { readonly topic: string; readonly partitions: number }[];
  readonly roles: () => Promise<Roles>;
  readonly log: (m: string) => void;
  readonly timing?: NemesisTiming;
}

export class Nemesis {
  /** "kill leader": 3 */
  readonly injected = new Map<string, number>();
  private readonly timing: NemesisTiming;

  constructor(private readonly d: NemesisDeps) {
    this.timing = d.timing ?? DEFAULT_TIMING;
  }

  private between([lo, hi]: readonly [number, number]): number {
    return lo + Math.floor(this.d.rng() * (hi - lo));
  }

  private async op(f: string, value: unknown, fn: () => Promise<unknown>): Promise<unknown> {
    this.d.rec.record(NEMESIS_PROCESS, 'invoke', f, { value });
    try {
      const result = await fn();
      this.d.rec.record(NEMESIS_PROCESS, 'ok', f, { value: result === undefined ? value : { ...asObject(value), ...asObject(result) } });
      return result;
    } catch (e) {
      this.d.rec.record(NEMESIS_PROCESS, 'info', f, { value, error: describeError(e) });
      this.d.log(`nemesis ${f} failed: ${describeError(e)}`);
      return undefined;
    }
  }

  /** Runs faults until `until` (a Date.now() deadline) or the signal aborts. */
  async runUntil(until: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && Date.now() < until) {
      await sleepUntil(Math.min(until, Date.now() + this.between(this.timing.quietMs)), signal);
      if (signal.aborted || Date.now() >= until) break;
      const family = this.d.families[Math.floor(this.d.rng() * this.d.families.length)];
      if (!family) break;
      const roles = await this.d.roles();
      const fault = planFault(family, this.d.cluster.nodes.length, this.d.rng, roles);
      const key = `${fault.family} ${fault.variant}`;
      this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
      this.d.log(describeFault(fault));
      await this.inject(fault, roles);
      await sleepUntil(Date.now() + this.between(this.timing.holdMs), signal);
      await this.heal(fault);
    }
  }

  private nodes(ids: readonly number[]): BrokerNode[] {
    return ids.map((id) => this.d.cluster.node(id));
  }

  private async inject(fault: Fault, roles: Roles): Promise<void> {
    const c = this.d.cluster;
    // Who led what when the fault struck, to read a violation against.
    const value = {
      variant: fault.variant,
      ...(fault.family === 'partition' ? { groups: fault.groups } : { nodes: fault.nodes }),
      leaders: Object.fromEntries(roles.leaders),
      controller: roles.controller ?? null,
    };
    switch (fault.family) {
      case 'kill':
        await this.op('kill', value, () => Promise.all(this.nodes(fault.nodes).map((n) => c.kill(n))).then(() => undefined));
        return;
      case 'pause':
        await this.op('pause', value, () => Promise.all(this.nodes(fault.nodes).map((n) => c.pause(n))).then(() => undefined));
        return;
      case 'partition':
        await this.op('partition', { ...value, rules: fault.rules }, async () => {
          await applyRules(c, fault.rules);
          return { verified: await this.verifyCut(fault) };
        });
        return;
      case 'corrupt':
        await this.op('corrupt', value, async () => {
          const [node] = this.nodes(fault.nodes);
          if (!node) throw new Error('no broker to corrupt');
          await c.kill(node);
          // Mostly a partition's segment; sometimes the metadata log's, or the hard-state journal.
          const dirs = [{ topic: this.d.topic, partitions: this.d.partitions }, ...(this.d.corruptAlso ?? [])].flatMap((t) =>
            Array.from({ length: t.partitions }, (_, p) => join(node.dataDir, `${t.topic}-${p}`)),
          );
          const pick = this.d.rng();
          const damage =
            pick < 0.2
              ? (corruptJournalTail(node.dataDir, fault.variant, this.d.rng) ?? corruptSegmentTail(dirs, fault.variant, this.d.rng))
              : corruptSegmentTail(pick < 0.4 ? [...dirs, join(node.dataDir, '__cluster_metadata-0')] : dirs, fault.variant, this.d.rng);
          return damage ? { ...damage, file: damage.file.slice(node.dataDir.length + 1) } : { nothing: 'no segment with data yet' };
        });
        return;
    }
  }

  private async heal(fault: Fault): Promise<void> {
    const c = this.d.cluster;
    if (fault.family === 'partition') {
      await this.op('heal', { groups: fault.groups }, () => healNetwork(c));
      return;
    }
    const nodes = this.nodes(fault.nodes);
    if (fault.family === 'pause') {
      await this.op('resume', { nodes: fault.nodes }, () => Promise.all(nodes.filter((n) => n.state === 'paused').map((n) => c.resume(n))).then(() => undefined));
    } else {
      await this.op('start', { nodes: fault.nodes }, () => Promise.all(nodes.filter((n) => n.state === 'killed').map((n) => c.start(n))).then(() => undefined));
    }
    const late = await c.waitReady(this.timing.readyMs, nodes);
    if (late.length > 0) this.d.log(`not ready ${this.timing.readyMs} ms after the heal: ${late.map((n) => n.name).join(', ')}`);
  }

  /** Undoes everything: resumes, restarts, removes every network rule. The liveness bound counts from here. */
  async healAll(): Promise<void> {
    const c = this.d.cluster;
    await this.op('heal-all', {}, async () => {
      for (const n of c.nodes) if (n.state === 'paused') await c.resume(n);
      await Promise.all(c.nodes.filter((n) => n.state === 'killed').map((n) => c.start(n)));
      await healNetwork(c);
      return undefined;
    });
  }

  /**
   * Checks from inside one cut-off broker that a peer is unreachable while the host still
   * reaches that peer: the rules did what they say. Lossy links are not checked (some packets pass).
   */
  private async verifyCut(fault: Extract<Fault, { family: 'partition' }>): Promise<boolean | 'not checked'> {
    const rule = fault.rules.find((r) => r.probability >= 1);
    const from = rule?.from[0];
    if (!rule || from === undefined) return 'not checked';
    const sender = this.d.cluster.node(from);
    const receiver = this.d.cluster.node(rule.at);
    const probe = `timeout 2 bash -c '</dev/tcp/${receiver.ip}/${KAFKA_PORT}' 2>/dev/null && echo open || echo closed`;
    const inside = await run('docker', ['exec', sender.containerId, 'bash', '-c', probe], { allowFailure: true, timeoutMs: 15_000 });
    const fromHost = await this.d.cluster.ready(receiver);
    return inside.stdout.trim() === 'closed' && fromHost;
  }
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
}

async function sleepUntil(t: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted && Date.now() < t) await sleep(Math.min(250, t - Date.now()));
}
