import { describe, expect, it } from 'vitest';
import { advance, STEPS } from '../src/orchestration/machine.js';
import type { MachineInput, MachineState } from '../src/orchestration/types.js';
import { SimWorld } from './support/sim-world.js';

function input(world: SimWorld, desiredReplicas: number, reclaimPolicy: 'Retain' | 'Delete' = 'Retain'): MachineInput {
  return {
    desiredReplicas,
    desiredHash: world.currentHash,
    podHost: (o) => `c-${o}.c-headless`,
    podName: (o) => `c-${o}`,
    kafkaPort: 9092,
    raftPort: 9646,
    reclaimPolicy,
    replicaLagTimeMaxMs: 30_000,
    now: `t${world.tick}`,
  };
}

const empty = (): MachineState => ({ brokers: [], nextBrokerId: 0, statefulSetReplicas: 0, initialVoters: '', operation: null });

interface RunOptions {
  /** Before every step, also run it once and throw the result away: a crash after the effect, before status was written. */
  crashBeforePersist?: boolean;
  maxIterations?: number;
  reclaimPolicy?: 'Retain' | 'Delete';
}

/** Drives the machine like the reconciler does, persisting state as JSON between calls. */
async function converge(world: SimWorld, start: MachineState, replicas: number, o: RunOptions = {}): Promise<{ state: MachineState; steps: string[] }> {
  let persisted = JSON.stringify(start);
  const steps: string[] = [];
  for (let i = 0; i < (o.maxIterations ?? 2000); i++) {
    const state = JSON.parse(persisted) as MachineState;
    if (o.crashBeforePersist && state.operation) {
      // The operator dies after the step's effect but before it records the step.
      await advance(JSON.parse(persisted) as MachineState, input(world, replicas, o.reclaimPolicy), world);
    }
    const r = await advance(state, input(world, replicas, o.reclaimPolicy), world);
    if (r.state.operation) steps.push(`${r.state.operation.type}:${r.state.operation.step}`);
    persisted = JSON.stringify(r.state);
    if (!r.progressed) {
      if (!r.state.operation && r.requeueAfterMs === undefined) {
        const pods = await world.pods();
        if (pods.length === replicas && pods.every((p) => p.ready && p.configHash === world.currentHash)) return { state: r.state, steps };
      }
      world.step();
    }
  }
  throw new Error(`did not converge; last state ${persisted}`);
}

async function bootstrap(world: SimWorld, n: number): Promise<MachineState> {
  const { state } = await converge(world, empty(), n);
  world.maxUnready = 0;
  return state;
}

