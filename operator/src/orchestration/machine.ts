import * as grpc from '@grpc/grpc-js';
import { OPERATION_STEPS, type BrokerPhase, type BrokerStatus, type Operation, type OperationType, type RollStep, type ScaleDownStep, type ScaleUpStep } from '../api/types.js';
import { AdminCallError } from '../brokers/admin-client.js';
import type { ClusterStatus } from '../brokers/types.js';
import { type MachineEvent, type MachineInput, type MachineState, type PodObservation, type Ports, type StepResult, POLL_MS } from './types.js';

/**
 * The long operations as explicit step machines. `advance` runs at most one step and returns
 * the new state, which the caller persists in status before calling again; so an operator that
 * dies anywhere resumes at the recorded step and re-runs it (every step is idempotent).
 *
 * Invariants the steps keep by construction:
 * - one broker changes at a time (one operation, one broker);
 * - a pod is only removed after the brokers positively reported its broker decommissioned;
 * - a ready broker is only restarted after the brokers reported it drained, and the next one
 *   only after the restarted one is back, active, and no partition is under-replicated;
 * - broker ids come from status, never from ordinals, and are never reused.
 */
export const STEPS: { readonly [T in OperationType]: readonly string[] } = OPERATION_STEPS;

const MINUTE = 60_000;
/**
 * How long a step may take before the cluster is marked Degraded (with a Warning event). The
 * step goes on waiting: a broker that never comes back stops the operation where it is, and
 * a person decides. Moving data (decommission, rebalance) scales with the data, so those are long.
 */
export const STEP_DEADLINE_MS: { readonly [T in OperationType]: { readonly [S in (typeof OPERATION_STEPS)[T][number]]: number } } = {
  ScaleUp: { AssignId: MINUTE, ClearStaleClaim: 5 * MINUTE, RegisterBroker: 5 * MINUTE, CreatePod: 5 * MINUTE, WaitPodReady: 10 * MINUTE, WaitBrokerActive: 10 * MINUTE, Rebalance: 5 * MINUTE, WaitRebalance: 120 * MINUTE },
  ScaleDown: { CheckSafe: 30 * MINUTE, Decommission: 10 * MINUTE, WaitDecommissioned: 240 * MINUTE, RemovePod: 5 * MINUTE, WaitPodGone: 10 * MINUTE, ReleaseClaim: 5 * MINUTE },
  Roll: { EnterMaintenance: 5 * MINUTE, WaitDrained: 10 * MINUTE, DeletePod: 5 * MINUTE, WaitPodReady: 10 * MINUTE, WaitBrokerActive: 30 * MINUTE, ExitMaintenance: 5 * MINUTE, RebalanceLeaders: 5 * MINUTE },
};

function deadlineOf(op: Operation): number {
  return (STEP_DEADLINE_MS[op.type] as Record<string, number>)[op.step] ?? 10 * MINUTE;
}

/** A step name persisted by another operator version: wait visibly rather than guess. */
function unknownStep(st: Stepper, step: never): StepResult {
  return st.wait(`unknown step ${String(step)}; an operator of another version wrote it`, POLL_MS * 6);
}

/** The brokers refused the call with a reason (FAILED_PRECONDITION), as opposed to failing it. */
function refusal(err: unknown): string | null {
  return err instanceof AdminCallError && err.code === grpc.status.FAILED_PRECONDITION ? err.message : null;
}

function clone(s: MachineState): MachineState {
  return JSON.parse(JSON.stringify(s)) as MachineState;
}

function setBrokerState(s: MachineState, brokerId: number, state: BrokerPhase): void {
  const b = s.brokers.find((x) => x.brokerId === brokerId);
  if (b) b.state = state;
}

function nextStep(op: Operation): string | null {
  const steps = STEPS[op.type];
  const i = steps.indexOf(op.step);
  return i >= 0 && i + 1 < steps.length ? steps[i + 1]! : null;
}

/** The same operation at another of its steps (the step names come from STEPS[op.type]). */
function atStep(op: Operation, step: string, now: string): Operation {
  return { ...op, step, stepStartedAt: now, message: '', overdue: false, refused: undefined } as Operation;
}

class Stepper {
  readonly events: MachineEvent[] = [];
  constructor(
    readonly state: MachineState,
    readonly input: MachineInput,
  ) {}

