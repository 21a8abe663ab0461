/**
 * Writes a transaction's markers to every partition of it, each through the partition's current
 * leader (a `txn.markers` request, or a local call when that is this broker), and retries until
 * each is written: a leader change, a timeout or a broker down only delays the transaction's
 * completion, never skips a partition. A partition that no longer exists (its topic was deleted)
 * needs no marker. A partition answering INVALID_PRODUCER_EPOCH already has a marker of a newer
 * epoch, which ended this transaction there too. The sending stops when `active()` turns false
 * (this broker stopped coordinating the transaction: the new coordinator sends them again).
 */
import { ErrorCode } from '../kafka/protocol/errors.js';
import type { CoordinatorLogger } from './group-types.js';
import type { MarkerResult, MarkerWrite } from './txn-peer-protocol.js';
import type { TopicPartitionRef } from './txn-records.js';

export interface MarkerSenderOptions {
  /** Node id of the partition's leader, or -1 while it has none. */
  readonly leaderOf: (topic: string, partition: number) => number;
  readonly partitionExists: (topic: string, partition: number) => boolean;
  /** Sends markers to broker `nodeId` (this broker included); one result per partition. */
  readonly deliver: (nodeId: number, markers: readonly MarkerWrite[]) => Promise<MarkerResult[]>;
  readonly logger: CoordinatorLogger;
  /** Delay between rounds for partitions still without their marker. */
  readonly retryMs?: number;
}

const DEFAULT_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;
const key = (p: TopicPartitionRef): string => `${p.topic}\u0000${p.partition}`;

/** Codes after which the marker for a partition needs no further attempt. */
function finished(code: number): boolean {
  return code === ErrorCode.NONE || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.INVALID_PRODUCER_EPOCH;
}

export class TxnMarkerSender {
  private closed = false;

  constructor(private readonly opts: MarkerSenderOptions) {}

  /**
   * Resolves true once every partition has the marker, false if the sending stopped first
   * (`active()` false, or the coordinator was fenced by a newer one).
   */
  async write(marker: Omit<MarkerWrite, 'partitions'>, partitions: readonly TopicPartitionRef[], active: () => boolean): Promise<boolean> {
    const left = new Map(partitions.map((p) => [key(p), p]));
    let delay = this.opts.retryMs ?? DEFAULT_RETRY_MS;
    for (let round = 0; left.size > 0; round++) {
      if (this.closed || !active()) return false;
      const byLeader = new Map<number, TopicPartitionRef[]>();
      for (const [k, p] of left) {
        if (!this.opts.partitionExists(p.topic, p.partition)) {
          left.delete(k);
          continue;
        }
        const leader = this.opts.leaderOf(p.topic, p.partition);
        if (leader < 0) continue;
        const list = byLeader.get(leader) ?? [];
        list.push(p);
        byLeader.set(leader, list);
      }
      let fenced = false;
      await Promise.all(
        [...byLeader].map(async ([nodeId, ps]) => {
          let results: MarkerResult[];
          try {
            results = await this.opts.deliver(nodeId, [{ ...marker, partitions: ps }]);
          } catch (err) {
            if (round > 0) this.opts.logger.debug({ nodeId, err: err instanceof Error ? err.message : String(err) }, 'transaction markers not delivered; retrying');
            return;
          }
          for (const r of results) {
            if (r.code === ErrorCode.TRANSACTION_COORDINATOR_FENCED) fenced = true;
            if (r.code === ErrorCode.INVALID_PRODUCER_EPOCH) {
              this.opts.logger.warn({ producerId: r.producerId, topic: r.topic, partition: r.partition }, 'partition has a newer producer epoch: this marker is moot there');
            }
            if (finished(r.code)) left.delete(key(r));
          }
        }),
      );
      if (fenced) {
        this.opts.logger.warn({ producerId: marker.producerId, coordinatorEpoch: marker.coordinatorEpoch }, 'a newer transaction coordinator wrote markers; stopping');
        return false;
      }
      if (left.size === 0) break;
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
    return true;
  }

  close(): void {
    this.closed = true;
  }
}
