/**
 * Import for its side effect before using @platformatic/kafka 2.x on Node 20: the client calls
 * Promise.withResolvers, which Node only has from 22.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promiseStatics = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (typeof promiseStatics.withResolvers !== 'function') {
  promiseStatics.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>['resolve'];
    let reject!: Resolvers<T>['reject'];
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
