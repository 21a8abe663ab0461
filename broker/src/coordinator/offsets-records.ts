/**
 * Key/value schema of the records Chronik writes to `__consumer_offsets`. Our own format (not
 * Kafka's binary one): UTF-8 JSON objects whose first field is `version`, so a later release can
 * read older records and tell newer ones apart. Keys are built with a fixed field order so the same
 * logical key is always the same bytes (compaction keeps the latest value per key bytes).
 *
 * Offset commit
 *   key   {"version":1,"type":"offset","group":G,"topic":T,"partition":P}
 *   value {"version":1,"offset":O,"leaderEpoch":E,"metadata":M,"commitTimestamp":C,"expireTimestamp":X}
 *         (leaderEpoch -1 = unknown; expireTimestamp -1 = broker retention applies)
 * Group metadata
 *   key   {"version":1,"type":"group","group":G}
 *   value {"version":1,"protocolType":PT|null,"generation":N,"protocol":P|null,"leader":L|null,
 *          "stateTimestamp":T,"members":[{"memberId","groupInstanceId","clientId","clientHost",
 *          "sessionTimeoutMs","rebalanceTimeoutMs","subscription"(base64),"assignment"(base64)}]}
 * Consumer group (KIP-848 rebalance protocol)
 *   key   {"version":1,"type":"consumer-group","group":G}
 *   value {"version":1,"groupEpoch":N}
 * Consumer group member (KIP-848): what a member subscribes to and holds, so that a new
 * coordinator after a failover takes the members over instead of fencing them
 *   key   {"version":1,"type":"consumer-member","group":G,"member":M}
 *   value {"version":1,"instanceId","rackId","clientId","clientHost","rebalanceTimeoutMs",
 *          "subscribedTopicNames":[...],"subscribedTopicRegex","serverAssignor","memberEpoch",
 *          "previousMemberEpoch","state","assigned":[{"topicId","partitions"}],"pendingRevocation":[...],
 *          "classic":null|{"sessionTimeoutMs","protocolName","protocols":[{"name","metadata"(base64)}]}}
 *         (classic: a classic-protocol member of the consumer group, after an online upgrade; absent
 *         in records written before, read as null)
 * A null value (tombstone) deletes the key: a deleted offset, or a deleted group.
 */

export const RECORD_SCHEMA_VERSION = 1;

export interface OffsetKey {
  readonly type: 'offset';
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

export interface GroupKey {
  readonly type: 'group';
  readonly group: string;
}

export interface ConsumerGroupKey {
  readonly type: 'consumer-group';
  readonly group: string;
}

export interface ConsumerMemberKey {
  readonly type: 'consumer-member';
  readonly group: string;
  readonly member: string;
}

export type CoordinatorKey = OffsetKey | GroupKey | ConsumerGroupKey | ConsumerMemberKey;

export interface StoredTopicPartitions {
  readonly topicId: string;
  readonly partitions: readonly number[];
}

export interface ConsumerMemberValue {
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: 'stable' | 'unrevoked' | 'unreleased';
  readonly assigned: readonly StoredTopicPartitions[];
  readonly pendingRevocation: readonly StoredTopicPartitions[];
  /** Set for a member of the classic protocol in a consumer group (after an online upgrade). */
  readonly classic: StoredClassicMember | null;
}

/** What a classic member of a consumer group needs beyond a consumer member's fields. */
export interface StoredClassicMember {
  readonly sessionTimeoutMs: number;
  /** The protocol its JoinGroup was answered with (SyncGroup checks it). */
  readonly protocolName: string;
  readonly protocols: ReadonlyArray<{ readonly name: string; readonly metadata: Buffer }>;
}

export interface ConsumerGroupValue {
  readonly groupEpoch: number;
}

export interface OffsetValue {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  readonly expireTimestamp: number;
}

export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupValue {
  readonly protocolType: string | null;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  readonly stateTimestamp: number;
  readonly members: readonly StoredMember[];
}

export function encodeKey(k: CoordinatorKey): Buffer {
  const obj =
    k.type === 'offset'
      ? { version: RECORD_SCHEMA_VERSION, type: 'offset', group: k.group, topic: k.topic, partition: k.partition }
      : k.type === 'consumer-member'
        ? { version: RECORD_SCHEMA_VERSION, type: k.type, group: k.group, member: k.member }
        : { version: RECORD_SCHEMA_VERSION, type: k.type, group: k.group };
  return Buffer.from(JSON.stringify(obj), 'utf8');
}

export function encodeOffsetValue(v: OffsetValue): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: RECORD_SCHEMA_VERSION,
      offset: v.offset,
      leaderEpoch: v.leaderEpoch,
      metadata: v.metadata,
      commitTimestamp: v.commitTimestamp,
      expireTimestamp: v.expireTimestamp,
    }),
    'utf8',
  );
}

