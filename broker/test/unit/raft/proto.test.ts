/** proto/raft.proto must stay in step with the core's message and entry types. */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType } from '../../../src/raft/types.js';

const root = protobuf.loadSync(fileURLToPath(new URL('../../../../proto/raft.proto', import.meta.url)));

const screaming = (name: string): string => name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

describe('raft.proto', () => {
  it('declares every core message type with the same number', () => {
    const wire = root.lookupEnum('chronik.raft.v1.MessageType').values;
    for (const [name, value] of Object.entries(MessageType)) expect(wire[screaming(name)]).toBe(value);
    const entryWire = root.lookupEnum('chronik.raft.v1.EntryType').values;
    expect(entryWire['NORMAL']).toBe(EntryType.Normal);
    expect(entryWire['CONF_CHANGE']).toBe(EntryType.ConfChange);
  });

  it('carries a batch of messages for several groups to one node', () => {
    const Batch = root.lookupType('chronik.raft.v1.RaftBatch');
    const batch = {
      fromNode: 1,
      toNode: 2,
      sequence: 5,
      messages: [
        { group: 10, type: MessageType.Append, from: 1, to: 2, term: 3, logTerm: 3, index: 41, commit: 40, entries: [{ term: 3, index: 42, type: 0, data: new Uint8Array([1, 2, 3]) }] },
        { group: 11, type: MessageType.Heartbeat, from: 1, to: 2, term: 7, commit: 99, index: 4 },
      ],
    };
    const bytes = Batch.encode(Batch.create(batch)).finish();
    const back = Batch.toObject(Batch.decode(bytes), { longs: Number, bytes: Array }) as { messages: { group: number; entries?: { data: number[] }[] }[] };
    expect(back.messages.map((m) => m.group)).toEqual([10, 11]);
    expect(back.messages[0]?.entries?.[0]?.data).toEqual([1, 2, 3]);
  });
});
