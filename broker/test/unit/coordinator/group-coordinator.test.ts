import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import {
  GroupCoordinator,
  NON_EMPTY_GROUP,
  type CoordinatorRecord,
  type GroupStore,
  type JoinRequest,
  type JoinResult,
} from '../../../src/coordinator/group-coordinator.js';
import { decodeGroupValue, decodeKey, decodeOffsetValue } from '../../../src/coordinator/offsets-records.js';
import { settle, VirtualScheduler } from '../../helpers/virtual-scheduler.js';


class MemoryStore implements GroupStore {
  records: CoordinatorRecord[] = [];
  failNext: KafkaError | null = null;
  owns(): boolean {
    return true;
  }
  ownership(): number {
    return 0;
  }
  append(_groupId: string, records: readonly CoordinatorRecord[]): Promise<void> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      return Promise.reject(e);
    }
    this.records.push(...records);
    return Promise.resolve();
  }
}

const DELAY = 100;

function setup(config: Partial<ConstructorParameters<typeof GroupCoordinator>[0]['config']> = {}) {
  const scheduler = new VirtualScheduler(1_000_000, 10);
  const store = new MemoryStore();
  let n = 0;
  const gc = new GroupCoordinator({
    store,
    scheduler,
    config: { initialRebalanceDelayMs: DELAY, minSessionTimeoutMs: 10, ...config },
    newMemberId: (clientId) => `${clientId}-m${++n}`,
    partitionExists: (topic) => topic !== 'missing',
  });
  return { gc, scheduler, store };
}

/** ConsumerProtocolSubscription v0 bytes for these topics. */
function subscription(...topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff])); // null user data
  return Buffer.concat(parts);
}

function joinReq(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 2000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription('t') }],
    clientId: 'c',
    clientHost: '127.0.0.1',
    requireKnownMemberId: false,
    ...over,
  };
}

/** Joins, runs out the rebalance, syncs everyone (leader assigns "a:<memberId>"), returns the members. */
async function formGroup(gc: GroupCoordinator, scheduler: VirtualScheduler, clients: string[]): Promise<JoinResult[]> {
  const joins = clients.map((c) => gc.join(joinReq({ clientId: c })));
  await scheduler.advance(3 * DELAY);
  const results = await Promise.all(joins);
  const leader = results.find((r) => r.leader === r.memberId)!;
  const syncs = results.map((r) =>
    gc.sync({
      groupId: 'g',
      generationId: r.generationId,
      memberId: r.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: r === leader ? results.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(`a:${m.memberId}`) })) : [],
    }),
  );
  const synced = await Promise.all(syncs);
  synced.forEach((s, i) => {
    expect(s.errorCode).toBe(ErrorCode.NONE);
    expect(s.assignment.toString()).toBe(`a:${results[i]!.memberId}`);
  });
  return results;
}