  get op(): Operation {
    return this.state.operation!;
  }

  event(reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    this.events.push({ type, reason, message });
  }

  /** Moves to the next step (or finishes the operation). */
  done(message?: string): StepResult {
    const op = this.op;
    const n = nextStep(op);
    if (n === null) {
      this.event(`${op.type}Completed`, `${op.type} of broker ${op.brokerId ?? '?'} completed${message ? `: ${message}` : ''}`);
      this.state.operation = null;
    } else {
      this.event(`${op.type}${op.step}`, `${op.type} broker ${op.brokerId ?? '?'}: ${op.step} done${message ? ` (${message})` : ''}, next ${n}`);
      this.state.operation = atStep(op, n, this.input.now);
    }
    return { state: this.state, progressed: true, events: this.events };
  }

  /** Ends the operation here, skipping the steps left (they have nothing to do). */
  finish(message: string): StepResult {
    const op = this.op;
    this.event(`${op.type}Completed`, `${op.type} of broker ${op.brokerId ?? '?'} completed: ${message}`);
    this.state.operation = null;
    return { state: this.state, progressed: true, events: this.events };
  }

  /** Nothing changed yet: look again later. Past the step's deadline, says so once (Warning). */
  wait(message: string, ms = POLL_MS): StepResult {
    const op = { ...this.op, message };
    const started = Date.parse(op.stepStartedAt);
    const now = Date.parse(this.input.now);
    if (!op.overdue && Number.isFinite(started) && Number.isFinite(now) && now - started > deadlineOf(op)) {
      op.overdue = true;
      this.event('StepDeadlineExceeded', `${op.type} of broker ${op.brokerId ?? '?'} has been at step ${op.step} for ${Math.round((now - started) / 1000)} s (deadline ${deadlineOf(op) / 1000} s): ${message}`, 'Warning');
    }
    this.state.operation = op;
    return { state: this.state, progressed: false, requeueAfterMs: ms, events: this.events };
  }

  /** The brokers refuse the step: say why (condition and, once, a Warning event) and wait. */
  refuse(reason: string, why: string): StepResult {
    const op = this.op;
    if (op.refused !== why) this.event(reason, `${op.type} of broker ${op.brokerId ?? '?'} refused: ${why}`, 'Warning');
    this.state.operation = { ...op, refused: why };
    return this.wait(`refused: ${why}`, POLL_MS * 6);
  }

  /** Skips to a named step (used when a roll needs no drain). */
  jump(step: string): StepResult {
    this.state.operation = atStep(this.op, step, this.input.now);
    return { state: this.state, progressed: true, events: this.events };
  }
}

function brokerOf(s: MachineState, brokerId: number | undefined): BrokerStatus | undefined {
  return s.brokers.find((b) => b.brokerId === brokerId);
}

function podAt(pods: PodObservation[], ordinal: number): PodObservation | undefined {
  return pods.find((p) => p.ordinal === ordinal && !p.terminating);
}

/**
 * The founding metadata voters of a new cluster (DESIGN.md "Bootstrap"): the brokers of the
 * lowest ordinals, min(3, n) of them, 5 from 7 brokers up; as id@raft-host:port.
 */
export function foundingVoters(brokers: readonly BrokerStatus[], input: Pick<MachineInput, 'podHost' | 'raftPort'>): string {
  const n = brokers.length >= 7 ? 5 : Math.min(3, brokers.length);
  return [...brokers]
    .sort((a, b) => a.ordinal - b.ordinal)
    .slice(0, n)
    .map((b) => `${b.brokerId}@${input.podHost(b.ordinal)}:${input.raftPort}`)
    .join(',');
}

/** Why the cluster is not healthy enough to take a broker away, or null when it is. */
export function unhealthyReason(cs: ClusterStatus, except?: number): string | null {
  if (cs.offlinePartitions > 0) return `${cs.offlinePartitions} partitions offline`;
  if (cs.underReplicatedPartitions > 0) return `${cs.underReplicatedPartitions} partitions under-replicated`;
  const down = cs.brokers.filter((b) => b.brokerId !== except && b.state !== 'BROKER_STATE_ACTIVE' && b.state !== 'BROKER_STATE_DECOMMISSIONED');
  if (down.length > 0) return `brokers not active: ${down.map((b) => `${b.brokerId}(${b.state})`).join(', ')}`;
  return null;
}

