/**
 * Fetch (1): reads record batches for consumers. Long polls (maxWaitMs / minBytes) wait on the
 * partitions' high-watermark events, never on a timer loop, and end early when the connection
 * closes. The byte budget (maxBytes, partitionMaxBytes) is handed out in request order, in whole
 * batches, and the first batch is always returned whole so a consumer gets past a large one.
 * Fetch sessions (KIP-227) are not kept: every answer carries sessionId 0, so clients send full
 * fetches.
 *
 * Transactions: read_committed (isolationLevel 1) reads up to the last stable offset, long-polls
 * on it, and each partition's answer lists the aborted transactions (producer id, first offset)
 * that overlap the batches returned, so the client drops their records; read_uncommitted reads
 * to the high watermark and gets null there. Markers are returned like any control batch.
 *
 * Versions: from the first that carries the isolation level and the last stable offset; v13+
 * names topics by id.
 *
 * Errors: FETCH_SESSION_ID_NOT_FOUND (70) for a request naming a session; per partition
 * UNKNOWN_TOPIC_OR_PARTITION (3), UNKNOWN_TOPIC_ID (100), NOT_LEADER_OR_FOLLOWER (6),
 * FENCED_LEADER_EPOCH (74), UNKNOWN_LEADER_EPOCH (76), OFFSET_OUT_OF_RANGE (1).
 */
import type { DataPartition, IsolationLevel } from '../../replication/types.js';
import { ErrorCode } from '../protocol/errors.js';
import { FetchRequest, FetchResponse, type BodyOf, type ElementOf, type ResponseBodyOf } from '../protocol/messages/index.js';
import { LOG_OVERHEAD, readInt64 } from '../protocol/records.js';
import { ZERO_UUID } from '../protocol/schema.js';
import { defineApi, type ApiServices } from './api.js';
import { errorOutcome, leaderEpochError } from './data-common.js';

type Request = BodyOf<typeof FetchRequest>;
type FetchPartitionRequest = ElementOf<ElementOf<Request['topics']>['partitions']>;
type Response = ResponseBodyOf<typeof FetchResponse>;
type FetchTopicResponse = ElementOf<Response['responses']>;
type FetchPartitionResponse = ElementOf<FetchTopicResponse['partitions']>;

const EMPTY: Buffer = Buffer.alloc(0);
const FETCH_MAX_BYTES_DEFAULT = 52_428_800;

/**
 * Cuts `records` to the whole batches that fit in `limit`. With `minOne` the first batch is
 * kept even if larger, so a consumer can always make progress past a big batch.
 */
export function trimToWholeBatches(records: Buffer, limit: number, minOne: boolean): Buffer {
  let end = 0;
  while (end + LOG_OVERHEAD <= records.length) {
    const size = records.readInt32BE(end + 8) + LOG_OVERHEAD;
    if (end + size > records.length) break;
    if (end + size > limit && !(minOne && end === 0)) break;
    end += size;
  }
  return end === records.length ? records : records.subarray(0, end);
}

/** Offset after the last of the whole batches in `records`. */
function nextOffsetOf(records: Buffer): number {
  let pos = 0;
  let next = -1;
  while (pos + LOG_OVERHEAD <= records.length) {
    const size = records.readInt32BE(pos + 8) + LOG_OVERHEAD;
    if (pos + size > records.length) break;
    next = readInt64(records, pos) + records.readInt32BE(pos + 23) + 1;
    pos += size;
  }
  return next;
}

/** One partition slot of the request, resolved once and re-read on every long-poll round. */
interface Slot {
  readonly req: FetchPartitionRequest;
  readonly partition: DataPartition | undefined;
  /** Error decided before reading (unknown topic/partition, epoch), fixed for the request. */
  readonly fixedError: { code: number; message: string } | null;
}

