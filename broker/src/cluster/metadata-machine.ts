/**
 * The metadata image as the state of the metadata raft group: each committed entry carries one
 * or more encoded MetadataRecords, applied in order with the same pure function on every
 * broker. Listeners see the image before and after each applied entry (the publisher diffs them).
 *
 * A record that does not apply is a bug in whoever proposed it; since every broker applies the
 * same log, every broker skips it the same way, so it is logged and skipped rather than allowed
 * to stop the metadata group everywhere.
 */
import type { Logger } from 'pino';
import type { ReplicatedState } from '../replication/state-machine-replica.js';
import { decodeMetadataImage, decodeMetadataRecord, encodeMetadataImage, encodeMetadataRecord } from './metadata-codec.js';
import type { MetadataRecord } from './metadata-records.js';
import { applyMetadataRecord, emptyMetadataState, type MetadataState } from './metadata-state.js';

export type ImageListener = (previous: MetadataState, next: MetadataState, index: number) => void;

export class MetadataMachine implements ReplicatedState {
  private image: MetadataState;
  private readonly listeners: ImageListener[] = [];
  private appliedIndex = 0;

  constructor(
    clusterId: string,
    private readonly logger: Logger,
  ) {
    this.image = emptyMetadataState(clusterId);
  }

  get state(): MetadataState {
    return this.image;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  onChange(l: ImageListener): void {
    this.listeners.push(l);
  }

  apply(command: Buffer, index: number): void {
    let record: MetadataRecord;
    try {
      record = decodeMetadataRecord(command);
    } catch (err) {
      this.logger.error({ err, index }, 'metadata entry does not decode; skipped on every broker');
      this.appliedIndex = index;
      return;
    }
    const previous = this.image;
    try {
      this.image = applyMetadataRecord(previous, record);
    } catch (err) {
      this.logger.error({ err, index, record: record.type }, 'metadata record does not fit the image; skipped on every broker');
    }
    this.appliedIndex = index;
    if (this.image !== previous) this.emit(previous, this.image, index);
  }

  snapshot(): Uint8Array {
    return encodeMetadataImage(this.image);
  }

  restore(data: Uint8Array): void {
    const previous = this.image;
    this.image = decodeMetadataImage(data);
    if (this.image.clusterId !== previous.clusterId) {
      this.logger.warn({ expected: previous.clusterId, got: this.image.clusterId }, 'metadata snapshot is of another cluster id');
    }
    this.emit(previous, this.image, this.appliedIndex);
  }

  private emit(previous: MetadataState, next: MetadataState, index: number): void {
    for (const l of this.listeners) {
      try {
        l(previous, next, index);
      } catch (err) {
        this.logger.error({ err }, 'metadata listener failed');
      }
    }
  }
}

export function encodeRecords(records: readonly MetadataRecord[]): Buffer[] {
  return records.map(encodeMetadataRecord);
}