async function scaleUp(st: Stepper, ports: Ports, step: ScaleUpStep): Promise<StepResult> {
  const s = st.state;
  const op = st.op;
  switch (step) {
    case 'AssignId': {
      const ordinal = s.statefulSetReplicas;
      let b = s.brokers.find((x) => x.ordinal === ordinal);
      if (!b) {
        b = { pod: st.input.podName(ordinal), ordinal, brokerId: s.nextBrokerId, state: 'Pending', ready: false };
        s.brokers.push(b);
        s.nextBrokerId += 1;
      }
      s.operation = { ...op, ordinal, brokerId: b.brokerId };
      return st.done(`pod ${b.pod} gets broker id ${b.brokerId}`);
    }
    case 'ClearStaleClaim': {
      // A claim left at this ordinal by a broker removed earlier (reclaim policy Retain) holds
      // that broker's data dir, which a broker with a new id refuses to start on. That broker
      // was decommissioned, so nothing on it is needed any more.
      const b = brokerOf(s, op.brokerId)!;
      if (await ports.claimExists(b.ordinal)) {
        await ports.deleteClaim(b.ordinal);
        if (op.message !== 'stale claim') st.event('StaleClaimDeleted', `deleted the claim left at ordinal ${b.ordinal} by a decommissioned broker, so pod ${b.pod} (broker ${b.brokerId}) starts on an empty volume`);
        return st.wait('stale claim', 2000);
      }
      return st.done();
    }
    case 'RegisterBroker': {
      const b = brokerOf(s, op.brokerId)!;
      await ports.admin().addBroker({ brokerId: b.brokerId, host: st.input.podHost(b.ordinal), port: st.input.kafkaPort });
      return st.done();
    }
    case 'CreatePod': {
      const b = brokerOf(s, op.brokerId)!;
      const replicas = Math.max(s.statefulSetReplicas, b.ordinal + 1);
      await ports.setStatefulSetReplicas(replicas, s.brokers, s.initialVoters);
      s.statefulSetReplicas = replicas;
      b.state = 'Starting';
      return st.done();
    }
    case 'WaitPodReady': {
      const b = brokerOf(s, op.brokerId)!;
      const pod = podAt(await ports.pods(), b.ordinal);
      if (!pod?.ready) return st.wait(`waiting for pod ${b.pod} to be ready`);
      return st.done();
    }
    case 'WaitBrokerActive': {
      const cs = await ports.admin().getClusterStatus();
      const info = cs.brokers.find((x) => x.brokerId === op.brokerId);
      if (info?.state !== 'BROKER_STATE_ACTIVE') return st.wait(`waiting for broker ${op.brokerId} to be active (is ${info?.state ?? 'unknown'})`);
      setBrokerState(s, op.brokerId!, 'Running');
      // One rebalance after the last new broker, not one per broker.
      if (s.statefulSetReplicas < st.input.desiredReplicas) return st.finish(`broker ${op.brokerId} joined; the rebalance waits for the remaining ${st.input.desiredReplicas - s.statefulSetReplicas}`);
      return st.done();
    }
    case 'Rebalance': {
      await ports.admin().rebalance({});
      return st.done();
    }
    case 'WaitRebalance': {
      const r = await ports.admin().getRebalanceStatus();
      if (!r.done) return st.wait(`rebalancing: ${r.movesDone}/${r.movesPlanned} moves`);
      return st.done(`${r.movesDone} moves`);
    }
    default:
      return unknownStep(st, step);
  }
}

