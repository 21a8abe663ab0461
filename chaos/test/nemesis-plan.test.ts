import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../broker/test/helpers/random.js';
import { minoritySize, planFault, type Fault } from '../harness/nemesis-plan.js';
import { rulesForGroups } from '../harness/network-faults.js';
import { applicableNemeses, defaultVoters, OptionsError, parseOptions } from '../harness/options.js';

const noRoles = { leaders: new Map<number, number>() };

/** Who can still reach whom under a fault's drop rules (receiver drops packets from sender). */
function hears(fault: Extract<Fault, { family: 'partition' }>, receiver: number, sender: number): boolean {
  return !fault.rules.some((r) => r.at === receiver && r.from.includes(sender) && r.probability >= 1);
}

describe('fault planning', () => {
  it('is a function of the seed', () => {
    const plan = (seed: number): Fault[] => {
      const rng = seededRandom(seed);
      return (['kill', 'pause', 'partition', 'corrupt', 'kill', 'partition'] as const).map((f) => planFault(f, 5, rng, noRoles));
    };
    expect(plan(7)).toEqual(plan(7));
    expect(plan(7)).not.toEqual(plan(8));
  });

  it('never takes more than a minority for minority faults, and names the leader or controller when known', () => {
    expect(minoritySize(3)).toBe(1);
    expect(minoritySize(5)).toBe(2);
    const rng = seededRandom(3);
    const roles = { leaders: new Map([[0, 4]]), controller: 2 };
    for (let i = 0; i < 200; i++) {
      const f = planFault('kill', 5, rng, roles);
      if (f.family !== 'kill') throw new Error('kill expected');
      if (f.variant === 'minority') expect(new Set(f.nodes).size).toBe(2);
      if (f.variant === 'leader') expect(f.nodes).toEqual([4]);
      if (f.variant === 'controller') expect(f.nodes).toEqual([2]);
      if (f.variant === 'all') expect(f.nodes).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('cuts partitions so that the sides cannot hear each other and a bridge hears everyone', () => {
    const rng = seededRandom(11);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const f = planFault('partition', 5, rng, noRoles);
      if (f.family !== 'partition') throw new Error('partition expected');
      seen.add(f.variant);
      if (f.variant === 'halves' || f.variant === 'isolate-one') {
        const [a = [], b = []] = f.groups;
        expect([...a, ...b].sort()).toEqual([0, 1, 2, 3, 4]);
        for (const x of a) for (const y of b) expect(hears(f, x, y) || hears(f, y, x)).toBe(false);
        for (const x of a) for (const y of a) expect(hears(f, x, y)).toBe(true);
      }
      if (f.variant === 'bridge') {
        const [a = [], b = [], [bridge] = []] = f.groups;
        expect(a.length + b.length).toBe(4);
        for (const x of [...a, ...b]) expect(hears(f, x, bridge!) && hears(f, bridge!, x)).toBe(true);
        for (const x of a) for (const y of b) expect(hears(f, x, y)).toBe(false);
      }
      if (f.variant === 'one-way') {
        const [[x] = [], others = []] = f.groups;
        const inbound = others.every((o) => !hears(f, x!, o));
        const outbound = others.every((o) => !hears(f, o, x!));
        expect(inbound !== outbound).toBe(true);
      }
      if (f.variant === 'lossy') for (const r of f.rules) expect(r.probability).toBeGreaterThan(0), expect(r.probability).toBeLessThan(1);
    }
    expect([...seen].sort()).toEqual(['bridge', 'halves', 'isolate-leader', 'isolate-one', 'lossy', 'one-way']);
  });

  it('makes drop rules for groups, none for a lone group', () => {
    expect(rulesForGroups([[0], [1, 2]])).toEqual([
      { at: 0, from: [1, 2], probability: 1 },
      { at: 1, from: [0], probability: 1 },
      { at: 2, from: [0], probability: 1 },
    ]);
    expect(rulesForGroups([[0, 1, 2]])).toEqual([]);
  });

  it('refuses a partition of one broker', () => {
    expect(() => planFault('partition', 1, seededRandom(1), noRoles)).toThrow(/at least 2 brokers/);
  });
});

describe('chaos options', () => {
  it('has bounded defaults and a CI mode', () => {
    const o = parseOptions(['--seed', '5']);
    expect(o).toMatchObject({ timeS: 60, brokers: 3, voters: 3, seed: 5, nemeses: ['kill', 'pause', 'partition', 'corrupt'], build: true });
    expect(parseOptions(['--ci']).timeS).toBe(45);
    expect(parseOptions(['--time', '300', '--nemesis', 'kill,pause,partition', '--brokers', '5'])).toMatchObject({ timeS: 300, brokers: 5, voters: 3, nemeses: ['kill', 'pause', 'partition'] });
    expect(parseOptions(['--brokers=7']).voters).toBe(5);
    expect(parseOptions(['--image', 'x:y'])).toMatchObject({ image: 'x:y', build: false });
    expect(defaultVoters(1)).toBe(1);
    expect(applicableNemeses(1)).toEqual(['kill', 'pause']);
    expect(parseOptions(['--ci'])).toMatchObject({ workloads: ['idempotent'], txnProducers: 2 });
    expect(parseOptions(['--workload', 'idempotent,txn', '--txn-producers', '3'])).toMatchObject({ workloads: ['idempotent', 'txn'], txnProducers: 3 });
    expect(parseOptions(['--workload=txn']).workloads).toEqual(['txn']);
  });

  it('refuses bad options with a message naming them', () => {
    expect(() => parseOptions(['--time', '0'])).toThrow(/--time must be an integer from 1/);
    expect(() => parseOptions(['--nemesis', 'flood'])).toThrow(/unknown nemesis "flood"/);
    expect(() => parseOptions(['--brokers', '1', '--nemesis', 'partition'])).toThrow(/partition needs at least 2 brokers/);
    expect(() => parseOptions(['--brokers', '2', '--nemesis', 'corrupt'])).toThrow(/corrupt needs at least 3 brokers/);
    expect(() => parseOptions(['--voters', '4'])).toThrow(/--voters must be an integer from 1 to 3/);
    expect(() => parseOptions(['--frobnicate'])).toThrow(OptionsError);
    expect(() => parseOptions(['--seed'])).toThrow(/--seed needs a value/);
    expect(() => parseOptions(['--workload', 'txn,bank'])).toThrow(/unknown workload "bank"/);
    expect(() => parseOptions(['--workload', ','])).toThrow(/--workload needs at least one/);
  });
});
