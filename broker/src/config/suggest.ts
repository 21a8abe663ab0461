/** "Did you mean": the registered name closest to a mistyped one, if it is close enough. */

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * The candidate within a third of the name's length in edits (at least 2), or the one that ends
 * with the name's last words (`cleanup.policy` -> `log.cleanup.policy`); null when none is close.
 */
export function closestName(name: string, candidates: readonly string[]): string | null {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== null && bestDistance <= limit) return best;
  const suffix = candidates.filter((c) => c.endsWith(`.${name}`));
  return suffix.length === 1 ? (suffix[0] ?? null) : null;
}
