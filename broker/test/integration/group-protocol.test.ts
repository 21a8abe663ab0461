/**
 * The group and offset APIs at the wire level against a real broker process: exact error codes
 * per version, static membership, session expiry, offsets and admin calls, and state that
 * survives a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/kafka/protocol/errors.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/index.js';
import { RawKafkaClient as Wire, type RawBody } from '../helpers/raw-kafka-client.js';

type Body = RawBody;

const API = { offsetCommit: 8, offsetFetch: 9, findCoordinator: 10, join: 11, heartbeat: 12, leave: 13, sync: 14, describe: 15, list: 16, deleteGroups: 42, offsetDelete: 47 };

let broker: BrokerProcess;
const wires: Wire[] = [];

async function wire(): Promise<Wire> {
  const w = await Wire.open(broker.kafkaPort, 'wire-test');
  wires.push(w);
  return w;
}

const protocols = (meta = 'm') => [{ name: 'range', metadata: Buffer.from(meta) }];

function joinBody(groupId: string, over: Body = {}): Body {
  return { groupId, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 5000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: protocols(), reason: null, ...over };
}

/** Joins one dynamic member (v9: MEMBER_ID_REQUIRED first) and syncs it; returns id and generation. */
async function joinAlone(w: Wire, groupId: string, over: Body = {}): Promise<{ memberId: string; generationId: number }> {
  const first = await w.call(API.join, 9, joinBody(groupId, over));
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  const joined = await w.call(API.join, 9, joinBody(groupId, { ...over, memberId: first.memberId }));
  expect(joined.errorCode).toBe(ErrorCode.NONE);
  const synced = await w.call(API.sync, 5, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: over.groupInstanceId ?? null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('all') }],
  });
  expect(synced).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' });
  expect(Buffer.from(synced.assignment).toString()).toBe('all');
  return { memberId: joined.memberId, generationId: joined.generationId };
}

beforeAll(async () => {
  broker = await startBrokerProcess({
    args: [
      '--config', 'group.initial.rebalance.delay.ms=50',
      '--config', 'group.min.session.timeout.ms=500',
      '--config', 'offsets.topic.num.partitions=4',
      '--config', 'offset.metadata.max.bytes=16',
      '--config', 'num.partitions=2',
    ],
  });
}, 60_000);

afterAll(async () => {
  for (const w of wires) w.close();
  await broker?.stop();
});