async function scaleDown(st: Stepper, ports: Ports, step: ScaleDownStep): Promise<StepResult> {
  const s = st.state;
  const op = st.op;
  const b = brokerOf(s, op.brokerId);
  if (!b) {
    // The broker entry is gone only after ReleaseClaim finished: nothing left to do.
    s.operation = null;
    return { state: s, progressed: true, events: st.events };
  }
  // Until the decommission starts, the resource may be scaled back: nothing was changed yet.
  if ((step === 'CheckSafe' || step === 'Decommission') && st.input.desiredReplicas >= s.statefulSetReplicas) {
    st.event('ScaleDownCancelled', `spec.replicas is ${st.input.desiredReplicas} again; broker ${b.brokerId} stays`);
    s.operation = null;
    return { state: s, progressed: true, events: st.events };
  }
  switch (step) {
    case 'CheckSafe': {
      const cs = await ports.admin().getClusterStatus();
      const info = cs.brokers.find((x) => x.brokerId === b.brokerId);
      if (info && info.host && !info.host.startsWith(`${b.pod}.`) && info.host !== b.pod) {
        st.event('ScaleDownBlocked', `broker ${b.brokerId} reports host ${info.host}, not pod ${b.pod}; refusing to decommission`, 'Warning');
        return st.wait(`broker id ${b.brokerId} does not belong to pod ${b.pod} (reports ${info.host})`, POLL_MS * 6);
      }
      if (info?.state !== 'BROKER_STATE_DECOMMISSIONING' && info?.state !== 'BROKER_STATE_DECOMMISSIONED') {
        const why = unhealthyReason(cs, b.brokerId);
        if (why) return st.wait(`not removing broker ${b.brokerId} while ${why}`);
      }
      return st.done();
    }
    case 'Decommission': {
      let d;
      try {
        d = await ports.admin().decommissionBroker(b.brokerId);
      } catch (err) {
        // E.g. the remaining brokers cannot hold the topics' replication factor: nothing moved.
        const why = refusal(err);
        if (why === null) throw err;
        return st.refuse('ScaleDownRefused', why);
      }
      b.state = 'Decommissioning';
      b.decommission = { replicasRemaining: d.replicasRemaining, replicasTotal: d.replicasTotal };
      return st.done(`${d.replicasRemaining} replicas to move`);
    }
    case 'WaitDecommissioned': {
      const d = await ports.admin().getDecommissionStatus(b.brokerId);
      if (d.brokerId !== b.brokerId) return st.wait(`decommission status answered for broker ${d.brokerId}, asked ${b.brokerId}`);
      b.decommission = { replicasRemaining: d.replicasRemaining, replicasTotal: d.replicasTotal, ...(d.blockedReason ? { blockedReason: d.blockedReason } : {}) };
      if (!d.done || d.state !== 'BROKER_STATE_DECOMMISSIONED') {
        const blocked = d.blockedReason ? `, blocked: ${d.blockedReason}` : '';
        return st.wait(`decommissioning broker ${b.brokerId}: ${d.replicasRemaining}/${d.replicasTotal} replicas left${blocked}`);
      }
      b.state = 'Decommissioned';
      return st.done();
    }
    case 'RemovePod': {
      // Only reachable after WaitDecommissioned saw done; a resumed operator re-checks anyway.
      if (b.state !== 'Decommissioned') return st.jump('WaitDecommissioned');
      const replicas = Math.min(s.statefulSetReplicas, b.ordinal);
      await ports.setStatefulSetReplicas(replicas, s.brokers, s.initialVoters);
      s.statefulSetReplicas = replicas;
      b.state = 'Removing';
      return st.done();
    }
    case 'WaitPodGone': {
      const pods = await ports.pods();
      if (pods.some((p) => p.ordinal === b.ordinal)) return st.wait(`waiting for pod ${b.pod} to terminate`);
      return st.done();
    }
    case 'ReleaseClaim': {
      if (st.input.reclaimPolicy === 'Delete') await ports.deleteClaim(b.ordinal);
      s.brokers = s.brokers.filter((x) => x.brokerId !== b.brokerId);
      return st.done(st.input.reclaimPolicy === 'Delete' ? 'claim deleted' : 'claim retained');
    }
    default:
      return unknownStep(st, step);
  }
}