describe('GroupCoordinator: joining', () => {
  it('asks a v4+ member without id to rejoin with the id it hands out (MEMBER_ID_REQUIRED)', async () => {
    const { gc, scheduler } = setup();
    const first = await gc.join(joinReq({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toBe('c-m1');
    const second = gc.join(joinReq({ requireKnownMemberId: true, memberId: first.memberId }));
    await scheduler.advance(3 * DELAY);
    const r = await second;
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'c-m1', leader: 'c-m1', generationId: 1, protocolName: 'range' });
    expect(r.members.map((m) => m.memberId)).toEqual(['c-m1']);
    expect(gc.groupState('g')).toBe('CompletingRebalance');
  });

  it('forgets a MEMBER_ID_REQUIRED id that never joins, and rejects it after its session timeout', async () => {
    const { gc, scheduler } = setup();
    const first = await gc.join(joinReq({ requireKnownMemberId: true }));
    await scheduler.advance(1001);
    const late = await gc.join(joinReq({ memberId: first.memberId }));
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('puts members arriving during the initial delay into one generation; only the leader gets the member list', async () => {
    const { gc, scheduler } = setup();
    const a = gc.join(joinReq({ clientId: 'a' }));
    await scheduler.advance(DELAY / 2);
    const b = gc.join(joinReq({ clientId: 'b' }));
    await scheduler.advance(DELAY / 2);
    // b arrived during the delay, so the delay is extended once more.
    expect(gc.groupState('g')).toBe('PreparingRebalance');
    await scheduler.advance(3 * DELAY);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.generationId).toBe(1);
    expect(rb.generationId).toBe(1);
    expect(ra.leader).toBe(ra.memberId);
    expect(rb.leader).toBe(ra.memberId);
    expect(ra.members).toHaveLength(2);
    expect(rb.members).toHaveLength(0);
  });

  it('rejects invalid groups, session timeouts and protocols with their error codes', async () => {
    const { gc, scheduler } = setup();
    expect((await gc.join(joinReq({ groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await gc.join(joinReq({ sessionTimeoutMs: 1 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await gc.join(joinReq({ protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await gc.join(joinReq({ memberId: 'nobody' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await formGroup(gc, scheduler, ['a']);
    expect((await gc.join(joinReq({ protocolType: 'connect' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await gc.join(joinReq({ protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }))).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
  });

  it('selects the protocol every member supports by vote', async () => {
    const { gc, scheduler } = setup();
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const joins = [
      gc.join(joinReq({ clientId: 'a', protocols: p('sticky', 'range', 'roundrobin') })),
      gc.join(joinReq({ clientId: 'b', protocols: p('roundrobin', 'range') })),
      gc.join(joinReq({ clientId: 'c', protocols: p('roundrobin', 'sticky', 'range') })),
    ];
    await scheduler.advance(3 * DELAY);
    const results = await Promise.all(joins);
    // Common: range, roundrobin. Votes: a->range, b->roundrobin, c->roundrobin.
    expect(results.map((r) => r.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    const leader = results.find((r) => r.members.length > 0)!;
    expect(leader.members.map((m) => m.metadata.toString())).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
  });
});

describe('GroupCoordinator: rebalancing', () => {
  it('keeps followers waiting in SyncGroup until the leader assigns, then becomes Stable and stores the assignment', async () => {
    const { gc, scheduler, store } = setup();
    const joins = [gc.join(joinReq({ clientId: 'a' })), gc.join(joinReq({ clientId: 'b' }))];
    await scheduler.advance(3 * DELAY);
    const [ra, rb] = await Promise.all(joins);
    const base = { groupId: 'g', generationId: 1, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range' };
    let followerDone = false;
    const follower = gc.sync({ ...base, memberId: rb!.memberId, assignments: [] }).then((r) => {
      followerDone = true;
      return r;
    });
    await settle(10);
    expect(followerDone).toBe(false);
    const leader = await gc.sync({
      ...base,
      memberId: ra!.memberId,
      assignments: [
        { memberId: ra!.memberId, assignment: Buffer.from('A') },
        { memberId: rb!.memberId, assignment: Buffer.from('B') },
      ],
    });
    expect(leader.assignment.toString()).toBe('A');
    expect((await follower).assignment.toString()).toBe('B');
    expect(gc.groupState('g')).toBe('Stable');
    const stored = store.records.map((r) => ({ key: decodeKey(r.key), value: r.value && decodeGroupValue(r.value) }));
    const last = stored.at(-1)!;
    expect(last.key).toEqual({ type: 'group', group: 'g' });
    expect(last.value?.generation).toBe(1);
    expect(last.value?.members.map((m) => m.assignment.toString()).sort()).toEqual(['A', 'B']);
  });

  it('checks generation, member and protocol on SyncGroup and Heartbeat', async () => {
    const { gc, scheduler } = setup();
    const [m] = await formGroup(gc, scheduler, ['a']);
    const sync = { groupId: 'g', generationId: 1, memberId: m!.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] };
    expect((await gc.sync({ ...sync, generationId: 7 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await gc.sync({ ...sync, memberId: 'x' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await gc.sync({ ...sync, protocolName: 'roundrobin' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await gc.sync({ ...sync, groupId: 'other' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const hb = { groupId: 'g', generationId: 1, memberId: m!.memberId, groupInstanceId: null };
    expect(await gc.heartbeat(hb)).toBe(ErrorCode.NONE);
    expect(await gc.heartbeat({ ...hb, generationId: 0 })).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await gc.heartbeat({ ...hb, memberId: 'x' })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('rebalances when a member joins a Stable group; heartbeats answer REBALANCE_IN_PROGRESS until all rejoin', async () => {
    const { gc, scheduler } = setup();
    const [a, b] = await formGroup(gc, scheduler, ['a', 'b']);
    const c = gc.join(joinReq({ clientId: 'c' }));
    await settle(10);
    expect(gc.groupState('g')).toBe('PreparingRebalance');
    expect(await gc.heartbeat({ groupId: 'g', generationId: 1, memberId: a!.memberId, groupInstanceId: null })).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const ra = gc.join(joinReq({ clientId: 'a', memberId: a!.memberId }));
    const rb = gc.join(joinReq({ clientId: 'b', memberId: b!.memberId }));
    // All three have joined: the rebalance completes without waiting for the timeout.
    const results = await Promise.all([ra, rb, c]);
    expect(results.map((r) => r.generationId)).toEqual([2, 2, 2]);
    expect(results.map((r) => r.errorCode)).toEqual([0, 0, 0]);
    expect(gc.groupState('g')).toBe('CompletingRebalance');
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const { gc, scheduler } = setup();
    const [a, b] = await formGroup(gc, scheduler, ['a', 'b']);
    const ra = gc.join(joinReq({ clientId: 'a', memberId: a!.memberId }));
    // b keeps heartbeating but never rejoins.
    for (let i = 0; i < 4; i++) {
      await scheduler.advance(500);
      await gc.heartbeat({ groupId: 'g', generationId: 1, memberId: b!.memberId, groupInstanceId: null });
    }
    const r = await ra;
    expect(r.generationId).toBe(2);
    expect(r.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(await gc.heartbeat({ groupId: 'g', generationId: 2, memberId: b!.memberId, groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('expires a member whose session times out and rebalances the rest', async () => {
    const { gc, scheduler } = setup();
    const [a] = await formGroup(gc, scheduler, ['a', 'b']);
    // Only a heartbeats.
    for (let i = 0; i < 3; i++) {
      await scheduler.advance(400);
      await gc.heartbeat({ groupId: 'g', generationId: 1, memberId: a!.memberId, groupInstanceId: null });
    }
    expect(gc.groupState('g')).toBe('PreparingRebalance');
    const r = await gc.join(joinReq({ clientId: 'a', memberId: a!.memberId }));
    expect(r.generationId).toBe(2);
    expect(r.members).toHaveLength(1);
  });

  it('answers a pending SyncGroup with REBALANCE_IN_PROGRESS when a rebalance starts', async () => {
    const { gc, scheduler } = setup();
    const joins = [gc.join(joinReq({ clientId: 'a' })), gc.join(joinReq({ clientId: 'b' }))];
    await scheduler.advance(3 * DELAY);
    const [, rb] = await Promise.all(joins);
    const follower = gc.sync({ groupId: 'g', generationId: 1, memberId: rb!.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    await settle(10);
    void gc.join(joinReq({ clientId: 'c' }));
    expect((await follower).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('LeaveGroup removes members; the last one leaving empties the group with a new generation', async () => {
    const { gc, scheduler, store } = setup();
    const [a, b] = await formGroup(gc, scheduler, ['a', 'b']);
    const left = await gc.leave('g', [{ memberId: b!.memberId, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }]);
    expect(left.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(gc.groupState('g')).toBe('PreparingRebalance');
    const r = await gc.join(joinReq({ clientId: 'a', memberId: a!.memberId }));
    expect(r.generationId).toBe(2);
    await gc.leave('g', [{ memberId: a!.memberId, groupInstanceId: null }]);
    expect(gc.groupState('g')).toBe('Empty');
    await settle(10);
    const last = store.records.at(-1)!;
    expect(decodeGroupValue(last.value!)).toMatchObject({ generation: 3, members: [] });
    const unknown = await gc.leave('nope', [{ memberId: 'x', groupInstanceId: null }]);
    expect(unknown).toEqual({ errorCode: 0, members: [{ memberId: 'x', groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }] });
  });
});

describe('GroupCoordinator: static membership', () => {
  it('replaces a static member that rejoins with the same metadata, without a rebalance, and fences the old id', async () => {
    const { gc, scheduler } = setup();
    const joins = [gc.join(joinReq({ clientId: 'a', groupInstanceId: 'ia' })), gc.join(joinReq({ clientId: 'b', groupInstanceId: 'ib' }))];
    await scheduler.advance(3 * DELAY);
    const [ra, rb] = await Promise.all(joins);
    const base = { groupId: 'g', generationId: 1, protocolType: null, protocolName: null };
    const fs = gc.sync({ ...base, memberId: rb!.memberId, groupInstanceId: 'ib', assignments: [] });
    await gc.sync({
      ...base,
      memberId: ra!.memberId,
      groupInstanceId: 'ia',
      assignments: [
        { memberId: ra!.memberId, assignment: Buffer.from('A') },
        { memberId: rb!.memberId, assignment: Buffer.from('B') },
      ],
    });
    await fs;
    // b restarts: same instance id, no member id.
    const again = await gc.join(joinReq({ clientId: 'b', groupInstanceId: 'ib', requireKnownMemberId: true }));
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(again.memberId).not.toBe(rb!.memberId);
    expect(again.generationId).toBe(1);
    expect(gc.groupState('g')).toBe('Stable');
    const sync = await gc.sync({ ...base, memberId: again.memberId, groupInstanceId: 'ib', assignments: [] });
    expect(sync.assignment.toString()).toBe('B');
    expect(await gc.heartbeat({ groupId: 'g', generationId: 1, memberId: rb!.memberId, groupInstanceId: 'ib' })).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(
      (await gc.commitOffsets({ groupId: 'g', generationId: 1, memberId: rb!.memberId, groupInstanceId: 'ib', retentionTimeMs: -1, partitions: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }))[0]!.errorCode,
    ).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await gc.heartbeat({ groupId: 'g', generationId: 1, memberId: again.memberId, groupInstanceId: 'ib' })).toBe(ErrorCode.NONE);
  });

  it('rebalances when a static member rejoins with different metadata', async () => {
    const { gc, scheduler } = setup();
    const first = gc.join(joinReq({ groupInstanceId: 'i' }));
    await scheduler.advance(3 * DELAY);
    const r = await first;
    await gc.sync({ groupId: 'g', generationId: 1, memberId: r.memberId, groupInstanceId: 'i', protocolType: null, protocolName: null, assignments: [] });
    const again = await gc.join(joinReq({ groupInstanceId: 'i', protocols: [{ name: 'range', metadata: subscription('t', 'u') }] }));
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(again.generationId).toBe(2);
  });

  it('keeps a static member through a rebalance it misses, until its session expires', async () => {
    const { gc, scheduler } = setup();
    const joins = [gc.join(joinReq({ clientId: 'a' })), gc.join(joinReq({ clientId: 's', groupInstanceId: 'is' }))];
    await scheduler.advance(3 * DELAY);
    const [ra] = await Promise.all(joins);
    const rejoin = gc.join(joinReq({ clientId: 'a', memberId: ra!.memberId }));
    await scheduler.advance(2000);
    const r = await rejoin;
    expect(r.members).toHaveLength(2);
  });
});

describe('GroupCoordinator: offsets', () => {
  const part = (topic: string, partition: number, offset: number, metadata: string | null = null) => ({ topic, partition, offset, leaderEpoch: 3, metadata });

  it('stores simple commits (generation -1) durably before answering, and fetches them back; unknown ones are -1', async () => {
    const { gc, store } = setup();
    const errors = await gc.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 42, 'm'), part('t', 1, 7)] });
    expect(errors.map((e) => e.errorCode)).toEqual([0, 0]);
    expect(store.records).toHaveLength(2);
    expect(decodeOffsetValue(store.records[0]!.value!)).toMatchObject({ offset: 42, metadata: 'm', leaderEpoch: 3, expireTimestamp: -1 });
    const fetched = await gc.fetchOffsets('s', [{ name: 't', partitions: [0, 1, 2] }]);
    expect(fetched.offsets.map((o) => [o.partition, o.offset, o.metadata])).toEqual([
      [0, 42, 'm'],
      [1, 7, ''],
      [2, -1, ''],
    ]);
    expect((await gc.fetchOffsets('s', null)).offsets).toHaveLength(2);
    expect((await gc.fetchOffsets('unknown', [{ name: 't', partitions: [0] }])).offsets[0]!.offset).toBe(-1);
  });

  it('rejects oversized metadata and unknown partitions per partition', async () => {
    const { gc } = setup({ offsetMetadataMaxBytes: 4 });
    const errors = await gc.commitOffsets({
      groupId: 's',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      partitions: [part('t', 0, 1, 'toolong'), part('missing', 0, 1), part('t', 1, 1, 'ok')],
    });
    expect(errors.map((e) => e.errorCode)).toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NONE]);
  });

  it('checks membership and generation for group commits', async () => {
    const { gc, scheduler } = setup();
    const commit = (generationId: number, memberId: string) =>
      gc.commitOffsets({ groupId: 'g', generationId, memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 5)] }).then((e) => e[0]!.errorCode);
    expect(await commit(3, 'x')).toBe(ErrorCode.ILLEGAL_GENERATION);
    const joins = [gc.join(joinReq({ clientId: 'a' }))];
    await scheduler.advance(3 * DELAY);
    const [a] = await Promise.all(joins);
    expect(await commit(1, a!.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await gc.sync({ groupId: 'g', generationId: 1, memberId: a!.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(await commit(1, a!.memberId)).toBe(ErrorCode.NONE);
    expect(await commit(0, a!.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(1, 'x')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(-1, '')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('reports a storage failure as a coordinator error and keeps the old offset', async () => {
    const { gc, store } = setup();
    await gc.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 1)] });
    store.failNext = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, 'disk gone');
    const errors = await gc.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 9)] });
    expect(errors[0]!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await gc.fetchOffsets('s', [{ name: 't', partitions: [0] }])).offsets[0]!.offset).toBe(1);
  });

  it('rebuilds offsets and an Empty group from its records; tombstones delete', async () => {
    const { gc, scheduler, store } = setup();
    await formGroup(gc, scheduler, ['a']);
    const [a] = [...(await gc.describe(['g']))[0]!.members];
    await gc.commitOffsets({ groupId: 'g', generationId: 1, memberId: a!.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 10), part('t', 1, 20)] });
    await gc.deleteOffsets('g', [{ topic: 'u', partition: 0 }]);
    await gc.commitOffsets({ groupId: 'gone', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 1)] });
    expect(await gc.deleteGroups(['gone'])).toEqual([{ groupId: 'gone', errorCode: 0 }]);

    const { gc: restored, scheduler: restoredClock } = setup();
    for (const r of store.records) {
      const key = decodeKey(r.key);
      restored.applyRecord(key, r.value === null ? null : key.type === 'offset' ? decodeOffsetValue(r.value) : decodeGroupValue(r.value));
    }
    restored.finishLoading();
    expect(restored.groupState('g')).toBe('Empty');
    expect(restored.groupState('gone')).toBeUndefined();
    const f = await restored.fetchOffsets('g', null);
    expect(f.offsets.map((o) => o.offset).sort()).toEqual([10, 20]);
    // The generation survives, so the next one is 2.
    const j = restored.join(joinReq());
    await restoredClock.advance(3 * DELAY);
    expect((await j).generationId).toBe(2);
  });

  it('OffsetDelete refuses topics an active consumer group subscribes to', async () => {
    const { gc, scheduler } = setup();
    const [a] = await formGroup(gc, scheduler, ['a']);
    await gc.commitOffsets({ groupId: 'g', generationId: 1, memberId: a!.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 1), part('old', 0, 1)] });
    const r = await gc.deleteOffsets('g', [
      { topic: 't', partition: 0 },
      { topic: 'old', partition: 0 },
    ]);
    expect(r.errorCode).toBe(0);
    expect(r.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE]);
    expect((await gc.fetchOffsets('g', null)).offsets.map((o) => o.topic)).toEqual(['t']);
    expect((await gc.deleteOffsets('nope', [{ topic: 't', partition: 0 }])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('expires offsets of Empty groups after the retention period', async () => {
    const { gc, scheduler } = setup({ offsetsRetentionMs: 10_000 });
    await gc.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 1)] });
    await gc.commitOffsets({ groupId: 'r', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: 100_000, partitions: [part('t', 0, 1)] });
    await scheduler.advance(5_000);
    expect(await gc.expireOffsets()).toBe(0);
    await scheduler.advance(6_000);
    expect(await gc.expireOffsets()).toBe(1);
    expect(gc.groupState('s')).toBeUndefined();
    expect((await gc.fetchOffsets('r', null)).offsets).toHaveLength(1);
    // An Empty consumer group without offsets is dropped on the next pass.
    const j = gc.join(joinReq());
    await scheduler.advance(3 * DELAY);
    const m = await j;
    await gc.leave('g', [{ memberId: m.memberId, groupInstanceId: null }]);
    expect(gc.groupState('g')).toBe('Empty');
    await gc.expireOffsets();
    expect(gc.groupState('g')).toBeUndefined();
  });

  it("forgets a deleted topic's offsets in every group, durably, and drops an Empty group left with none", async () => {
    const { gc, scheduler, store } = setup();
    const [a] = await formGroup(gc, scheduler, ['a']);
    await gc.commitOffsets({ groupId: 'g', generationId: 1, memberId: a!.memberId, groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 5), part('kept', 0, 6)] });
    await gc.commitOffsets({ groupId: 'only-t', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('t', 0, 1), part('t', 1, 2)] });
    await gc.commitOffsets({ groupId: 'other', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [part('kept', 0, 3)] });

    expect(await gc.deleteOffsetsOfTopics(new Set(['t']))).toBe(3);
    expect((await gc.fetchOffsets('g', [{ name: 't', partitions: [0] }])).offsets[0]!.offset).toBe(-1);
    expect((await gc.fetchOffsets('g', null)).offsets.map((o) => [o.topic, o.offset])).toEqual([['kept', 6]]);
    // A group with members stays whatever it lost; an Empty one with nothing left goes.
    expect(gc.groupState('g')).toBe('Stable');
    expect(gc.groupState('only-t')).toBeUndefined();
    expect((await gc.fetchOffsets('other', null)).offsets).toHaveLength(1);
    expect(await gc.deleteOffsetsOfTopics(new Set(['t']))).toBe(0);

    // The tombstones are in the store: a coordinator loading it agrees.
    const { gc: restored } = setup();
    for (const r of store.records) {
      const key = decodeKey(r.key);
      restored.applyRecord(key, r.value === null ? null : key.type === 'offset' ? decodeOffsetValue(r.value) : decodeGroupValue(r.value));
    }
    restored.finishLoading();
    expect((await restored.fetchOffsets('g', null)).offsets.map((o) => o.topic)).toEqual(['kept']);
    expect(restored.groupState('only-t')).toBeUndefined();
  });
});

describe('GroupCoordinator: admin', () => {
  it('describes, lists with a state filter, and deletes only empty groups', async () => {
    const { gc, scheduler } = setup();
    await formGroup(gc, scheduler, ['a', 'b']);
    await gc.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, partitions: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] });
    const [g, missing] = await gc.describe(['g', 'missing']);
    expect(g).toMatchObject({ errorCode: 0, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(g!.members).toHaveLength(2);
    expect(g!.members[0]!.memberAssignment.toString()).toMatch(/^a:/);
    expect(missing).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
    expect(gc.list().map((l) => l.groupId).sort()).toEqual(['g', 's']);
    expect(gc.list(['stable']).map((l) => l.groupId)).toEqual(['g']);
    expect(gc.list(['Empty']).map((l) => l.groupId)).toEqual(['s']);
    expect(await gc.deleteGroups(['g', 's', 'missing'])).toEqual([
      { groupId: 'g', errorCode: NON_EMPTY_GROUP },
      { groupId: 's', errorCode: 0 },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
  });

  it('answers waiting joins with COORDINATOR_NOT_AVAILABLE on close', async () => {
    const { gc } = setup();
    const j = gc.join(joinReq());
    await settle(10);
    gc.close();
    expect((await j).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
