/** What the group and offset APIs share: waiting on a rebalance, and nesting results by topic. */

/**
 * Waits for a rebalance outcome unless the connection closes or the broker shuts down first; the
 * member stays in the group either way (its session timeout decides), like in Kafka.
 */
export function unlessAborted<T>(result: Promise<T>, signal: AbortSignal, aborted: () => T): Promise<T> {
  if (signal.aborted) return Promise.resolve(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => resolve(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    result.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Groups results by topic in first-seen order, as the responses nest them. */
export function byTopic<P extends { topic: string }, R>(items: readonly P[], map: (p: P) => R): { name: string; partitions: R[] }[] {
  const topics = new Map<string, R[]>();
  for (const p of items) {
    let list = topics.get(p.topic);
    if (list === undefined) topics.set(p.topic, (list = []));
    list.push(map(p));
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}