export function encodeConsumerGroupValue(v: ConsumerGroupValue): Buffer {
  return Buffer.from(JSON.stringify({ version: RECORD_SCHEMA_VERSION, groupEpoch: v.groupEpoch }), 'utf8');
}

export function decodeConsumerGroupValue(buf: Buffer): ConsumerGroupValue {
  return { groupEpoch: int(parseObject(buf, 'consumer group value'), 'groupEpoch', 'consumer group value') };
}

export function encodeConsumerMemberValue(v: ConsumerMemberValue): Buffer {
  const classic =
    v.classic === null
      ? null
      : { ...v.classic, protocols: v.classic.protocols.map((p) => ({ name: p.name, metadata: p.metadata.toString('base64') })) };
  return Buffer.from(JSON.stringify({ version: RECORD_SCHEMA_VERSION, ...v, classic }), 'utf8');
}

/** A member record's `classic` field; records written before online migration have none. */
function storedClassic(o: Record<string, unknown>, what: string): StoredClassicMember | null {
  const c = o.classic;
  if (c === null || c === undefined) return null;
  const w = `${what}.classic`;
  if (typeof c !== 'object' || Array.isArray(c)) throw new CoordinatorRecordError(`${w} must be an object`);
  const co = c as Record<string, unknown>;
  const ps = co.protocols;
  if (!Array.isArray(ps)) throw new CoordinatorRecordError(`${w}.protocols must be an array`);
  return {
    sessionTimeoutMs: int(co, 'sessionTimeoutMs', w),
    protocolName: str(co, 'protocolName', w),
    protocols: ps.map((p: unknown, i) => {
      if (typeof p !== 'object' || p === null) throw new CoordinatorRecordError(`${w}.protocols[${i}] must be an object`);
      const po = p as Record<string, unknown>;
      return { name: str(po, 'name', `${w}.protocols[${i}]`), metadata: Buffer.from(str(po, 'metadata', `${w}.protocols[${i}]`), 'base64') };
    }),
  };
}

function topicPartitionsList(o: Record<string, unknown>, field: string, what: string): StoredTopicPartitions[] {
  const v = o[field];
  if (!Array.isArray(v)) throw new CoordinatorRecordError(`${what}.${field} must be an array`);
  return v.map((t: unknown, i) => {
    if (typeof t !== 'object' || t === null) throw new CoordinatorRecordError(`${what}.${field}[${i}] must be an object`);
    const to = t as Record<string, unknown>;
    const ps = to.partitions;
    if (!Array.isArray(ps) || !ps.every((p) => Number.isSafeInteger(p))) throw new CoordinatorRecordError(`${what}.${field}[${i}].partitions must be integers`);
    return { topicId: str(to, 'topicId', `${what}.${field}[${i}]`), partitions: ps as number[] };
  });
}

export function decodeConsumerMemberValue(buf: Buffer): ConsumerMemberValue {
  const w = 'consumer member value';
  const o = parseObject(buf, w);
  const names = o.subscribedTopicNames;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new CoordinatorRecordError(`${w}.subscribedTopicNames must be strings`);
  const state = o.state;
  if (state !== 'stable' && state !== 'unrevoked' && state !== 'unreleased') throw new CoordinatorRecordError(`${w}.state ${String(state)} is unknown`);
  return {
    instanceId: nullableStr(o, 'instanceId', w),
    rackId: nullableStr(o, 'rackId', w),
    clientId: str(o, 'clientId', w),
    clientHost: str(o, 'clientHost', w),
    rebalanceTimeoutMs: int(o, 'rebalanceTimeoutMs', w),
    subscribedTopicNames: names as string[],
    subscribedTopicRegex: nullableStr(o, 'subscribedTopicRegex', w),
    serverAssignor: nullableStr(o, 'serverAssignor', w),
    memberEpoch: int(o, 'memberEpoch', w),
    previousMemberEpoch: int(o, 'previousMemberEpoch', w),
    state,
    assigned: topicPartitionsList(o, 'assigned', w),
    pendingRevocation: topicPartitionsList(o, 'pendingRevocation', w),
    classic: storedClassic(o, w),
  };
}

