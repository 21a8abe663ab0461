/**
 * Checks of request fields at the edge. protobufjs hands requests over with every field present
 * (proto3 defaults filled in), so only the value can be wrong; each error names the field as
 * admin.proto spells it.
 */
import { invalidArgument } from './errors.js';

export type Request = Readonly<Record<string, unknown>>;

const INT32_MAX = 2 ** 31 - 1;

function intOf(req: Request, key: string, field: string): number {
  const v = req[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgument(field, `must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

/** A broker id: 0 or more. */
export function brokerIdOf(req: Request, key = 'brokerId', field = 'broker_id'): number {
  const v = intOf(req, key, field);
  if (v < 0 || v > INT32_MAX) throw invalidArgument(field, `must be a broker id (0 or more), got ${v}`);
  return v;
}

export function topicOf(req: Request, key = 'topic', field = 'topic'): string {
  const v = req[key];
  if (typeof v !== 'string' || v.length === 0) throw invalidArgument(field, 'must name a topic');
  return v;
}

export function partitionOf(req: Request): number {
  const v = intOf(req, 'partition', 'partition');
  if (v < 0) throw invalidArgument('partition', `must be 0 or more, got ${v}`);
  return v;
}

/** -1 (let the broker choose) or a broker id. */
export function targetBrokerOf(req: Request): number {
  const v = intOf(req, 'targetBrokerId', 'target_broker_id');
  if (v < -1) throw invalidArgument('target_broker_id', `must be a broker id or -1 (any in-sync replica), got ${v}`);
  return v;
}

export function boolOf(req: Request, key: string, field: string): boolean {
  const v = req[key];
  if (typeof v !== 'boolean') throw invalidArgument(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function countOf(req: Request, key: string, field: string, max: number): number {
  const v = intOf(req, key, field);
  if (v < 0 || v > max) throw invalidArgument(field, `must be 0-${max}, got ${v}`);
  return v;
}

/** A host name or address; empty is refused. */
export function hostOf(req: Request): string {
  const v = req['host'];
  if (typeof v !== 'string' || v.trim() === '') throw invalidArgument('host', 'must name the broker\'s host');
  if (/\s/.test(v)) throw invalidArgument('host', `must not contain spaces, got '${v}'`);
  return v;
}

export function portOf(req: Request): number {
  const v = intOf(req, 'port', 'port');
  if (v < 1 || v > 65535) throw invalidArgument('port', `must be 1-65535, got ${v}`);
  return v;
}
