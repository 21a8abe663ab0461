/**
 * The API modules' handlers are typed from the message definitions: a misspelled or mistyped
 * response field is a compile error, not a silent default on the wire. The `@ts-expect-error`
 * lines below are the proof: `tsc -p broker/tsconfig.test.json` fails if any of them stops being
 * an error. At run time the test shows what each mistake would have cost.
 */
import { describe, expect, it } from 'vitest';
import { defineApi } from '../../../src/kafka/apis/api.js';
import { decodeMessage, encodeMessage } from '../../../src/kafka/protocol/codec.js';
import { HeartbeatRequest, HeartbeatResponse, ProduceRequest, ProduceResponse, type ResponseBodyOf } from '../../../src/kafka/protocol/messages/index.js';
import type { MessageBody } from '../../../src/kafka/server/handler.js';

/** What a client would read back from `body` sent as `version`. */
function onTheWire(def: typeof HeartbeatResponse | typeof ProduceResponse, version: number, body: MessageBody): MessageBody {
  return decodeMessage(def, version, encodeMessage(def, version, body)).value;
}

const misspelledTopLevel = { throttleTimeMs: 0, errorCod: 27 };

export const heartbeatWithTypo = defineApi({
  name: 'Heartbeat',
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  versions: { min: 0, max: 4 },
  // @ts-expect-error errorCod is not a field: errorCode is missing
  create: () => async () => misspelledTopLevel,
});

const misspelledNested = {
  index: 0,
  errorCode: 0,
  baseOffset: 42,
  logAppendTimeMs: -1,
  logStartOffset: 0,
  recordErrors: [],
  errorMesage: 'the batch was refused',
};

export const produceWithNestedTypo = defineApi({
  name: 'Produce',
  request: ProduceRequest,
  response: ProduceResponse,
  versions: { min: 3, max: 11 },
  // Built through map, where an object literal has no excess-property check to catch it.
  // @ts-expect-error errorMesage is not a field: errorMessage is missing
  create: () => async (req) => ({
    throttleTimeMs: 0,
    responses: req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map(() => misspelledNested) })),
  }),
});

// @ts-expect-error a string is not an int16
export const wrongType: ResponseBodyOf<typeof HeartbeatResponse> = { throttleTimeMs: 0, errorCode: 'REBALANCE_IN_PROGRESS' };

export const heartbeatReadingTypo = defineApi({
  name: 'Heartbeat',
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  versions: { min: 0, max: 4 },
  create: () => async (req) => {
    // @ts-expect-error the request has groupId, not groupID
    const group: string = req.groupID;
    return { throttleTimeMs: 0, errorCode: group === '' ? 24 : 0 };
  },
});

describe('typed responses', () => {
  it('a misspelled field would have gone out as its default', () => {
    expect(onTheWire(HeartbeatResponse, 4, misspelledTopLevel)).toEqual({ throttleTimeMs: 0, errorCode: 0 });
    const produce = onTheWire(ProduceResponse, 11, { responses: [{ name: 't', partitionResponses: [misspelledNested] }], throttleTimeMs: 0 });
    expect(produce).toMatchObject({ responses: [{ partitionResponses: [{ baseOffset: 42, errorMessage: null }] }] });
  });

  it('the correctly spelled body carries its values', () => {
    const ok: ResponseBodyOf<typeof HeartbeatResponse> = { throttleTimeMs: 0, errorCode: 27 };
    expect(onTheWire(HeartbeatResponse, 4, ok)).toEqual({ throttleTimeMs: 0, errorCode: 27 });
  });
});