export function encodeGroupValue(v: GroupValue): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: RECORD_SCHEMA_VERSION,
      protocolType: v.protocolType,
      generation: v.generation,
      protocol: v.protocol,
      leader: v.leader,
      stateTimestamp: v.stateTimestamp,
      members: v.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        subscription: m.subscription.toString('base64'),
        assignment: m.assignment.toString('base64'),
      })),
    }),
    'utf8',
  );
}

/** A record we cannot read; replay logs it and skips it rather than refusing to start. */
export class CoordinatorRecordError extends Error {
  override readonly name = 'CoordinatorRecordError';
}

function parseObject(buf: Buffer, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new CoordinatorRecordError(`${what} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CoordinatorRecordError(`${what} is not an object`);
  const obj = parsed as Record<string, unknown>;
  if (obj.version !== RECORD_SCHEMA_VERSION) throw new CoordinatorRecordError(`${what} has unsupported version ${String(obj.version)}`);
  return obj;
}

function str(o: Record<string, unknown>, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw new CoordinatorRecordError(`${what}.${field} must be a string`);
  return v;
}

function nullableStr(o: Record<string, unknown>, field: string, what: string): string | null {
  const v = o[field];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new CoordinatorRecordError(`${what}.${field} must be a string or null`);
  return v;
}

function int(o: Record<string, unknown>, field: string, what: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new CoordinatorRecordError(`${what}.${field} must be an integer`);
  return v;
}

export function decodeKey(buf: Buffer): CoordinatorKey {
  const o = parseObject(buf, 'key');
  if (o.type === 'offset') return { type: 'offset', group: str(o, 'group', 'key'), topic: str(o, 'topic', 'key'), partition: int(o, 'partition', 'key') };
  if (o.type === 'group') return { type: 'group', group: str(o, 'group', 'key') };
  if (o.type === 'consumer-group') return { type: 'consumer-group', group: str(o, 'group', 'key') };
  if (o.type === 'consumer-member') return { type: 'consumer-member', group: str(o, 'group', 'key'), member: str(o, 'member', 'key') };
  throw new CoordinatorRecordError(`key.type ${String(o.type)} is unknown`);
}

export function decodeOffsetValue(buf: Buffer): OffsetValue {
  const o = parseObject(buf, 'offset value');
  const w = 'offset value';
  return {
    offset: int(o, 'offset', w),
    leaderEpoch: int(o, 'leaderEpoch', w),
    metadata: str(o, 'metadata', w),
    commitTimestamp: int(o, 'commitTimestamp', w),
    expireTimestamp: int(o, 'expireTimestamp', w),
  };
}

export function decodeGroupValue(buf: Buffer): GroupValue {
  const o = parseObject(buf, 'group value');
  const w = 'group value';
  const rawMembers = o.members;
  if (!Array.isArray(rawMembers)) throw new CoordinatorRecordError(`${w}.members must be an array`);
  const members = rawMembers.map((m: unknown, i): StoredMember => {
    if (typeof m !== 'object' || m === null) throw new CoordinatorRecordError(`${w}.members[${i}] must be an object`);
    const mo = m as Record<string, unknown>;
    const mw = `${w}.members[${i}]`;
    return {
      memberId: str(mo, 'memberId', mw),
      groupInstanceId: nullableStr(mo, 'groupInstanceId', mw),
      clientId: str(mo, 'clientId', mw),
      clientHost: str(mo, 'clientHost', mw),
      sessionTimeoutMs: int(mo, 'sessionTimeoutMs', mw),
      rebalanceTimeoutMs: int(mo, 'rebalanceTimeoutMs', mw),
      subscription: Buffer.from(str(mo, 'subscription', mw), 'base64'),
      assignment: Buffer.from(str(mo, 'assignment', mw), 'base64'),
    };
  });
  return {
    protocolType: nullableStr(o, 'protocolType', w),
    generation: int(o, 'generation', w),
    protocol: nullableStr(o, 'protocol', w),
    leader: nullableStr(o, 'leader', w),
    stateTimestamp: int(o, 'stateTimestamp', w),
    members,
  };
}
