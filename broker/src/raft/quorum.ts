/**
 * Majority arithmetic, in one place: elections, commitment, CheckQuorum and ReadIndex all count
 * the same way, and a joint or weighted quorum later changes only this file.
 */

/** Smallest number of voters that forms a majority of `n`. */
export function majority(n: number): number {
  return (n >> 1) + 1;
}

/** 1 won, -1 lost (a majority can no longer be reached), 0 undecided. */
export function tally(voters: number, granted: number, rejected: number): 1 | -1 | 0 {
  const q = majority(voters);
  if (granted >= q) return 1;
  if (rejected > voters - q) return -1;
  return 0;
}

/**
 * The largest value that a majority of the first `n` entries of `a` reach (the quorum index of
 * match indexes or read rounds). Sorts that prefix in place: voter counts are tiny.
 */
export function quorumValue(a: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= 0 && (a[j] as number) < v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
  return a[majority(n) - 1] as number;
}