describe('FindCoordinator', () => {
  it('names this broker for groups and transactional ids, single (v0-3) and batched (v4+)', async () => {
    const w = await wire();
    const v0 = await w.call(API.findCoordinator, 0, { key: 'g' });
    expect(v0).toMatchObject({ errorCode: 0, host: '127.0.0.1', port: broker.kafkaPort });
    const v3 = await w.call(API.findCoordinator, 3, { key: 'tx', keyType: 1 });
    expect(v3).toMatchObject({ errorCode: 0, port: broker.kafkaPort });
    const v4 = await w.call(API.findCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators.map((c: Body) => [c.key, c.errorCode, c.port])).toEqual([
      ['a', 0, broker.kafkaPort],
      ['b', 0, broker.kafkaPort],
    ]);
    const bad = await w.call(API.findCoordinator, 4, { keyType: 7, coordinatorKeys: ['a'] });
    expect(bad.coordinators[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('JoinGroup / SyncGroup / Heartbeat / LeaveGroup', () => {
  it('answers with the documented error codes', async () => {
    const w = await wire();
    const g = 'errors';
    const { memberId, generationId } = await joinAlone(w, g);
    expect(generationId).toBe(1);
    const hb = (over: Body) => w.call(API.heartbeat, 4, { groupId: g, generationId, memberId, groupInstanceId: null, ...over });
    expect((await hb({})).errorCode).toBe(ErrorCode.NONE);
    expect((await hb({ generationId: 9 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await hb({ memberId: 'stranger' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const other = await w.call(API.join, 9, joinBody(g, { protocolType: 'connect' }));
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noCommon = await w.call(API.join, 9, joinBody(g, { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }));
    expect(noCommon.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const badSession = await w.call(API.join, 9, joinBody(g, { sessionTimeoutMs: 10 }));
    expect(badSession.errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    const badSync = await w.call(API.sync, 5, { groupId: g, generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
    expect(badSync.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // v3 (pre-KIP-394) joins without member id are accepted at once.
    const w2 = await wire();
    const old = w2.call(API.join, 3, joinBody(g));
    // The Stable group rebalances: the first member's heartbeat says so, and it rejoins.
    await expect.poll(async () => (await hb({})).errorCode, { timeout: 5000 }).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await w.call(API.join, 9, joinBody(g, { memberId }));
    const joined = await old;
    expect(joined.errorCode).toBe(0);
    expect(rejoin.generationId).toBe(2);
    expect(joined.generationId).toBe(2);
    expect(rejoin.leader).toBe(memberId);
    expect(rejoin.members).toHaveLength(2);
    // LeaveGroup v0 (single member) and v3+ (batch with per-member errors).
    const left = await w2.call(API.leave, 0, { groupId: g, memberId: joined.memberId });
    expect(left.errorCode).toBe(0);
    const batch = await w.call(API.leave, 5, { groupId: g, members: [{ memberId, groupInstanceId: null, reason: 'test' }, { memberId: 'ghost', groupInstanceId: null, reason: null }] });
    expect(batch.members.map((m: Body) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    const d = await w.call(API.describe, 5, { groups: [g], includeAuthorizedOperations: false });
    expect(d.groups[0]).toMatchObject({ groupState: 'Empty', members: [] });
  });

  it('static membership: a restarted member with the same instance id takes over without a rebalance; the old id is fenced', async () => {
    const g = 'static';
    const w1 = await wire();
    const w2 = await wire();
    const j1 = w1.call(API.join, 9, joinBody(g, { groupInstanceId: 'host-1' }));
    const j2 = w2.call(API.join, 9, joinBody(g, { groupInstanceId: 'host-2' }));
    const [r1, r2] = await Promise.all([j1, j2]);
    // Static members never get MEMBER_ID_REQUIRED.
    expect([r1.errorCode, r2.errorCode]).toEqual([0, 0]);
    const leader = r1.leader === r1.memberId ? r1 : r2;
    expect(leader.members.map((m: Body) => m.groupInstanceId).sort()).toEqual(['host-1', 'host-2']);
    const syncBody = (r: Body, inst: string, assignments: Body[]) => ({ groupId: g, generationId: r.generationId, memberId: r.memberId, groupInstanceId: inst, protocolType: 'consumer', protocolName: 'range', assignments });
    const assignments = [
      { memberId: r1.memberId, assignment: Buffer.from('p0') },
      { memberId: r2.memberId, assignment: Buffer.from('p1') },
    ];
    const [s1, s2] = await Promise.all([
      w1.call(API.sync, 5, syncBody(r1, 'host-1', leader === r1 ? assignments : [])),
      w2.call(API.sync, 5, syncBody(r2, 'host-2', leader === r2 ? assignments : [])),
    ]);
    expect(Buffer.from(s1.assignment).toString()).toBe('p0');
    expect(Buffer.from(s2.assignment).toString()).toBe('p1');

    // host-2 "restarts": new connection, no member id, same instance id and metadata.
    w2.close();
    const w3 = await wire();
    const again = await w3.call(API.join, 9, joinBody(g, { groupInstanceId: 'host-2' }));
    expect(again.errorCode).toBe(0);
    expect(again.memberId).not.toBe(r2.memberId);
    expect(again.generationId).toBe(r2.generationId);
    const s3 = await w3.call(API.sync, 5, syncBody(again, 'host-2', []));
    expect(Buffer.from(s3.assignment).toString()).toBe('p1');
    // No rebalance for host-1, and the old incarnation is fenced.
    expect((await w1.call(API.heartbeat, 4, { groupId: g, generationId: r1.generationId, memberId: r1.memberId, groupInstanceId: 'host-1' })).errorCode).toBe(0);
    expect((await w3.call(API.heartbeat, 4, { groupId: g, generationId: r2.generationId, memberId: r2.memberId, groupInstanceId: 'host-2' })).errorCode).toBe(
      ErrorCode.FENCED_INSTANCE_ID,
    );
    const d = await w1.call(API.describe, 5, { groups: [g], includeAuthorizedOperations: true });
    expect(d.groups[0].groupState).toBe('Stable');
    expect(d.groups[0].members.map((m: Body) => m.groupInstanceId).sort()).toEqual(['host-1', 'host-2']);
    expect(d.groups[0].authorizedOperations).toBeGreaterThan(0);
    // Leaving by instance id (KIP-345 admin removal) with the wrong member id is fenced too.
    const fenced = await w1.call(API.leave, 4, { groupId: g, members: [{ memberId: r2.memberId, groupInstanceId: 'host-2' }] });
    expect(fenced.members[0].errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  it('expires a member that stops heartbeating and rebalances the group', async () => {
    const g = 'expiry';
    const w = await wire();
    const silent = await wire();
    const a = await joinAlone(w, g, { sessionTimeoutMs: 5000 });
    // The silent member joins with a short session and then never heartbeats again.
    const sJoin = silent.call(API.join, 9, joinBody(g, { memberId: (await silent.call(API.join, 9, joinBody(g, { sessionTimeoutMs: 800 }))).memberId, sessionTimeoutMs: 800 }));
    await expect.poll(async () => (await w.call(API.heartbeat, 4, { groupId: g, generationId: a.generationId, memberId: a.memberId, groupInstanceId: null })).errorCode).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const rejoin = await w.call(API.join, 9, joinBody(g, { memberId: a.memberId, sessionTimeoutMs: 5000 }));
    const s = await sJoin;
    expect(rejoin.members).toHaveLength(2);
    await w.call(API.sync, 5, { groupId: g, generationId: rejoin.generationId, memberId: a.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(s.generationId).toBe(rejoin.generationId);
    // Now the silent member's session runs out: the survivor is told to rebalance, and the next
    // generation has only it.
    const started = Date.now();
    await expect
      .poll(async () => (await w.call(API.heartbeat, 4, { groupId: g, generationId: rejoin.generationId, memberId: a.memberId, groupInstanceId: null })).errorCode, { timeout: 5000 })
      .toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(Date.now() - started).toBeLessThan(5000);
    const alone = await w.call(API.join, 9, joinBody(g, { memberId: a.memberId, sessionTimeoutMs: 5000 }));
    expect(alone.members.map((m: Body) => m.memberId)).toEqual([a.memberId]);
  });
});

describe('offsets and admin', () => {
  it('commits and fetches offsets in every request shape, with per-partition errors', async () => {
    const w = await wire();
    const g = 'offsets';
    const topic = 'offsets-topic';
    // Auto-create the topic through Metadata-free means: a simple commit on an unknown topic fails first.
    const unknown = await w.call(API.offsetCommit, 2, { groupId: g, generationIdOrMemberEpoch: -1, memberId: '', retentionTimeMs: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }] });
    expect(unknown.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await w.call(19, 4, { topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });

    const commit = await w.call(API.offsetCommit, 8, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: topic,
          partitions: [
            { partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: 0, committedMetadata: 'meta' },
            { partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: 'x'.repeat(17) },
            { partitionIndex: 9, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    expect(commit.topics[0].partitions.map((p: Body) => p.errorCode)).toEqual([0, ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

    const v1 = await w.call(API.offsetFetch, 1, { groupId: g, topics: [{ name: topic, partitionIndexes: [0, 1] }] });
    expect(v1.topics[0].partitions.map((p: Body) => [p.partitionIndex, p.committedOffset, p.metadata])).toEqual([
      [0, 5, 'meta'],
      [1, -1, ''],
    ]);
    const v7all = await w.call(API.offsetFetch, 7, { groupId: g, topics: null, requireStable: true });
    expect(v7all.errorCode).toBe(0);
    expect(v7all.topics[0].partitions).toEqual([{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: 0, metadata: 'meta', errorCode: 0 }]);
    const v8 = await w.call(API.offsetFetch, 8, {
      groups: [
        { groupId: g, topics: [{ name: topic, partitionIndexes: [0] }] },
        { groupId: 'nobody', topics: null },
      ],
      requireStable: false,
    });
    expect(v8.groups.map((x: Body) => [x.groupId, x.errorCode, x.topics.length])).toEqual([
      [g, 0, 1],
      ['nobody', 0, 0],
    ]);
    expect(v8.groups[0].topics[0].partitions[0].committedOffset).toBe(5);

    // A group commit with a generation for a group that does not exist.
    const stale = await w.call(API.offsetCommit, 8, { groupId: 'ghost-group', generationIdOrMemberEpoch: 3, memberId: 'm', groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    expect(stale.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('OffsetDelete, ListGroups and DeleteGroups follow group state', async () => {
    const w = await wire();
    const g = 'admin-group';
    const topic = 'admin-topic';
    await w.call(19, 4, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    // A consumer-protocol subscription to `topic` (version 0: topics, then null user data).
    const sub = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1, 0, topic.length]), Buffer.from(topic), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
    const m = await joinAlone(w, g, { protocols: [{ name: 'range', metadata: sub }] });
    const c = await w.call(API.offsetCommit, 8, { groupId: g, generationIdOrMemberEpoch: m.generationId, memberId: m.memberId, groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 3, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    expect(c.topics[0].partitions[0].errorCode).toBe(0);
    const del = await w.call(API.offsetDelete, 0, { groupId: g, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
    expect(del.errorCode).toBe(0);
    expect(del.topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    const missing = await w.call(API.offsetDelete, 0, { groupId: 'no-such-group', topics: [] });
    expect(missing.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);

    const stable = await w.call(API.list, 4, { statesFilter: ['Stable'] });
    expect(stable.groups.map((x: Body) => x.groupId)).toContain(g);
    expect(stable.groups.every((x: Body) => x.groupState === 'Stable')).toBe(true);
    const v5 = await w.call(API.list, 5, { statesFilter: [], typesFilter: ['consumer'] });
    expect(v5.groups).toEqual([]);

    const notEmpty = await w.call(API.deleteGroups, 2, { groupsNames: [g, 'never-existed'] });
    expect(notEmpty.results).toEqual([
      { groupId: g, errorCode: 68 /* NON_EMPTY_GROUP */ },
      { groupId: 'never-existed', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    await w.call(API.leave, 4, { groupId: g, members: [{ memberId: m.memberId, groupInstanceId: null }] });
    const ok = await w.call(API.offsetDelete, 0, { groupId: g, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
    expect(ok.topics[0].partitions[0].errorCode).toBe(0);
    const deleted = await w.call(API.deleteGroups, 2, { groupsNames: [g] });
    expect(deleted.results[0].errorCode).toBe(0);
    const d = await w.call(API.describe, 5, { groups: [g], includeAuthorizedOperations: false });
    expect(d.groups[0].groupState).toBe('Dead');
  });

  it('keeps groups and offsets across a restart: groups come back Empty with their generation', async () => {
    const w = await wire();
    const g = 'durable';
    const topic = 'durable-topic';
    await w.call(19, 4, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const m = await joinAlone(w, g);
    await w.call(API.offsetCommit, 8, { groupId: g, generationIdOrMemberEpoch: m.generationId, memberId: m.memberId, groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: 'before' }] }] });
    // SIGKILL: only what was fsynced before the answers may survive, and that must be enough.
    for (const x of wires.splice(0)) x.close();
    await broker.kill();
    await broker.restart();
    const w2 = await wire();
    const f = await w2.call(API.offsetFetch, 5, { groupId: g, topics: [{ name: topic, partitionIndexes: [0] }] });
    expect(f.topics[0].partitions[0]).toMatchObject({ committedOffset: 42, metadata: 'before' });
    const d = await w2.call(API.describe, 5, { groups: [g], includeAuthorizedOperations: false });
    expect(d.groups[0]).toMatchObject({ groupState: 'Empty', protocolType: 'consumer', members: [] });
    // The old member is gone; a new one starts the next generation.
    expect((await w2.call(API.heartbeat, 4, { groupId: g, generationId: m.generationId, memberId: m.memberId, groupInstanceId: null })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await joinAlone(w2, g);
    expect(again.generationId).toBe(m.generationId + 1);
  }, 60_000);
});
