/**
 * The Raft safety properties (paper Figure 3) and their consequences, checked against every replica
 * of a simulation as it runs. Each check throws an InvariantViolation naming the property.
 */
import type { Entry } from '../../src/raft/types.js';

export class InvariantViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
  }
}

interface LoggedEntry {
  readonly term: number;
  readonly prevTerm: number;
  readonly data: Uint8Array;
}

export class Invariants {
  /** term -> the one leader of that term. */
  private readonly leaderOfTerm = new Map<number, number>();
  /** index -> entries ever written there, one per term (log matching). */
  private readonly written = new Map<number, LoggedEntry[]>();
  /** index -> term of the entry committed there. */
  private readonly committed = new Map<number, number>();
  maxCommitted = 0;
  /** index -> state-machine hash after applying it (state machine safety). */
  private readonly appliedHash = new Map<number, number>();
  /** index -> the metadata image after applying it, encoded (metadata mode). */
  private readonly imageAt = new Map<number, string>();

  /** Every replica that applied `index` holds the same metadata image there. */
  metadataApplied(node: number, index: number, image: string): void {
    const known = this.imageAt.get(index);
    if (known === undefined) this.imageAt.set(index, image);
    else if (known !== image) throw new InvariantViolation('metadata state machine safety', `node ${node} holds another image after ${index}`);
  }

  /** Election safety: at most one leader per term. Returns true the first time (node, term) is seen. */
  leader(node: number, term: number): boolean {
    const known = this.leaderOfTerm.get(term);
    if (known === undefined) {
      this.leaderOfTerm.set(term, node);
      return true;
    }
    if (known !== node) throw new InvariantViolation('election safety', `nodes ${known} and ${node} both lead term ${term}`);
    return false;
  }

  /**
   * Log matching: two entries with the same index and term carry the same data and follow entries
   * of the same term, so by induction identical (index, term) means identical prefixes.
   */
  entryWritten(node: number, e: Entry, prevTerm: number): void {
    let list = this.written.get(e.index);
    if (list === undefined) {
      list = [];
      this.written.set(e.index, list);
    }
    for (const w of list) {
      if (w.term !== e.term) continue;
      if (!sameBytes(w.data, e.data)) {
        throw new InvariantViolation('log matching', `node ${node} wrote different data at index ${e.index} term ${e.term}`);
      }
      if (prevTerm >= 0 && w.prevTerm >= 0 && w.prevTerm !== prevTerm) {
        throw new InvariantViolation(
          'log matching',
          `node ${node}: entry ${e.index}/${e.term} follows term ${prevTerm}, elsewhere term ${w.prevTerm}`,
        );
      }
      return;
    }
    list.push({ term: e.term, prevTerm, data: e.data });
  }

  /** A replica about to discard its entry (index, term) because the leader's log differs there. */
  entryTruncated(node: number, index: number, term: number): void {
    if (this.committed.get(index) === term) {
      throw new InvariantViolation('committed entry lost', `node ${node} truncates committed entry ${index}/${term}`);
    }
  }

  /** A replica's commit index covers (index, term). */
  entryCommitted(node: number, index: number, term: number): void {
    const known = this.committed.get(index);
    if (known === undefined) {
      this.committed.set(index, term);
      if (index > this.maxCommitted) this.maxCommitted = index;
    } else if (known !== term) {
      throw new InvariantViolation('committed entry lost', `node ${node} commits ${index}/${term}, but ${index}/${known} was committed`);
    }
  }

  committedTerm(index: number): number | undefined {
    return this.committed.get(index);
  }

  /** Leader completeness: a new leader holds every entry committed before it. */
  leaderComplete(node: number, term: number, firstIndex: number, lastIndex: number, termAt: (i: number) => number): void {
    if (lastIndex < this.maxCommitted) {
      throw new InvariantViolation('leader completeness', `leader ${node} of term ${term} ends at ${lastIndex}, commit is ${this.maxCommitted}`);
    }
    for (let i = Math.max(firstIndex, 1); i <= this.maxCommitted; i++) {
      const want = this.committed.get(i);
      if (want === undefined) continue;
      const got = termAt(i);
      if (got !== want) {
        throw new InvariantViolation('leader completeness', `leader ${node} of term ${term} has ${i}/${got}, committed ${i}/${want}`);
      }
    }
  }

  /** State machine safety: every replica has the same state after applying index i. */
  applied(node: number, index: number, hash: number): void {
    const known = this.appliedHash.get(index);
    if (known === undefined) this.appliedHash.set(index, hash);
    else if (known !== hash) {
      throw new InvariantViolation('state machine safety', `node ${node} state after index ${index} differs from another replica's`);
    }
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
