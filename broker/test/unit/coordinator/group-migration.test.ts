/**
 * Online migration between the classic and the consumer (KIP-848) group protocols, on the group
 * coordinator over an in-memory store and a virtual clock: a consumer-protocol member upgrading a
 * classic group with live members, the classic members served inside the consumer group
 * (JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit, assignments from the server's
 * assignor, handed over only once revoked), the downgrade when the last consumer-protocol member
 * leaves, group.consumer.migration.policy, Kafka's refusals, and the records reloaded by a new
 * coordinator.
 */
import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/kafka/protocol/errors.js';
import { GroupCoordinator, type CoordinatorRecord, type GroupStore, type JoinRequest } from '../../../src/coordinator/group-coordinator.js';
import type { ConsumerHeartbeatRequest, ConsumerHeartbeatResult, WireTopicPartitions } from '../../../src/coordinator/consumer-groups.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../../src/coordinator/embedded-protocol.js';
import {
  decodeConsumerGroupValue,
  decodeConsumerMemberValue,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  type CoordinatorKey,
} from '../../../src/coordinator/offsets-records.js';
import type { MigrationPolicy } from '../../../src/config/registry.js';
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

const ORDERS = '00000000-0000-0000-0000-00000000000a';
const TOPICS = new Map([['orders', { topicId: ORDERS, partitions: 4, internal: false }]]);
const SESSION = 10_000;

function setup(migrationPolicy?: MigrationPolicy) {
  const scheduler = new VirtualScheduler(1_000_000, 10);
  const store = new MemoryStore();
  let ids = 0;
  const gc = new GroupCoordinator({
    store,
    scheduler,
    config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 10 },
    newMemberId: (clientId) => `${clientId}-${++ids}`,
    consumerProtocol: {
      catalog: {
        byName: (n) => TOPICS.get(n),
        byId: (id) => (id === ORDERS ? { name: 'orders', partitions: 4 } : undefined),
        names: () => [...TOPICS.keys()],
      },
      config: { sessionTimeoutMs: SESSION, heartbeatIntervalMs: 500, assignors: ['uniform', 'range'], maxSize: 10, ...(migrationPolicy ? { migrationPolicy } : {}) },
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
  /** A classic JoinGroup (an eager client: it owns nothing while it rejoins). */
  const join = async (memberId: string, o: Partial<JoinRequest> = {}) => {
    const r = gc.join({
      groupId: 'g',
      sessionTimeoutMs: SESSION,
      rebalanceTimeoutMs: 5000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['orders'], ownedPartitions: [] }) }],
      clientId: 'k',
      clientHost: 'h',
      requireKnownMemberId: false,
      ...o,
    });
    await scheduler.advance(10);
    return r;
  };
  const sync = async (memberId: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }> = []) => {
    const r = gc.sync({ groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
    await scheduler.advance(10);
    return r;
  };
  const beat = (memberId: string, generationId: number) => gc.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId: null });
  const commit = (memberId: string, generationId: number, partition: number, offset: number) =>
    gc.commitOffsets({ groupId: 'g', memberId, generationId, groupInstanceId: null, retentionTimeMs: -1, partitions: [{ topic: 'orders', partition, offset, leaderEpoch: -1, metadata: null }] });
  const groupType = () => gc.membership.list().find((l) => l.groupId === 'g')?.groupType;
  return { gc, scheduler, store, hb, join, sync, beat, commit, groupType };
}

type Env = ReturnType<typeof setup>;

const parts = (a: readonly WireTopicPartitions[] | null): number[] => (a ?? []).flatMap((t) => t.partitions);
const owned = (ps: number[]): WireTopicPartitions[] => [{ topicId: ORDERS, partitions: ps }];
const assigned = (buf: Buffer): number[] => (decodeAssignment(buf) ?? []).flatMap((t) => t.partitions).sort();