async function roll(st: Stepper, ports: Ports, step: RollStep): Promise<StepResult> {
  const s = st.state;
  const op = st.op;
  const b = brokerOf(s, op.brokerId);
  if (!b) {
    s.operation = null;
    return { state: s, progressed: true, events: st.events };
  }
  switch (step) {
    case 'EnterMaintenance': {
      await ports.admin().setMaintenanceMode(b.brokerId, true);
      b.state = 'Restarting';
      return st.done();
    }
    case 'WaitDrained': {
      const m = await ports.admin().setMaintenanceMode(b.brokerId, true);
      if (!m.drained) return st.wait(`draining broker ${b.brokerId}: ${m.leadershipsRemaining} leaderships left`);
      return st.done();
    }
    case 'DeletePod': {
      if (op.podUid) await ports.deletePod(b.pod, op.podUid);
      b.state = 'Restarting';
      return st.done();
    }
    case 'WaitPodReady': {
      const pod = podAt(await ports.pods(), b.ordinal);
      if (!pod || pod.uid === op.podUid) return st.wait(`waiting for pod ${b.pod} to be recreated`);
      if (pod.configHash !== op.targetHash) return st.wait(`pod ${b.pod} came back with config ${pod.configHash}, want ${op.targetHash}`);
      if (!pod.ready) return st.wait(`waiting for pod ${b.pod} to be ready`);
      return st.done();
    }
    case 'WaitBrokerActive': {
      // Until replica.lag.time.max.ms has passed, a broker that came back without catching up
      // may still be counted in the ISR of every partition it follows.
      const pod = podAt(await ports.pods(), b.ordinal);
      const since = pod?.ready && pod.readySince ? Date.parse(pod.readySince) : NaN;
      const upFor = Date.parse(st.input.now) - since;
      if (!pod?.ready) return st.wait(`waiting for pod ${b.pod} to be ready again`);
      if (Number.isFinite(upFor) && upFor < st.input.replicaLagTimeMaxMs) {
        return st.wait(`broker ${b.brokerId} up for ${Math.round(upFor / 1000)} s; the ISR is trusted after ${st.input.replicaLagTimeMaxMs / 1000} s`, Math.min(POLL_MS, st.input.replicaLagTimeMaxMs - upFor + 100));
      }
      const cs = await ports.admin().getClusterStatus();
      const info = cs.brokers.find((x) => x.brokerId === b.brokerId);
      const up = info && (info.state === 'BROKER_STATE_ACTIVE' || info.state === 'BROKER_STATE_MAINTENANCE');
      if (!up) return st.wait(`waiting for broker ${b.brokerId} to rejoin (is ${info?.state ?? 'unknown'})`);
      if (info.laggingReplicaCount > 0) return st.wait(`broker ${b.brokerId} catching up: ${info.laggingReplicaCount} replicas lagging`);
      if (cs.underReplicatedPartitions > 0) return st.wait(`${cs.underReplicatedPartitions} partitions still under-replicated`);
      return st.done();
    }
    case 'ExitMaintenance': {
      await ports.admin().setMaintenanceMode(b.brokerId, false);
      b.state = 'Running';
      b.configHash = op.targetHash;
      return st.done();
    }
    case 'RebalanceLeaders': {
      // After the last broker of the roll, leadership goes back to the preferred replicas at once.
      const live = (await ports.pods()).filter((p) => !p.terminating && p.ordinal < s.statefulSetReplicas);
      const left = live.filter((p) => p.configHash !== op.targetHash).length;
      if (left > 0) return st.done(`${left} brokers left to roll`);
      await ports.admin().rebalance({ leadersOnly: true });
      return st.done('leaders rebalanced');
    }
    default:
      return unknownStep(st, step);
  }
}

/**
 * Decides which operation to start, if any. Scaling comes before rolling: brokers added by a
 * scale-up already start with the new configuration.
 */
