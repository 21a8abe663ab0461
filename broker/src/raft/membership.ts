import { ConfChangeOp, type ConfChange, type ConfChangeRecord, type ConfState } from './types.js';

/**
 * Membership changes one server at a time (thesis §4.1-4.2): every step adds or removes at most one
 * voter, so any majority of the old configuration overlaps any majority of the new one. A
 * configuration takes effect on a replica as soon as its entry is in the replica's log (committed
 * or not) and is undone if that entry is truncated. The leader proposes a new step only after the
 * previous one committed and after it committed an entry of its own term (the fix to the
 * single-server-change bug reported on raft-dev in 2015).
 */

export function isVoter(conf: ConfState, id: number): boolean {
  return conf.voters.includes(id);
}

export function isMember(conf: ConfState, id: number): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** The configuration after `change`, or an error message if the change is not allowed. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState | string {
  const { op, node } = change;
  if (!Number.isSafeInteger(node) || node <= 0) return `node id must be a positive integer, got ${node}`;
  const voters = conf.voters.filter((v) => v !== node);
  const learners = conf.learners.filter((l) => l !== node);
  switch (op) {
    case ConfChangeOp.AddVoter:
      if (conf.voters.includes(node)) return `node ${node} is already a voter`;
      voters.push(node);
      break;
    case ConfChangeOp.AddLearner:
      if (conf.learners.includes(node)) return `node ${node} is already a learner`;
      learners.push(node);
      break;
    case ConfChangeOp.Remove:
      if (!isMember(conf, node)) return `node ${node} is not a member`;
      break;
    default:
      return `unknown membership operation ${String(op)}`;
  }
  if (voters.length === 0) return 'a configuration needs at least one voter';
  voters.sort((a, b) => a - b);
  learners.sort((a, b) => a - b);
  return { voters, learners };
}

// Encoding: op u8, node f64, voter count u16, voters f64..., learner count u16, learners f64...
export function encodeConfChange(rec: ConfChangeRecord): Uint8Array {
  const { voters, learners } = rec.conf;
  const buf = new Uint8Array(1 + 8 + 2 + voters.length * 8 + 2 + learners.length * 8);
  const dv = new DataView(buf.buffer);
  let o = 0;
  dv.setUint8(o, rec.change.op);
  o += 1;
  dv.setFloat64(o, rec.change.node);
  o += 8;
  dv.setUint16(o, voters.length);
  o += 2;
  for (const v of voters) {
    dv.setFloat64(o, v);
    o += 8;
  }
  dv.setUint16(o, learners.length);
  o += 2;
  for (const l of learners) {
    dv.setFloat64(o, l);
    o += 8;
  }
  return buf;
}

export function decodeConfChange(data: Uint8Array): ConfChangeRecord {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = 0;
  const need = (n: number): void => {
    if (o + n > data.byteLength) throw new Error('raft: truncated membership change entry');
  };
  need(11);
  const op = dv.getUint8(o) as ConfChangeOp;
  o += 1;
  const node = dv.getFloat64(o);
  o += 8;
  const nv = dv.getUint16(o);
  o += 2;
  need(nv * 8 + 2);
  const voters: number[] = [];
  for (let i = 0; i < nv; i++, o += 8) voters.push(dv.getFloat64(o));
  const nl = dv.getUint16(o);
  o += 2;
  need(nl * 8);
  const learners: number[] = [];
  for (let i = 0; i < nl; i++, o += 8) learners.push(dv.getFloat64(o));
  return { change: { op, node }, conf: { voters, learners } };
}