describe('step machines', () => {
  it('creates a new cluster with explicit broker ids', async () => {
    const w = new SimWorld();
    const s = await bootstrap(w, 3);
    expect(s.brokers.map((b) => [b.pod, b.brokerId])).toEqual([
      ['c-0', 0],
      ['c-1', 1],
      ['c-2', 2],
    ]);
    expect(s.nextBrokerId).toBe(3);
    expect(w.violations).toEqual([]);
  });

  it('scales up one broker at a time through every step', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 3);
    const { state, steps } = await converge(w, s0, 5);
    expect(state.statefulSetReplicas).toBe(5);
    expect(state.brokers.map((b) => b.brokerId)).toEqual([0, 1, 2, 3, 4]);
    for (const step of STEPS.ScaleUp) expect(steps).toContain(`ScaleUp:${step}`);
    expect(w.maxUnready).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('scales down only after the brokers report the broker decommissioned, highest ordinal first', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 5);
    const { state } = await converge(w, s0, 3, { reclaimPolicy: 'Delete' });
    expect(state.statefulSetReplicas).toBe(3);
    expect(state.brokers.map((b) => b.pod)).toEqual(['c-0', 'c-1', 'c-2']);
    expect(w.brokers.get(4)!.state).toBe('BROKER_STATE_DECOMMISSIONED');
    expect(w.brokers.get(3)!.state).toBe('BROKER_STATE_DECOMMISSIONED');
    expect(w.deletedClaims.sort()).toEqual([3, 4]);
    expect(w.violations).toEqual([]);
  });

  it('never reuses a broker id after scale down and up', async () => {
    const w = new SimWorld();
    let s = await bootstrap(w, 3);
    s = (await converge(w, s, 2)).state;
    s = (await converge(w, s, 3)).state;
    expect(s.brokers.find((b) => b.pod === 'c-2')!.brokerId).toBe(3);
    expect(w.violations).toEqual([]);
  });

  it('waits while partitions are under-replicated before decommissioning', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 3);
    w.underReplicated = 2;
    let state = s0;
    for (let i = 0; i < 5; i++) {
      const r = await advance(state, input(w, 2), w);
      state = r.state;
    }
    expect(state.operation?.step).toBe('CheckSafe');
    expect(state.operation?.message).toMatch(/under-replicated/);
    expect(w.stsReplicas).toBe(3);
    w.underReplicated = 0;
    const { state: done } = await converge(w, state, 2);
    expect(done.statefulSetReplicas).toBe(2);
    expect(w.violations).toEqual([]);
  });

  it('refuses to decommission a broker whose reported host is another pod', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 3);
    w.brokers.get(2)!.host = 'c-0.c-headless';
    let state = s0;
    for (let i = 0; i < 5; i++) state = (await advance(state, input(w, 2), w)).state;
    expect(state.operation?.step).toBe('CheckSafe');
    expect(state.operation?.message).toMatch(/does not belong/);
    expect(w.brokers.get(2)!.state).toBe('BROKER_STATE_ACTIVE');
  });

  it('rolls every broker once, draining it first and one at a time', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 3);
    w.currentHash = 'h2';
    const { state, steps } = await converge(w, s0, 3);
    expect(w.log.filter((l) => l.startsWith('delete')).length).toBe(3);
    // The controller (broker 0 in the sim) goes last.
    expect(w.log.filter((l) => l.startsWith('delete')).at(-1)).toBe('delete c-0');
    for (const step of STEPS.Roll) expect(steps).toContain(`Roll:${step}`);
    expect(state.brokers.every((b) => b.configHash === 'h2')).toBe(true);
    expect(w.maxUnready).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('restarts an unready outdated broker first without waiting for a drain', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 3);
    w.podMap.get(1)!.ready = false;
    w.podMap.get(1)!.readyAfter = Number.MAX_SAFE_INTEGER;
    w.currentHash = 'h2';
    const r = await advance(s0, input(w, 3), w);
    expect(r.state.operation).toMatchObject({ type: 'Roll', step: 'DeletePod', brokerId: 1 });
  });

  it('a scale-down the brokers refuse (replication factor) says why once, changes nothing, and is dropped when scaled back', async () => {
    const w = new SimWorld();
    w.rf = 3;
    let state = await bootstrap(w, 3);
    const events: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await advance(state, input(w, 2), w);
      events.push(...r.events.map((e) => `${e.type}:${e.reason}`));
      state = r.state;
    }
    expect(state.operation).toMatchObject({ type: 'ScaleDown', step: 'Decommission' });
    expect(state.operation?.refused).toMatch(/replication factor 3/);
    expect(events.filter((e) => e === 'Warning:ScaleDownRefused')).toHaveLength(1);
    expect(w.stsReplicas).toBe(3);
    expect(w.brokers.get(2)!.state).toBe('BROKER_STATE_ACTIVE');
    const back = await advance(state, input(w, 3), w);
    expect(back.state.operation).toBeNull();
    expect(back.events.map((e) => e.reason)).toContain('ScaleDownCancelled');
    expect(w.violations).toEqual([]);
  });

  it('a scale-up onto an ordinal whose claim a removed broker left (Retain) deletes that claim before the pod starts', async () => {
    const w = new SimWorld();
    let s = await bootstrap(w, 3);
    s = (await converge(w, s, 2)).state;
    expect(w.claims.has(2)).toBe(true);
    const { state, steps } = await converge(w, s, 3);
    expect(steps).toContain('ScaleUp:ClearStaleClaim');
    expect(w.deletedClaims).toEqual([2]);
    expect(state.brokers.find((b) => b.ordinal === 2)!.brokerId).toBe(3);
    expect(w.violations).toEqual([]);
  });

  it('rebalances once after the last new broker, and leaders once after the last rolled broker', async () => {
    const w = new SimWorld();
    let s = await bootstrap(w, 3);
    s = (await converge(w, s, 5)).state;
    expect(w.log.filter((l) => l === 'rebalance')).toHaveLength(1);
    w.currentHash = 'h2';
    s = (await converge(w, s, 5)).state;
    expect(w.log.filter((l) => l.startsWith('delete'))).toHaveLength(5);
    expect(w.log.filter((l) => l === 'rebalance leaders')).toHaveLength(1);
    expect(w.log.at(-1)).toBe('rebalance leaders');
    expect(s.operation).toBeNull();
  });

  it('a broker that does not come back holds the roll at its step and, past the deadline, marks it overdue once', async () => {
    const w = new SimWorld(Number.MAX_SAFE_INTEGER);
    const s0 = await bootstrap(new SimWorld(), 3);
    // A world whose pods never get ready again once restarted.
    for (let o = 0; o < 3; o++) w.podMap.set(o, { name: `c-${o}`, ordinal: o, uid: `x${o}`, ready: true, configHash: 'h1', terminating: false, readyAfter: 0 });
    w.stsReplicas = 3;
    w.brokerIdTable = new Map(s0.brokers.map((b) => [b.pod, b.brokerId]));
    for (const b of s0.brokers) w.brokers.set(b.brokerId, { id: b.brokerId, host: `${b.pod}.c-headless`, state: 'BROKER_STATE_ACTIVE', replicas: 3, leaders: 0, decommissionPolls: 0, maintenance: false });
    w.currentHash = 'h2';
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const at = (ms: number): MachineInput => ({ ...input(w, 3), now: new Date(t0 + ms).toISOString() });
    let s = s0;
    for (let i = 0; i < 10 && s.operation?.step !== 'WaitPodReady'; i++) {
      const r = await advance(s, at(0), w);
      s = r.state;
      if (!r.progressed) w.step();
    }
    expect(s.operation).toMatchObject({ type: 'Roll', step: 'WaitPodReady' });
    w.step();
    const early = await advance(s, at(60_000), w);
    expect(early.state.operation?.overdue).toBeFalsy();
    const late = await advance(early.state, at(11 * 60_000), w);
    expect(late.state.operation).toMatchObject({ step: 'WaitPodReady', overdue: true });
    expect(late.events.map((e) => `${e.type}:${e.reason}`)).toEqual(['Warning:StepDeadlineExceeded']);
    const again = await advance(late.state, at(12 * 60_000), w);
    expect(again.events).toEqual([]);
    // Only the one broker was taken down.
    expect(w.log.filter((l) => l.startsWith('delete'))).toHaveLength(1);
  });

  it('a restarted broker counts as caught up only after replica.lag.time.max.ms (its ISR entries may be stale before)', async () => {
    const w = new SimWorld();
    const s0 = await bootstrap(w, 3);
    w.currentHash = 'h2';
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const at = (ms: number): MachineInput => ({ ...input(w, 3), now: new Date(t0 + ms).toISOString() });
    let s = s0;
    for (let i = 0; i < 50 && s.operation?.step !== 'WaitBrokerActive'; i++) {
      const r = await advance(s, at(0), w);
      s = r.state;
      if (!r.progressed) w.step();
    }
    expect(s.operation).toMatchObject({ type: 'Roll', step: 'WaitBrokerActive' });
    w.podMap.get(s.operation!.ordinal!)!.readySince = new Date(t0).toISOString();
    const early = await advance(s, at(10_000), w);
    expect(early.progressed).toBe(false);
    expect(early.state.operation?.message).toMatch(/up for 10 s; the ISR is trusted after 30 s/);
    const later = await advance(early.state, at(31_000), w);
    expect(later.progressed).toBe(true);
    expect(later.state.operation?.step).toBe('ExitMaintenance');
  });

  describe('operator restarts at every step', () => {
    it('scale up, scale down and roll all converge safely when every step runs twice', async () => {
      const w = new SimWorld();
      let s = await bootstrap(w, 3);
      s = (await converge(w, s, 5, { crashBeforePersist: true })).state;
      expect(s.brokers.map((b) => b.brokerId)).toEqual([0, 1, 2, 3, 4]);
      s = (await converge(w, s, 3, { crashBeforePersist: true, reclaimPolicy: 'Delete' })).state;
      expect(s.brokers.map((b) => b.brokerId)).toEqual([0, 1, 2]);
      w.currentHash = 'h3';
      s = (await converge(w, s, 3, { crashBeforePersist: true })).state;
      expect(w.log.filter((l) => l.startsWith('delete')).length).toBe(3);
      expect(w.violations).toEqual([]);
      expect(s.nextBrokerId).toBe(5);
    });

    for (const type of ['ScaleUp', 'ScaleDown', 'Roll'] as const) {
      for (const [i, step] of STEPS[type].entries()) {
        it(`${type} resumed from a fresh process at step ${step}`, async () => {
          const w = new SimWorld();
          let s = await bootstrap(w, 3);
          const target = type === 'ScaleUp' ? 4 : type === 'ScaleDown' ? 2 : 3;
          if (type === 'Roll') w.currentHash = 'h9';
          // Run until the operation reaches this step, then "restart": only the persisted JSON survives.
          for (let n = 0; n < 500 && !(s.operation?.type === type && s.operation.step === step); n++) {
            const r = await advance(s, input(w, target), w);
            s = JSON.parse(JSON.stringify(r.state)) as MachineState;
            if (!r.progressed) w.step();
          }
          expect(s.operation?.step, `reached ${type}:${step} (#${i})`).toBe(step);
          const { state } = await converge(w, JSON.parse(JSON.stringify(s)) as MachineState, target, { crashBeforePersist: true });
          expect(state.statefulSetReplicas).toBe(target);
          expect(state.operation).toBeNull();
          expect(w.violations).toEqual([]);
        });
      }
    }
  });
});
