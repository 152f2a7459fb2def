/** Test helpers of the circuit breaker area. */

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = unknown>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Settles a promise into a value or `{ error }`, so that tests can look at rejections without try/catch. */
export function settle<T>(promise: Promise<T>): Promise<T | { error: unknown }> {
  return promise.then(
    (value) => value,
    (error: unknown) => ({ error }),
  );
}

/** An error that counts: a 503 from upstream. */
export function serverError(message = 'upstream down'): Error {
  return Object.assign(new Error(message), { status: 503 });
}

/** Zero-argument call functions (they take no signal). */
export const ok = (): Promise<string> => Promise.resolve('ok');
export const down = (): Promise<never> => Promise.reject(serverError());