/** A stable classic group: member `k-1` holds all of orders, having committed offset 7 of partition 0. */
async function classicGroup(env: Env): Promise<{ memberId: string; generation: number }> {
  const j = await env.join('');
  expect(j.errorCode).toBe(0);
  const s = await env.sync(j.memberId, j.generationId, [{ memberId: j.memberId, assignment: encodeAssignment([{ topic: 'orders', partitions: [0, 1, 2, 3] }]) }]);
  expect(s.errorCode).toBe(0);
  expect((await env.commit(j.memberId, j.generationId, 0, 7))[0]?.errorCode).toBe(0);
  return { memberId: j.memberId, generation: j.generationId };
}

/** Replays a store into a fresh coordinator, as a new coordinator loads its partition. */
function reload(records: readonly CoordinatorRecord[], migrationPolicy?: MigrationPolicy): Env {
  const next = setup(migrationPolicy);
  for (const r of records) {
    const key: CoordinatorKey = decodeKey(r.key);
    if (r.value === null) next.gc.applyRecord(key, null);
    else if (key.type === 'offset') next.gc.applyRecord(key, decodeOffsetValue(r.value));
    else if (key.type === 'group') next.gc.applyRecord(key, decodeGroupValue(r.value));
    else if (key.type === 'consumer-group') next.gc.applyRecord(key, decodeConsumerGroupValue(r.value));
    else next.gc.applyRecord(key, decodeConsumerMemberValue(r.value));
  }
  next.gc.finishLoading();
  return next;
}

/**
 * Upgrades the classic group with consumer member `b` and runs the handover to the end: the
 * classic member is told to rejoin, gives up half, and `b` gets that half.
 */