export const fetchApi = defineApi({
  name: 'Fetch',
  request: FetchRequest,
  response: FetchResponse,
  versions: { min: 4, max: 17 },
  create: ({ cluster, logger }: Pick<ApiServices, 'cluster' | 'logger'>) => {
    function resolveSlots(req: Request, byId: boolean): { topic: string; topicId: string; slots: Slot[] }[] {
      return req.topics.map((t) => {
        const info = byId ? cluster.topicById(t.topicId) : cluster.topic(t.topic);
        const name = info?.name ?? t.topic;
        const slots = t.partitions.map((p): Slot => {
          if (!info) {
            return byId
              ? { req: p, partition: undefined, fixedError: { code: ErrorCode.UNKNOWN_TOPIC_ID, message: `Unknown topic id ${t.topicId}` } }
              : {
                  req: p,
                  partition: undefined,
                  fixedError: { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `Unknown topic '${t.topic}'` },
                };
          }
          const partition = cluster.partition(info.name, p.partition);
          if (!partition) {
            return {
              req: p,
              partition,
              fixedError: { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `Unknown partition ${info.name}-${p.partition}` },
            };
          }
          if (!partition.isLeader()) {
            return {
              req: p,
              partition,
              fixedError: { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: `Not the leader of ${info.name}-${p.partition}` },
            };
          }
          return { req: p, partition, fixedError: leaderEpochError(p.currentLeaderEpoch, partition.leaderEpoch()) };
        });
        return { topic: byId ? name : t.topic, topicId: info?.topicId ?? t.topicId ?? ZERO_UUID, slots };
      });
    }

    function errorResponse(index: number, code: number, p: DataPartition | undefined): FetchPartitionResponse {
      return {
        partitionIndex: index,
        errorCode: code,
        highWatermark: p ? p.highWatermark() : -1,
        lastStableOffset: p ? p.lastStableOffset() : -1,
        logStartOffset: p ? p.logStartOffset() : -1,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: EMPTY,
      };
    }

    interface Round {
      responses: FetchTopicResponse[];
      bytes: number;
      anyError: boolean;
      /** Offsets to wait beyond, per readable partition. */
      waits: { partition: DataPartition; offset: number; isolation: IsolationLevel }[];
    }

    async function readRound(
      topics: { topic: string; topicId: string; slots: Slot[] }[],
      isolation: IsolationLevel,
      maxBytes: number,
    ): Promise<Round> {
      let remaining = maxBytes;
      let bytes = 0;
      let anyError = false;
      let haveData = false;
      const waits: Round['waits'] = [];
      const responses: FetchTopicResponse[] = [];
      // Sequential on purpose: the byte budget is handed out in request order.
      for (const t of topics) {
        const partitions: FetchPartitionResponse[] = [];
        for (const s of t.slots) {
          const p = s.partition;
          if (s.fixedError || !p) {
            anyError = true;
            partitions.push(errorResponse(s.req.partition, s.fixedError?.code ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, p));
            continue;
          }
          try {
            const hwm = p.highWatermark();
            const lso = p.lastStableOffset();
            const limit = Math.min(Math.max(s.req.partitionMaxBytes, 0), Math.max(remaining, 0));
            let records: Buffer = EMPTY;
            let aborted: FetchPartitionResponse['abortedTransactions'] = isolation === 1 ? [] : null;
            if (limit > 0 || !haveData) {
              const r = await p.read(s.req.fetchOffset, Math.max(limit, 1), isolation);
              records = trimToWholeBatches(r.records, limit, !haveData);
              if (isolation === 1 && records.length > 0) aborted = p.abortedTransactions(s.req.fetchOffset, nextOffsetOf(records));
            }
            if (records.length > 0) haveData = true;
            remaining -= records.length;
            bytes += records.length;
            waits.push({ partition: p, offset: Math.max(s.req.fetchOffset, isolation === 1 ? lso : hwm), isolation });
            partitions.push({
              partitionIndex: s.req.partition,
              errorCode: ErrorCode.NONE,
              highWatermark: hwm,
              lastStableOffset: lso,
              logStartOffset: p.logStartOffset(),
              abortedTransactions: aborted,
              preferredReadReplica: -1,
              records,
            });
          } catch (err) {
            anyError = true;
            const e = errorOutcome(err, logger, `Fetch from ${t.topic}-${s.req.partition}`);
            partitions.push(errorResponse(s.req.partition, e.code, p));
          }
        }
        responses.push({ topic: t.topic, topicId: t.topicId, partitions });
      }
      return { responses, bytes, anyError, waits };
    }

    /** Resolves when any partition's committed data moves past what the last round saw. */
    async function waitAny(waits: Round['waits'], timeoutMs: number, signal: AbortSignal): Promise<void> {
      if (waits.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
          signal.addEventListener('abort', done, { once: true });
        });
        return;
      }
      // One signal per partition: a single shared one would carry a listener per waiting
      // partition (the MaxListenersExceededWarning of consumers of many partitions).
      const stops = waits.map(() => new AbortController());
      const stopAll = (): void => {
        for (const stop of stops) stop.abort();
      };
      signal.addEventListener('abort', stopAll, { once: true });
      try {
        await Promise.race(waits.map((w, i) => w.partition.waitForData(w.offset, timeoutMs, (stops[i] as AbortController).signal, w.isolation)));
      } finally {
        signal.removeEventListener('abort', stopAll);
        stopAll(); // releases the waiters still parked on the other partitions
      }
    }

    return async (req, ctx) => {
      const byId = ctx.apiVersion >= 13;
      if (req.sessionId !== 0) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
      }
      const isolation: IsolationLevel = req.isolationLevel === 1 ? 1 : 0;
      const maxBytes = req.maxBytes > 0 ? req.maxBytes : FETCH_MAX_BYTES_DEFAULT;
      const topics = resolveSlots(req, byId);
      const deadline = Date.now() + Math.max(0, req.maxWaitMs);

      let round = await readRound(topics, isolation, maxBytes);
      while (round.bytes < req.minBytes && !round.anyError && !ctx.signal.aborted) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await waitAny(round.waits, left, ctx.signal);
        round = await readRound(topics, isolation, maxBytes);
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: round.responses };
    };
  },
});
