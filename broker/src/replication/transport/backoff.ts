/**
 * Reconnect delay: exponential from `minMs`, capped at `maxMs`, with "equal jitter" (a uniform
 * draw over the upper half) so brokers that lost a peer together do not redial in step, yet no
 * delay collapses to zero.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (ceiling / 2) * random();
}
