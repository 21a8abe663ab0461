/**
 * Where the next proposal of a raft group lands in the Kafka offset space. Entries are stamped
 * with their final base offset and term when proposed, so the leader must know the offset after
 * every entry its core holds, including the ones not yet handed to storage (its own earlier
 * proposals this turn, the empty entry it appended on election).
 */
import { BatchField, setBaseOffset, setPartitionLeaderEpoch } from '../kafka/protocol/records.js';
import type { RaftNode } from '../raft/raft.js';
import { offsetSpan } from './control-entries.js';
import type { PartitionRaftStorage } from './partition-raft-storage.js';

export class ProposalCursor {
  private end: { index: number; offset: number } | null = null;

  constructor(
    private readonly node: RaftNode,
    private readonly storage: PartitionRaftStorage,
  ) {}

  /** Forget the cached position (leadership or the log changed). */
  reset(): void {
    this.end = null;
  }

  /** Offset the next proposal gets. */
  nextOffset(): number {
    const last = this.node.lastIndex;
    if (this.end !== null && this.end.index === last) return this.end.offset;
    let index = this.storage.lastIndex();
    let offset = this.storage.endOffset();
    if (last > index) {
      for (const e of this.node.entries(index + 1, last + 1) ?? []) {
        offset += offsetSpan(e);
        index = e.index;
      }
    }
    this.end = { index, offset };
    return offset;
  }

  /**
   * Stamps one whole batch (`bytes`, changed in place) with the next offset and `term`, and
   * proposes it. Returns the raft index and base offset, or null when the core refused (not
   * leader, transfer in progress).
   */
  propose(bytes: Buffer, term: number): { index: number; baseOffset: number; lastOffset: number } | null {
    const base = this.nextOffset();
    setBaseOffset(bytes, 0, base);
    setPartitionLeaderEpoch(bytes, 0, term);
    const index = this.node.propose(bytes);
    if (index <= 0) return null;
    const lastOffset = base + bytes.readInt32BE(BatchField.lastOffsetDelta);
    this.end = { index, offset: lastOffset + 1 };
    return { index, baseOffset: base, lastOffset };
  }
}
