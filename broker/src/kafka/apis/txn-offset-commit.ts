/**
 * TxnOffsetCommit (28): consumer offsets committed as part of a producer's transaction, at the
 * group's coordinator. They are stored at once (a transactional batch in `__consumer_offsets`)
 * but take effect only when the transaction commits, and go if it aborts; meanwhile OffsetFetch
 * with requireStable answers UNSTABLE_OFFSET_COMMIT for them. The group's partition must be in
 * the transaction (AddOffsetsToTxn first): that is verified with the transaction coordinator.
 *
 * Versions: v2+ carry each offset's leader epoch; v3+ the member id, generation and instance id,
 * which are then checked like OffsetCommit's. v4+ know TRANSACTION_ABORTABLE.
 *
 * Errors, per partition: INVALID_GROUP_ID (24), NOT_COORDINATOR (16), COORDINATOR_LOAD_IN_PROGRESS
 * (14), UNKNOWN_MEMBER_ID (25), ILLEGAL_GENERATION (22), FENCED_INSTANCE_ID (82),
 * UNKNOWN_TOPIC_OR_PARTITION (3), OFFSET_METADATA_TOO_LARGE (12), INVALID_PRODUCER_ID_MAPPING
 * (49), PRODUCER_FENCED (90; INVALID_PRODUCER_EPOCH before v3), TRANSACTION_ABORTABLE (120) when
 * the group's partition is not in the transaction.
 */
import { OFFSETS_TOPIC, partitionForKey } from '../../coordinator/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../protocol/messages/index.js';
import { defineApi, type ApiServices } from './api.js';
import { byTopic } from './group-common.js';
import { txnErrorFor } from './txn-common.js';

export const txnOffsetCommitApi = defineApi({
  name: 'TxnOffsetCommit',
  request: TxnOffsetCommitRequest,
  response: TxnOffsetCommitResponse,
  versions: { min: 0, max: 4 },
  create: ({ offsets, verifyTransaction, cluster }: Pick<ApiServices, 'offsets' | 'verifyTransaction' | 'cluster'>) => async (req, ctx) => {
    const v = ctx.apiVersion;
    const partitions = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })),
    );
    const answer = (errs: ReadonlyArray<{ topic: string; partition: number; errorCode: number }>) => ({
      throttleTimeMs: 0,
      topics: byTopic(errs, (e) => ({ partitionIndex: e.partition, errorCode: txnErrorFor(e.errorCode, v, 3, 4) })),
    });
    if (req.transactionalId === '') return answer(partitions.map((p) => ({ ...p, errorCode: ErrorCode.INVALID_REQUEST })));
    const offsetsPartitions = cluster.topic(OFFSETS_TOPIC)?.partitions;
    if (offsetsPartitions !== undefined && req.groupId !== '') {
      const refused = await verifyTransaction(req.transactionalId, req.producerId, req.producerEpoch, OFFSETS_TOPIC, partitionForKey(req.groupId, offsetsPartitions));
      if (refused !== null) {
        const code = refused.code === ErrorCode.NOT_ENOUGH_REPLICAS ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : refused.code;
        return answer(partitions.map((p) => ({ ...p, errorCode: code })));
      }
    }
    const errors = await offsets.commitTxnOffsets({
      transactionalId: req.transactionalId,
      groupId: req.groupId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      partitions,
    });
    return answer(errors);
  },
});
