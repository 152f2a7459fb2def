import { Clock } from './clock.js';
import { TimeoutError } from './errors.js';

/**
 * Runs `fn` with its own `AbortSignal`, rejecting with {@link TimeoutError} after `ms`.
 * The timer is always cleared; the signal is aborted on timeout (and when `parent` aborts),
 * so that the work itself stops. A late result after the timeout is ignored.
 * `ms <= 0` means no timeout.
 */
export function runWithTimeout<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  ms: number,
  clock: Clock,
  operation?: string,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  if (parent?.aborted) {
    controller.abort(parent.reason);
    return Promise.reject(parent.reason);
  }
  const onParentAbort = (): void => controller.abort(parent!.reason);
  parent?.addEventListener('abort', onParentAbort, { once: true });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clock.clearTimer(timer);
      parent?.removeEventListener('abort', onParentAbort);
      return true;
    };
    const timer =
      ms > 0
        ? clock.setTimer(() => {
            const error = new TimeoutError(ms, operation);
            if (finish()) {
              controller.abort(error);
              reject(error);
            }
          }, ms)
        : undefined;
    if (parent) {
      controller.signal.addEventListener(
        'abort',
        () => {
          if (parent.aborted && finish()) reject(parent.reason);
        },
        { once: true },
      );
    }
    let result: T | PromiseLike<T>;
    try {
      result = fn(controller.signal);
    } catch (error) {
      if (finish()) reject(error);
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error) => {
        if (finish()) reject(error);
      },
    );
  });
}
