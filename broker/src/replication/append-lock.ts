/**
 * Serialises a partition's appends with a promise chain, so validation, offset assignment and
 * the producer-state update of one request never interleave with another's.
 */
export class AppendLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    // A failed append must not poison the chain for the next one.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
