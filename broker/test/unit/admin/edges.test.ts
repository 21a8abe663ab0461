/** The admin service's edges that need no cluster: bearer tokens, request fields, peer messages, error statuses. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { AdminTokenError, checkBearer, readAdminToken } from '../../../src/admin/auth.js';
import { AdminError, toAdminError } from '../../../src/admin/errors.js';
import { brokerIdOf, countOf, hostOf, partitionOf, portOf, targetBrokerOf, topicOf } from '../../../src/admin/fields.js';
import { decodePeerReply, decodePeerRequest, encodePeer } from '../../../src/admin/peer-protocol.js';
import { ErrorCode, KafkaError } from '../../../src/kafka/protocol/errors.js';
import { PeerRequestError } from '../../../src/replication/transport/index.js';
import { tmpDataDir } from '../../helpers/tmp.js';

function bearer(value: string | null): Metadata {
  const m = new Metadata();
  if (value !== null) m.set('authorization', value);
  return m;
}

function fieldError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof AdminError && err.code === status.INVALID_ARGUMENT) return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('admin bearer tokens', () => {
  it('reads the token file, refusing a missing, empty or multi-word one', () => {
    const dir = tmpDataDir('chronik-token-');
    const file = path.join(dir, 'token');
    writeFileSync(file, '  s3cret\n');
    expect(readAdminToken(file)).toBe('s3cret');
    writeFileSync(file, '\n');
    expect(() => readAdminToken(file)).toThrow(/is empty/);
    writeFileSync(file, 'two words');
    expect(() => readAdminToken(file)).toThrow(AdminTokenError);
    expect(() => readAdminToken(path.join(dir, 'absent'))).toThrow(/cannot be read: ENOENT/);
  });

  it('lets a call through only with the right bearer token', () => {
    expect(checkBearer(bearer(null), null)).toBeNull();
    expect(checkBearer(bearer('Bearer s3cret'), 's3cret')).toBeNull();
    expect(checkBearer(bearer('bearer  s3cret '), 's3cret')).toBeNull();
    expect(checkBearer(bearer(null), 's3cret')).toMatch(/requires a bearer token/);
    expect(checkBearer(bearer('Basic czNjcmV0'), 's3cret')).toMatch(/not "Bearer <token>"/);
    expect(checkBearer(bearer('Bearer s3cre'), 's3cret')).toMatch(/wrong/);
    expect(checkBearer(bearer('Bearer s3cretx'), 's3cret')).toMatch(/wrong/);
  });
});

describe('admin request fields', () => {
  it('names the field and the problem', () => {
    expect(brokerIdOf({ brokerId: 3 })).toBe(3);
    expect(fieldError(() => brokerIdOf({ brokerId: -1 }))).toBe('broker_id: must be a broker id (0 or more), got -1');
    expect(fieldError(() => brokerIdOf({ brokerId: 1.5 }))).toMatch(/^broker_id: must be an integer/);
    expect(fieldError(() => topicOf({ topic: '' }))).toBe('topic: must name a topic');
    expect(fieldError(() => partitionOf({ partition: -2 }))).toBe('partition: must be 0 or more, got -2');
    expect(targetBrokerOf({ targetBrokerId: -1 })).toBe(-1);
    expect(fieldError(() => targetBrokerOf({ targetBrokerId: -3 }))).toMatch(/^target_broker_id:/);
    expect(fieldError(() => hostOf({ host: ' ' }))).toMatch(/^host:/);
    expect(fieldError(() => hostOf({ host: 'a b' }))).toMatch(/^host: must not contain spaces/);
    expect(fieldError(() => portOf({ port: 0 }))).toBe('port: must be 1-65535, got 0');
    expect(fieldError(() => countOf({ maxConcurrentMoves: 65 }, 'maxConcurrentMoves', 'max_concurrent_moves', 64))).toBe('max_concurrent_moves: must be 0-64, got 65');
  });
});

describe('broker-to-broker admin messages', () => {
  it('round-trips requests and replies, and refuses malformed ones by field', () => {
    const req = { op: 'transfer', topic: 't', topicId: 'id', partition: 2, to: -1, waitMs: 500 } as const;
    expect(decodePeerRequest(encodePeer(req))).toEqual(req);
    expect(decodePeerRequest(encodePeer({ op: 'drain', waitMs: 10 }))).toEqual({ op: 'drain', waitMs: 10 });
    expect(() => decodePeerRequest(Buffer.from('{"op":"explode"}'))).toThrow(/op "explode" is unknown/);
    expect(() => decodePeerRequest(Buffer.from('{"op":"transfer","topic":"t"}'))).toThrow(/field topicId/);
    expect(() => decodePeerRequest(Buffer.from('not json'))).toThrow(/not JSON/);
    expect(decodePeerReply(encodePeer({ ok: true, value: { leaderId: 1 } }))).toEqual({ leaderId: 1 });
    const refused = (() => {
      try {
        decodePeerReply(encodePeer({ ok: false, code: status.FAILED_PRECONDITION, message: 'no' }));
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(refused).toMatchObject({ code: status.FAILED_PRECONDITION, message: 'no' });
  });
});

describe('admin error statuses', () => {
  it('maps cluster errors to the status a caller acts on', () => {
    expect(toAdminError(new KafkaError(ErrorCode.NOT_CONTROLLER, 'x')).code).toBe(status.UNAVAILABLE);
    expect(toAdminError(new KafkaError(ErrorCode.BROKER_ID_NOT_REGISTERED, 'x')).code).toBe(status.NOT_FOUND);
    expect(toAdminError(new KafkaError(ErrorCode.POLICY_VIOLATION, 'x')).code).toBe(status.FAILED_PRECONDITION);
    expect(toAdminError(new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'x')).code).toBe(status.INVALID_ARGUMENT);
    expect(toAdminError(new PeerRequestError('unavailable', 'down')).code).toBe(status.UNAVAILABLE);
    expect(toAdminError(new Error('bug'))).toMatchObject({ code: status.INTERNAL, message: 'bug' });
  });
});
