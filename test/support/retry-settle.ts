/** Watches a promise without awaiting it, so a test can advance a FakeClock while it runs. */
export interface Settled<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

export function watch<T>(promise: Promise<T>): Settled<T> {
  const state: Settled<T> = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

/** A function failing with the given errors in order, then returning `value`; records its calls. */
export function failingThen<T>(errors: unknown[], value: T) {
  const calls: Array<{ attempt: number; signal: AbortSignal }> = [];
  const fn = async (attempt: number, signal: AbortSignal): Promise<T> => {
    calls.push({ attempt, signal });
    if (calls.length <= errors.length) throw errors[calls.length - 1];
    return value;
  };
  return { fn, calls };
}