export async function plan(state: MachineState, input: MachineInput, ports: Ports): Promise<StepResult> {
  const s = clone(state);
  const events: MachineEvent[] = [];
  const start = (type: OperationType, step: string, extra: Partial<Operation>, message: string): StepResult => {
    s.operation = { ...extra, type, step, startedAt: input.now, stepStartedAt: input.now } as Operation;
    events.push({ type: 'Normal', reason: `${type}Started`, message });
    return { state: s, progressed: true, events };
  };
  if (s.brokers.length === 0 && s.statefulSetReplicas === 0) {
    // A new cluster: there is no data to protect yet, so every broker starts together.
    for (let o = 0; o < input.desiredReplicas; o++) {
      s.brokers.push({ pod: input.podName(o), ordinal: o, brokerId: s.nextBrokerId++, state: 'Starting', ready: false, configHash: input.desiredHash });
    }
    s.initialVoters = foundingVoters(s.brokers, input);
    await ports.setStatefulSetReplicas(input.desiredReplicas, s.brokers, s.initialVoters);
    s.statefulSetReplicas = input.desiredReplicas;
    events.push({ type: 'Normal', reason: 'Created', message: `created ${input.desiredReplicas} brokers with ids ${s.brokers.map((b) => b.brokerId).join(',')}` });
    return { state: s, progressed: true, events };
  }
  if (input.desiredReplicas > s.statefulSetReplicas) {
    return start('ScaleUp', 'AssignId', { targetReplicas: input.desiredReplicas }, `scaling up from ${s.statefulSetReplicas} to ${input.desiredReplicas}, one broker at a time`);
  }
  if (input.desiredReplicas < s.statefulSetReplicas) {
    const ordinal = s.statefulSetReplicas - 1;
    const b = s.brokers.find((x) => x.ordinal === ordinal);
    if (!b) {
      events.push({ type: 'Warning', reason: 'ScaleDownBlocked', message: `no broker id recorded for ordinal ${ordinal}; refusing to guess` });
      return { state: s, progressed: false, requeueAfterMs: POLL_MS * 6, events };
    }
    return start('ScaleDown', 'CheckSafe', { targetReplicas: input.desiredReplicas, brokerId: b.brokerId, ordinal }, `scaling down from ${s.statefulSetReplicas} to ${input.desiredReplicas}: decommissioning broker ${b.brokerId} (pod ${b.pod}) first`);
  }
  const pods = await ports.pods();
  const live = pods.filter((p) => !p.terminating && p.ordinal < s.statefulSetReplicas);
  const outdated = live.filter((p) => p.configHash !== input.desiredHash);
  for (const b of s.brokers) {
    const p = live.find((x) => x.ordinal === b.ordinal);
    if (p && p.configHash === input.desiredHash) b.configHash = input.desiredHash;
  }
  if (outdated.length === 0) return { state: s, progressed: false, events };
  // A broker that is not serving costs nothing to restart, and may be down because of the
  // very configuration being replaced.
  const unready = outdated.filter((p) => !p.ready).sort((a, b) => b.ordinal - a.ordinal);
  const currentUnready = live.filter((p) => p.configHash === input.desiredHash && !p.ready);
  const missing = s.statefulSetReplicas - live.length;
  let target: PodObservation | undefined = unready[0];
  let drain = false;
  if (!target) {
    if (currentUnready.length > 0 || missing > 0) {
      return { state: s, progressed: false, requeueAfterMs: POLL_MS, events, waiting: `roll waits for ${currentUnready.length + missing} broker(s) to be ready first` };
    }
    const cs = await ports.admin().getClusterStatus();
    const why = unhealthyReason(cs);
    if (why) return { state: s, progressed: false, requeueAfterMs: POLL_MS, events, waiting: `roll waits while ${why}` };
    // The metadata controller goes last so leadership of the metadata group moves once.
    const ordered = [...outdated].sort((a, b) => b.ordinal - a.ordinal);
    const ctrl = s.brokers.find((x) => x.brokerId === cs.controllerId);
    target = ordered.find((p) => p.ordinal !== ctrl?.ordinal) ?? ordered[0];
    drain = true;
  }
  if (!target) return { state: s, progressed: false, events };
  const b = s.brokers.find((x) => x.ordinal === target.ordinal);
  if (!b) {
    events.push({ type: 'Warning', reason: 'RollBlocked', message: `pod ${target.name} has no recorded broker id` });
    return { state: s, progressed: false, requeueAfterMs: POLL_MS * 6, events };
  }
  return start(
    'Roll',
    drain ? 'EnterMaintenance' : 'DeletePod',
    { brokerId: b.brokerId, ordinal: b.ordinal, targetHash: input.desiredHash, podUid: target.uid },
    `restarting broker ${b.brokerId} (pod ${b.pod}) for config ${input.desiredHash}${drain ? ' after draining it' : '; it is not ready, so no drain'}`,
  );
}

/** Runs one step of the operation in progress, or plans the next one. */
export async function advance(state: MachineState, input: MachineInput, ports: Ports): Promise<StepResult> {
  if (!state.operation) return plan(state, input, ports);
  const st = new Stepper(clone(state), input);
  const op = st.op;
  switch (op.type) {
    case 'ScaleUp':
      return scaleUp(st, ports, op.step);
    case 'ScaleDown':
      return scaleDown(st, ports, op.step);
    case 'Roll':
      return roll(st, ports, op.step);
  }
  return { state: { ...clone(state), operation: null }, progressed: true, events: [{ type: 'Warning', reason: 'UnknownOperation', message: `dropped unknown operation ${String((state.operation as Operation).type)}` }] };
}
