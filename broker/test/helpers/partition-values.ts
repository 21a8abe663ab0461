/** What a raft partition replica serves to a consumer, as strings. */
import { decodeRecords } from '../../src/kafka/protocol/records.js';
import type { RaftPartition } from '../../src/replication/raft-partition.js';

/** The values of every data record from the log start to the high watermark, in offset order. */
export async function committedValues(p: RaftPartition): Promise<string[]> {
  const out: string[] = [];
  let offset = p.logStartOffset();
  while (offset < p.highWatermark()) {
    const r = await p.read(offset, 1 << 20, 0);
    if (r.records.length === 0) break;
    for (let pos = 0; pos < r.records.length; ) {
      const d = decodeRecords(r.records, pos);
      if (!d.header.isControl) for (const rec of d.records) if (rec.offset >= offset) out.push(rec.value?.toString() ?? '');
      pos += d.header.sizeInBytes;
    }
    offset = r.nextOffset;
  }
  return out;
}
