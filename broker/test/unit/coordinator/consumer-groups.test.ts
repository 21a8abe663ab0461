/**
 * KIP-848 consumer groups on the group coordinator, over an in-memory store and a virtual clock:
 * joining, the incremental handover (revoke first, then assign), epochs and fencing, leaving,
 * session timeouts, static members, the assignors, offset commits checked against member epochs,
 * and the conversions between empty classic and consumer groups.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { GroupCoordinator, type CoordinatorRecord, type GroupStore } from '../../../src/coordinator/group-coordinator.js';
import type { ConsumerHeartbeatRequest, ConsumerHeartbeatResult, WireTopicPartitions } from '../../../src/coordinator/consumer-groups.js';
import { rangeAssignor, uniformAssignor } from '../../../src/coordinator/assignors.js';
import { decodeConsumerGroupValue, decodeConsumerMemberValue, decodeGroupValue, decodeKey } from '../../../src/coordinator/offsets-records.js';
import { VirtualScheduler } from '../../helpers/virtual-scheduler.js';

class MemoryStore implements GroupStore {
  records: CoordinatorRecord[] = [];
  owns(): boolean {
    return true;
  }
  ownership(): number {
    return 0;
  }
  append(_groupId: string, records: readonly CoordinatorRecord[]): Promise<void> {
    this.records.push(...records);
    return Promise.resolve();
  }
}

const TOPICS = new Map([
  ['orders', { topicId: '00000000-0000-0000-0000-00000000000a', partitions: 4, internal: false }],
  ['audit', { topicId: '00000000-0000-0000-0000-00000000000b', partitions: 2, internal: false }],
]);
const ORDERS = '00000000-0000-0000-0000-00000000000a';
const SESSION = 10_000;

function setup() {
  const scheduler = new VirtualScheduler(1_000_000, 10);
  const store = new MemoryStore();
  const gc = new GroupCoordinator({
    store,
    scheduler,
    config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 10 },
    newMemberId: (clientId) => `${clientId}-classic`,
    consumerProtocol: {
      catalog: {
        byName: (n) => TOPICS.get(n),
        byId: (id) => {
          for (const [name, t] of TOPICS) if (t.topicId === id) return { name, partitions: t.partitions };
          return undefined;
        },
        names: () => [...TOPICS.keys()],
      },
      config: { sessionTimeoutMs: SESSION, heartbeatIntervalMs: 500, assignors: ['uniform', 'range'], maxSize: 3 },
    },
  });
  const hb = (r: Partial<ConsumerHeartbeatRequest> & { memberId: string; memberEpoch: number }): Promise<ConsumerHeartbeatResult> =>
    gc.consumerGroups.heartbeat({
      version: 1,
      groupId: 'g',
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: r.memberEpoch === 0 ? 5000 : -1,
      subscribedTopicNames: r.memberEpoch === 0 ? ['orders'] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: r.memberEpoch === 0 ? [] : null,
      clientId: 'c',
      clientHost: '/127.0.0.1',
      ...r,
    });
  return { gc, scheduler, store, hb };
}

const parts = (a: readonly WireTopicPartitions[] | null): number[] => (a ?? []).flatMap((t) => t.partitions.map((p) => (t.topicId === ORDERS ? p : 100 + p)));
const owned = (ps: number[]): WireTopicPartitions[] => [{ topicId: ORDERS, partitions: ps }];

describe('KIP-848 consumer groups', () => {
  it('a joining member gets every partition; a second one gets half, after the first revoked them', async () => {
    const { hb, gc } = setup();
    const a = await hb({ memberId: 'a', memberEpoch: 0 });
    expect(a).toMatchObject({ errorCode: 0, memberId: 'a', memberEpoch: 1, heartbeatIntervalMs: 500 });
    expect(parts(a.assignment)).toEqual([0, 1, 2, 3]);
    const b = await hb({ memberId: 'b', memberEpoch: 0 });
    expect(b.memberEpoch).toBe(2);
    // b's partitions are still a's: nothing yet.
    expect(parts(b.assignment)).toEqual([]);
    // a learns it must give two up (its epoch stays until it has).
    const a2 = await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1, 2, 3]) });
    expect(a2.memberEpoch).toBe(1);
    const kept = parts(a2.assignment);
    expect(kept).toHaveLength(2);
    const a3 = await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned(kept) });
    expect(a3.memberEpoch).toBe(2);
    const b2 = await hb({ memberId: 'b', memberEpoch: 2, topicPartitions: [] });
    expect(parts(b2.assignment).sort()).toEqual([0, 1, 2, 3].filter((p) => !kept.includes(p)));
    const [described] = await gc.consumerGroups.describe(['g']);
    expect(described).toMatchObject({ errorCode: 0, groupState: 'Stable', groupEpoch: 2, assignmentEpoch: 2, assignorName: 'uniform' });
    expect(gc.membership.list()).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }]);
  });

  it('validates heartbeats and fences stale epochs', async () => {
    const { hb } = setup();
    expect((await hb({ memberId: '', memberEpoch: 0 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await hb({ memberId: 'a', memberEpoch: 0, rebalanceTimeoutMs: -1 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await hb({ memberId: 'a', memberEpoch: 0, subscribedTopicNames: null })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await hb({ memberId: 'a', memberEpoch: -7 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await hb({ memberId: 'a', memberEpoch: 0, serverAssignor: 'sticky' })).errorCode).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
    expect((await hb({ memberId: 'a', memberEpoch: 0, subscribedTopicNames: null, subscribedTopicRegex: '(' })).errorCode).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
    expect((await hb({ memberId: 'ghost', memberEpoch: 3 })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const a = await hb({ memberId: 'a', memberEpoch: 0 });
    expect((await hb({ memberId: 'a', memberEpoch: a.memberEpoch + 5 })).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    // v0: the coordinator names a joining member.
    const v0 = await hb({ version: 0, memberId: '', memberEpoch: 0 });
    expect(v0.errorCode).toBe(0);
    expect(v0.memberId).toMatch(/[0-9a-f-]{36}/);
  });

  it('a member leaving (epoch -1) or timing out hands its partitions to the others', async () => {
    const { hb, scheduler } = setup();
    await hb({ memberId: 'a', memberEpoch: 0 });
    await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1, 2, 3]) });
    const b = await hb({ memberId: 'b', memberEpoch: 0 });
    const c = await hb({ memberId: 'c', memberEpoch: 0 });
    const left = await hb({ memberId: 'a', memberEpoch: -1 });
    expect(left).toMatchObject({ errorCode: 0, memberEpoch: -1 });
    const c2 = await hb({ memberId: 'c', memberEpoch: c.memberEpoch, topicPartitions: [] });
    const b2 = await hb({ memberId: 'b', memberEpoch: b.memberEpoch, topicPartitions: [] });
    expect(parts(c2.assignment).length + parts(b2.assignment).length).toBe(4);
    // b stops heartbeating: after the session timeout its partitions go to c.
    await scheduler.advance(SESSION / 2);
    await hb({ memberId: 'c', memberEpoch: c2.memberEpoch, topicPartitions: c2.assignment });
    await scheduler.advance(SESSION / 2 + 1);
    const c3 = await hb({ memberId: 'c', memberEpoch: c2.memberEpoch, topicPartitions: c2.assignment });
    expect(parts(c3.assignment).sort()).toEqual([0, 1, 2, 3]);
  });

  it('a member that does not revoke within its rebalance timeout is fenced', async () => {
    const { hb, scheduler } = setup();
    await hb({ memberId: 'a', memberEpoch: 0 });
    await hb({ memberId: 'b', memberEpoch: 0 });
    const a = await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1, 2, 3]) });
    expect(parts(a.assignment)).toHaveLength(2);
    await scheduler.advance(5001);
    expect((await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1, 2, 3]) })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a static member leaving with -2 keeps its partitions for its instance id; another instance is refused meanwhile', async () => {
    const { hb } = setup();
    const a = await hb({ memberId: 'a', memberEpoch: 0, instanceId: 'i1' });
    expect((await hb({ memberId: 'x', memberEpoch: 0, instanceId: 'i1' })).errorCode).toBe(ErrorCode.UNRELEASED_INSTANCE_ID);
    await hb({ memberId: 'a', memberEpoch: -2, instanceId: 'i1' });
    const back = await hb({ memberId: 'a2', memberEpoch: 0, instanceId: 'i1' });
    expect(back.errorCode).toBe(0);
    expect(parts(back.assignment)).toEqual(parts(a.assignment));
    expect(back.memberEpoch).toBe(a.memberEpoch);
  });

  it('commits offsets against member epochs: stale is STALE_MEMBER_EPOCH (v9) or ILLEGAL_GENERATION', async () => {
    const { hb, gc } = setup();
    const a = await hb({ memberId: 'a', memberEpoch: 0 });
    const commit = (memberId: string, generationId: number, apiVersion: number) =>
      gc.commitOffsets({ groupId: 'g', memberId, generationId, groupInstanceId: null, retentionTimeMs: -1, apiVersion, partitions: [{ topic: 'orders', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] });
    expect((await commit('a', a.memberEpoch, 9))[0]?.errorCode).toBe(0);
    await hb({ memberId: 'b', memberEpoch: 0 });
    await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1, 2, 3]) });
    await hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1]) });
    expect((await commit('a', 1, 9))[0]?.errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await commit('a', 1, 8))[0]?.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await commit('nobody', 1, 9))[0]?.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await commit('', -1, 9))[0]?.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const fetched = await gc.fetchOffsets('g', [{ name: 'orders', partitions: [0] }], false, { memberId: 'a', memberEpoch: 1 });
    expect(fetched.errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await gc.fetchOffsets('g', [{ name: 'orders', partitions: [0] }], false, { memberId: 'a', memberEpoch: 2 })).offsets[0]?.offset).toBe(5);
  });

  it('converts an empty classic group and back; refuses a group with members of the other protocol', async () => {
    const { hb, gc, store, scheduler } = setup();
    const join = async (groupId: string) => {
      const r = gc.join({ groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], clientId: 'k', clientHost: 'h', requireKnownMemberId: false });
      await scheduler.advance(10);
      return r;
    };
    const classic = await join('g');
    expect(classic.errorCode).toBe(0);
    expect((await hb({ memberId: 'a', memberEpoch: 0 })).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    await gc.leave('g', [{ memberId: classic.memberId, groupInstanceId: null }]);
    expect((await hb({ memberId: 'a', memberEpoch: 0 })).errorCode).toBe(0);
    expect(store.records.map((r) => decodeKey(r.key).type)).toContain('consumer-group');
    expect((await join('g')).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    await hb({ memberId: 'a', memberEpoch: -1 });
    expect((await join('g')).errorCode).toBe(0);
    expect(gc.membership.list()[0]?.groupType).toBe('classic');
  });

  it('a classic group loaded with members by a new coordinator holds a consumer-protocol member off until they have had a session timeout to rejoin', async () => {
    const first = setup();
    const r = first.gc.join({ groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], clientId: 'k', clientHost: 'h', requireKnownMemberId: false });
    await first.scheduler.advance(10);
    const joined = await r;
    const sync = first.gc.sync({ groupId: 'g', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }] });
    await first.scheduler.advance(10);
    expect((await sync).errorCode).toBe(0);
    const next = setup();
    for (const rec of first.store.records) {
      const key = decodeKey(rec.key);
      if (key.type === 'group') next.gc.applyRecord(key, rec.value === null ? null : decodeGroupValue(rec.value));
    }
    next.gc.finishLoading();
    // Retriable: the classic members may come back and be upgraded online with the member.
    expect((await next.hb({ memberId: 'a', memberEpoch: 0 })).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    await next.scheduler.advance(10_001);
    expect((await next.hb({ memberId: 'a', memberEpoch: 0 })).errorCode).toBe(0);
  });

  it('OffsetDelete refuses the topics its members subscribe to and deletes the others', async () => {
    const { hb, gc } = setup();
    const a = await hb({ memberId: 'a', memberEpoch: 0 });
    const commit = (topic: string) =>
      gc.commitOffsets({ groupId: 'g', memberId: 'a', generationId: a.memberEpoch, groupInstanceId: null, retentionTimeMs: -1, partitions: [{ topic, partition: 0, offset: 3, leaderEpoch: -1, metadata: null }] });
    await commit('orders');
    await commit('audit');
    const r = await gc.deleteOffsets('g', [
      { topic: 'orders', partition: 0 },
      { topic: 'audit', partition: 0 },
    ]);
    expect(r.errorCode).toBe(0);
    expect(r.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 0]);
    const left = await gc.fetchOffsets('g', null);
    expect(left.offsets.map((o) => o.topic)).toEqual(['orders']);
  });

  it('a new coordinator loading the records takes the members over with their epochs and partitions', async () => {
    const first = setup();
    await first.hb({ memberId: 'a', memberEpoch: 0 });
    await first.hb({ memberId: 'b', memberEpoch: 0 });
    const a1 = await first.hb({ memberId: 'a', memberEpoch: 1, topicPartitions: owned([0, 1, 2, 3]) });
    const a2 = await first.hb({ memberId: 'a', memberEpoch: 1, topicPartitions: a1.assignment });
    const b2 = await first.hb({ memberId: 'b', memberEpoch: 2, topicPartitions: [] });
    expect(a2.memberEpoch).toBe(2);
    const [ownedA, ownedB] = [parts(a2.assignment ?? a1.assignment), parts(b2.assignment)];
    expect([...ownedA, ...ownedB].sort()).toEqual([0, 1, 2, 3]);

    // The records as a new coordinator reads them back, in log order.
    const next = setup();
    for (const r of first.store.records) {
      const key = decodeKey(r.key);
      const value =
        r.value === null ? null : key.type === 'consumer-member' ? decodeConsumerMemberValue(r.value) : key.type === 'consumer-group' ? decodeConsumerGroupValue(r.value) : null;
      if (key.type === 'consumer-member' || key.type === 'consumer-group') next.gc.applyRecord(key, value);
    }
    next.gc.finishLoading();
    const [described] = await next.gc.consumerGroups.describe(['g']);
    expect(described?.members.map((m) => m.memberId).sort()).toEqual(['a', 'b']);
    // Each carries on with its epoch: no fencing, the same partitions, then the new epoch.
    const a3 = await next.hb({ memberId: 'a', memberEpoch: 2, topicPartitions: owned(ownedA) });
    const b3 = await next.hb({ memberId: 'b', memberEpoch: 2, topicPartitions: owned(ownedB) });
    expect([a3.errorCode, b3.errorCode]).toEqual([0, 0]);
    expect(a3.memberEpoch).toBe(3);
    expect(b3.memberEpoch).toBe(3);
    expect(next.gc.consumerGroups.assignmentOf('g', 'a')).toEqual(new Map([[ORDERS, new Set(ownedA)]]));
    // A member that left is gone after the load too.
    await next.hb({ memberId: 'b', memberEpoch: -1 });
    const again = setup();
    for (const r of [...first.store.records, ...next.store.records]) {
      const key = decodeKey(r.key);
      if (key.type !== 'consumer-member' && key.type !== 'consumer-group') continue;
      again.gc.applyRecord(key, r.value === null ? null : key.type === 'consumer-member' ? decodeConsumerMemberValue(r.value) : decodeConsumerGroupValue(r.value));
    }
    again.gc.finishLoading();
    expect((await again.gc.consumerGroups.describe(['g']))[0]?.members.map((m) => m.memberId)).toEqual(['a']);
  });

  it('refuses members beyond group.consumer.max.size', async () => {
    const { hb } = setup();
    for (const m of ['a', 'b', 'c']) expect((await hb({ memberId: m, memberEpoch: 0 })).errorCode).toBe(0);
    expect((await hb({ memberId: 'd', memberEpoch: 0 })).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });
});

describe('server-side assignors', () => {
  const m = (memberId: string, topics: string[], current: Array<[string, number[]]> = []) => ({ memberId, topics: new Set(topics), current: new Map(current.map(([t, ps]) => [t, new Set(ps)])) });
  const count = (a: Map<string, Set<number>> | undefined) => [...(a?.values() ?? [])].reduce((n, s) => n + s.size, 0);

  it('range gives contiguous ranges per topic, the first members one more', () => {
    const out = rangeAssignor({ members: [m('b', ['t']), m('a', ['t']), m('c', ['t'])], topics: new Map([['t', 7]]) });
    expect([...(out.get('a')?.get('t') ?? [])]).toEqual([0, 1, 2]);
    expect([...(out.get('b')?.get('t') ?? [])]).toEqual([3, 4]);
    expect([...(out.get('c')?.get('t') ?? [])]).toEqual([5, 6]);
  });

  it('uniform balances, respects subscriptions and keeps partitions where they are', () => {
    const topics = new Map([
      ['t', 6],
      ['u', 2],
    ]);
    const first = uniformAssignor({ members: [m('a', ['t', 'u']), m('b', ['t'])], topics });
    expect(count(first.get('a'))).toBe(4);
    expect(count(first.get('b'))).toBe(4);
    expect(first.get('b')?.has('u')).toBe(false);
    // A third member: each keeps what it can, only the surplus moves.
    const next = uniformAssignor({
      members: [m('a', ['t', 'u'], [...(first.get('a') ?? [])].map(([t, s]) => [t, [...s]])), m('b', ['t'], [...(first.get('b') ?? [])].map(([t, s]) => [t, [...s]])), m('c', ['t', 'u'])],
      topics,
    });
    expect([count(next.get('a')), count(next.get('b')), count(next.get('c'))].sort()).toEqual([2, 3, 3]);
    let moved = 0;
    for (const id of ['a', 'b']) for (const [t, s] of next.get(id) ?? []) for (const p of s) if (!first.get(id)?.get(t)?.has(p)) moved++;
    expect(moved).toBe(0);
  });
});