async function upgradeAndSettle(env: Env, classic: { memberId: string; generation: number }) {
  const b0 = await env.hb({ memberId: 'b', memberEpoch: 0 });
  expect(b0.errorCode).toBe(0);
  expect(env.groupType()).toBe('consumer');
  // Everything is the classic member's until it revokes: b gets nothing yet.
  expect(parts(b0.assignment)).toEqual([]);
  expect(await env.beat(classic.memberId, classic.generation)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoin = await env.join(classic.memberId);
  expect(rejoin.errorCode).toBe(0);
  expect(rejoin.generationId).toBe(b0.memberEpoch);
  expect(rejoin.leader).toBe('');
  const s = await env.sync(classic.memberId, rejoin.generationId);
  expect(s.errorCode).toBe(0);
  const kept = assigned(s.assignment);
  expect(kept).toHaveLength(2);
  const b1 = await env.hb({ memberId: 'b', memberEpoch: b0.memberEpoch, topicPartitions: [] });
  const given = parts(b1.assignment).sort();
  expect([...kept, ...given].sort()).toEqual([0, 1, 2, 3]);
  expect(await env.beat(classic.memberId, rejoin.generationId)).toBe(ErrorCode.NONE);
  return { classicGeneration: rejoin.generationId, bEpoch: b1.memberEpoch, kept, given };
}

describe('online migration between the classic and the consumer group protocols', () => {
  it('a consumer-protocol member upgrades a classic group with a live member, which is then served inside the consumer group', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    const { classicGeneration } = await upgradeAndSettle(env, classic);
    // The classic member commits with its generation; the old one is ILLEGAL_GENERATION (not STALE_MEMBER_EPOCH).
    expect((await env.commit(classic.memberId, classicGeneration, 1, 3))[0]?.errorCode).toBe(0);
    expect((await env.commit(classic.memberId, classic.generation, 1, 3))[0]?.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    // Offsets committed while the group was classic carry over.
    const fetched = await env.gc.fetchOffsets('g', [{ name: 'orders', partitions: [0, 1] }]);
    expect(fetched.offsets.map((o) => o.offset)).toEqual([7, 3]);
    // Both show in ConsumerGroupDescribe, and the classic member in the store keeps its protocols.
    const [described] = await env.gc.consumerGroups.describe(['g']);
    expect(described?.members.map((m) => m.memberId).sort()).toEqual(['b', classic.memberId].sort());
    expect(described?.members.find((m) => m.memberId === classic.memberId)?.classic).toBe(true);
    expect(described?.members.find((m) => m.memberId === 'b')?.classic).toBe(false);
    const stored = env.store.records.filter((r) => decodeKey(r.key).type === 'consumer-member' && r.value !== null).map((r) => decodeConsumerMemberValue(r.value as Buffer));
    expect(stored.some((v) => v.classic?.protocols[0]?.name === 'range')).toBe(true);
  });

  it('a cooperative classic member that still owns partitions keeps them until it rejoins without them', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    const b0 = await env.hb({ memberId: 'b', memberEpoch: 0 });
    const coop = (ownedPartitions: number[]) => ({
      protocols: [{ name: 'cooperative-sticky', metadata: encodeSubscription({ topics: ['orders'], ownedPartitions: [{ topic: 'orders', partitions: ownedPartitions }] }) }],
    });
    const first = await env.join(classic.memberId, coop([0, 1, 2, 3]));
    expect(first.protocolName).toBe('cooperative-sticky');
    // Still at its old epoch: it must revoke first.
    expect(first.generationId).toBe(classic.generation);
    const s1 = await env.gc.sync({ groupId: 'g', generationId: first.generationId, memberId: classic.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'cooperative-sticky', assignments: [] });
    const kept = assigned(s1.assignment);
    expect(kept).toHaveLength(2);
    // b cannot have the other half while the classic member owns it.
    expect(parts((await env.hb({ memberId: 'b', memberEpoch: b0.memberEpoch, topicPartitions: [] })).assignment)).toEqual([]);
    expect(await env.beat(classic.memberId, first.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const second = await env.join(classic.memberId, coop(kept));
    expect(second.generationId).toBe(b0.memberEpoch);
    const b1 = await env.hb({ memberId: 'b', memberEpoch: b0.memberEpoch, topicPartitions: [] });
    expect([...kept, ...parts(b1.assignment)].sort()).toEqual([0, 1, 2, 3]);
  });

  it('the last consumer-protocol member leaving makes the group classic again, and it rebalances', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    const { classicGeneration, bEpoch } = await upgradeAndSettle(env, classic);
    await env.hb({ memberId: 'b', memberEpoch: -1 });
    expect(env.groupType()).toBe('classic');
    expect(env.gc.groupState('g')).toBe('PreparingRebalance');
    expect(bEpoch).toBeGreaterThan(0);
    // The classic member learns of the rebalance on its heartbeat, rejoins and leads the new generation.
    expect(await env.beat(classic.memberId, classicGeneration)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const j = await env.join(classic.memberId);
    expect(j.errorCode).toBe(0);
    expect(j.leader).toBe(classic.memberId);
    expect(j.generationId).toBeGreaterThan(classicGeneration);
    const s = await env.sync(classic.memberId, j.generationId, [{ memberId: classic.memberId, assignment: encodeAssignment([{ topic: 'orders', partitions: [0, 1, 2, 3] }]) }]);
    expect(s.errorCode).toBe(0);
    expect(env.gc.groupState('g')).toBe('Stable');
    expect((await env.commit(classic.memberId, j.generationId, 2, 5))[0]?.errorCode).toBe(0);
    // A new coordinator reads it back as a classic group with every offset.
    const next = reload(env.store.records);
    expect(next.groupType()).toBe('classic');
    const fetched = await next.gc.fetchOffsets('g', [{ name: 'orders', partitions: [0, 2] }]);
    expect(fetched.offsets.map((o) => o.offset)).toEqual([7, 5]);
  });

  it('group.consumer.migration.policy: disabled and downgrade refuse the upgrade; upgrade keeps the group a consumer group', async () => {
    for (const policy of ['disabled', 'downgrade'] as const) {
      const env = setup(policy);
      await classicGroup(env);
      const r = await env.hb({ memberId: 'b', memberEpoch: 0 });
      expect(r.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
      expect(r.errorMessage).toContain(`group.consumer.migration.policy=${policy}`);
      expect(env.groupType()).toBe('classic');
    }
    const env = setup('upgrade');
    const classic = await classicGroup(env);
    const { classicGeneration } = await upgradeAndSettle(env, classic);
    await env.hb({ memberId: 'b', memberEpoch: -1 });
    expect(env.groupType()).toBe('consumer');
    // The classic member goes on inside the consumer group and gets b's partitions.
    expect(await env.beat(classic.memberId, classicGeneration)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const j = await env.join(classic.memberId);
    expect(assigned((await env.sync(classic.memberId, j.generationId)).assignment)).toEqual([0, 1, 2, 3]);
  });

  it('refuses what Kafka refuses: another protocol type, an unreadable subscription, a classic JoinGroup of another type', async () => {
    const other = setup();
    const j = await other.join('', { protocolType: 'connect', protocols: [{ name: 'v1', metadata: Buffer.from('x') }] });
    await other.sync(j.memberId, j.generationId, [{ memberId: j.memberId, assignment: Buffer.from('y') }]);
    const r = await other.hb({ memberId: 'b', memberEpoch: 0 });
    expect(r.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(r.errorMessage).toContain('protocol type connect');

    const garbled = setup();
    const g = await garbled.join('', { protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0x7f]) }] });
    expect(g.errorCode).toBe(0);
    const r2 = await garbled.hb({ memberId: 'b', memberEpoch: 0 });
    expect(r2.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    expect(r2.errorMessage).toContain('cannot be read');

    const env = setup();
    await env.hb({ memberId: 'b', memberEpoch: 0 });
    expect((await env.join('', { protocolType: 'connect' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // Refused before a member id is handed out, as Kafka does.
    expect((await env.join('', { protocolType: 'connect', requireKnownMemberId: true })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await env.join('', { protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('a new classic member joins a consumer group (MEMBER_ID_REQUIRED first) and shares its partitions', async () => {
    const env = setup();
    const b0 = await env.hb({ memberId: 'b', memberEpoch: 0 });
    const b1 = await env.hb({ memberId: 'b', memberEpoch: b0.memberEpoch, topicPartitions: [] });
    expect(parts(b1.assignment ?? b0.assignment).sort()).toEqual([0, 1, 2, 3]);
    const first = await env.join('', { requireKnownMemberId: true });
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const j = await env.join(first.memberId);
    expect(j.errorCode).toBe(0);
    // Nothing yet: b still owns everything and must revoke half first.
    expect(assigned((await env.sync(j.memberId, j.generationId)).assignment)).toEqual([]);
    const b2 = await env.hb({ memberId: 'b', memberEpoch: b1.memberEpoch, topicPartitions: owned([0, 1, 2, 3]) });
    const keptByB = parts(b2.assignment);
    expect(keptByB).toHaveLength(2);
    await env.hb({ memberId: 'b', memberEpoch: b2.memberEpoch, topicPartitions: owned(keptByB) });
    // Released now: the classic member is told to rejoin and gets the other half.
    expect(await env.beat(j.memberId, j.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const j2 = await env.join(j.memberId);
    const mine = assigned((await env.sync(j.memberId, j2.generationId)).assignment);
    expect([...mine, ...keptByB].sort()).toEqual([0, 1, 2, 3]);
    // Its LeaveGroup removes it; the group stays a consumer group with b.
    const left = await env.gc.leave('g', [{ memberId: j.memberId, groupInstanceId: null }]);
    expect(left.members[0]?.errorCode).toBe(0);
    expect(env.groupType()).toBe('consumer');
  });

  it('a classic member of a consumer group that stops heartbeating is removed after its own session timeout', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    await upgradeAndSettle(env, classic);
    for (let i = 0; i < 4; i++) {
      await env.scheduler.advance(SESSION / 4);
      const [d] = await env.gc.consumerGroups.describe(['g']);
      const b = d?.members.find((m) => m.memberId === 'b');
      if (b !== undefined) await env.hb({ memberId: 'b', memberEpoch: b.memberEpoch });
    }
    await env.scheduler.advance(10);
    const [d] = await env.gc.consumerGroups.describe(['g']);
    expect(d?.members.map((m) => m.memberId)).toEqual(['b']);
  });

  it('a classic member told to rejoin that only heartbeats is removed after its rebalance timeout, and its partitions move', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    const b0 = await env.hb({ memberId: 'b', memberEpoch: 0 });
    for (let i = 0; i < 4; i++) {
      expect(await env.beat(classic.memberId, classic.generation)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      await env.scheduler.advance(1000);
      await env.hb({ memberId: 'b', memberEpoch: b0.memberEpoch });
    }
    await env.scheduler.advance(1001);
    const b1 = await env.hb({ memberId: 'b', memberEpoch: b0.memberEpoch, topicPartitions: [] });
    expect(parts(b1.assignment).sort()).toEqual([0, 1, 2, 3]);
    expect(await env.beat(classic.memberId, classic.generation)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // The group has no classic member left, so it stays a consumer group.
    expect(env.groupType()).toBe('consumer');
  });

  it('a classic group reloaded by a new coordinator asks a consumer-protocol member to retry until its classic member is back, then upgrades', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    const next = reload(env.store.records);
    const waiting = await next.hb({ memberId: 'b', memberEpoch: 0 });
    expect(waiting.errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    // The classic member finds it unknown (classic members are not taken over) and rejoins.
    expect(await next.beat(classic.memberId, classic.generation)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const j = await next.join('');
    const s = await next.sync(j.memberId, j.generationId, [{ memberId: j.memberId, assignment: encodeAssignment([{ topic: 'orders', partitions: [0, 1, 2, 3] }]) }]);
    expect(s.errorCode).toBe(0);
    expect((await next.hb({ memberId: 'b', memberEpoch: 0 })).errorCode).toBe(0);
    expect(next.groupType()).toBe('consumer');
    // With upgrades disabled the answer stays a refusal.
    const off = reload(env.store.records, 'disabled');
    expect((await off.hb({ memberId: 'b', memberEpoch: 0 })).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('a new coordinator loads the upgraded group with its classic member, which carries on with its generation', async () => {
    const env = setup();
    const classic = await classicGroup(env);
    const { classicGeneration, kept } = await upgradeAndSettle(env, classic);
    const next = reload(env.store.records);
    expect(next.groupType()).toBe('consumer');
    const [d] = await next.gc.consumerGroups.describe(['g']);
    expect(d?.members.map((m) => m.memberId).sort()).toEqual(['b', classic.memberId].sort());
    expect((await next.gc.fetchOffsets('g', [{ name: 'orders', partitions: [0] }])).offsets[0]?.offset).toBe(7);
    // Not fenced: its generation is still good for commits; the new epoch makes it rejoin, with the same partitions.
    expect((await next.commit(classic.memberId, classicGeneration, 0, 9))[0]?.errorCode).toBe(0);
    expect(await next.beat(classic.memberId, classicGeneration)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const j = await next.join(classic.memberId);
    expect(j.errorCode).toBe(0);
    expect(assigned((await next.sync(classic.memberId, j.generationId)).assignment)).toEqual(kept);
    // And the downgrade after the reload works the same.
    await next.hb({ memberId: 'b', memberEpoch: -1 });
    expect(next.groupType()).toBe('classic');
  });
});

describe('the consumer embedded protocol as clients write it', () => {
  it('reads kafkajs subscriptions (v0 and v1 without owned partitions) and assignments, and kafkajs reads ours', () => {
    for (const version of [0, 1]) {
      const meta = AssignerProtocol.MemberMetadata.encode({ version, topics: ['orders', 'audit'], userData: Buffer.from('u') });
      expect(decodeSubscription(meta)).toEqual({ topics: ['orders', 'audit'], ownedPartitions: [] });
    }
    const theirs = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { orders: [2, 0] }, userData: Buffer.alloc(0) });
    expect(decodeAssignment(theirs)).toEqual([{ topic: 'orders', partitions: [2, 0] }]);
    const ours = encodeAssignment([{ topic: 'orders', partitions: [1, 3] }]);
    expect(AssignerProtocol.MemberAssignment.decode(ours)?.assignment).toEqual({ orders: [1, 3] });
    // A v1 subscription with owned partitions, as the Java client sends it.
    expect(decodeSubscription(encodeSubscription({ topics: ['orders'], ownedPartitions: [{ topic: 'orders', partitions: [0] }] }))).toEqual({
      topics: ['orders'],
      ownedPartitions: [{ topic: 'orders', partitions: [0] }],
    });
    expect(decodeSubscription(Buffer.from([0, 0, 0x7f, 0, 0, 0]))).toBeNull();
  });
});
