/**
 * Tells the library when a shutdown signal arrives, without handling it.
 *
 * Nest's `enableShutdownHooks()` owns the signal: its listener closes the app and re-raises the
 * signal (or exits). The library only needs to know *that* a signal came and which one, to start
 * the grace period and the force-exit watchdog before Nest's first destroy hook runs. So:
 *
 * - one observer per signal per process, shared by every app instance and package copy
 *   (a registry under a global symbol), removed when the last app unsubscribes;
 * - the observer exists only while another listener for that signal exists. A signal listener
 *   turns off Node's default "die on signal", so an observer alone would swallow the signal; it
 *   also must be gone before Nest re-raises the signal after closing, or the process would live on.
 *   `newListener` / `removeListener` keep this true whatever the order of calls;
 * - the observer never ends the process and never closes anything.
 */

type Subscriber = (signal: string) => void;
type Listener = (...args: any[]) => void;

interface Registry {
  readonly subscribers: Set<Subscriber>;
  readonly watched: Set<string>;
  readonly observers: Map<string, Listener>;
  onNewListener?: Listener;
  onRemoveListener?: Listener;
}

const KEY = Symbol.for('nestjs-reliability.signal-observer');

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  holder[KEY] ??= { subscribers: new Set(), watched: new Set(), observers: new Map() };
  return holder[KEY]!;
}

/** Marks the library's observers (of any package copy), so its own add/remove events are ignored. */
const OBSERVER = Symbol.for('nestjs-reliability.signal-observer.fn');

function isObserver(listener: unknown): boolean {
  return (
    typeof listener === 'function' && (listener as unknown as Record<symbol, unknown>)[OBSERVER] === true
  );
}

function othersFor(signal: string): number {
  return process.listeners(signal as NodeJS.Signals).filter((l) => !isObserver(l)).length;
}

function install(r: Registry, signal: string): void {
  if (r.observers.has(signal)) return;
  const observer: Listener = () => {
    for (const subscriber of [...r.subscribers]) {
      try {
        subscriber(signal);
      } catch {
        // A subscriber's failure must not stop the others, nor reach Nest's handler.
      }
    }
  };
  Object.defineProperty(observer, OBSERVER, { value: true });
  r.observers.set(signal, observer);
  // Before the app's handler, so the grace period starts before any destroy hook.
  process.prependListener(signal as NodeJS.Signals, observer);
}

function uninstall(r: Registry, signal: string): void {
  const observer = r.observers.get(signal);
  if (!observer) return;
  r.observers.delete(signal);
  process.removeListener(signal as NodeJS.Signals, observer);
}

function sync(r: Registry, signal: string): void {
  if (othersFor(signal) > 0) install(r, signal);
  else uninstall(r, signal);
}

/**
 * Calls `onSignal` when one of `signals` arrives while the app (or anything else) listens to it.
 * Returns the unsubscribe function.
 */
export function observeShutdownSignals(signals: readonly string[], onSignal: Subscriber): () => void {
  const r = registry();
  r.subscribers.add(onSignal);
  for (const signal of signals) r.watched.add(signal);
  if (!r.onNewListener) {
    // Called before the new listener is added: install ours first, so it runs before it.
    r.onNewListener = (event: unknown, listener: unknown) => {
      if (typeof event === 'string' && r.watched.has(event) && !isObserver(listener)) install(r, event);
    };
    r.onRemoveListener = (event: unknown, listener: unknown) => {
      if (typeof event === 'string' && r.watched.has(event) && !isObserver(listener)) sync(r, event);
    };
    process.on('newListener', r.onNewListener);
    process.on('removeListener', r.onRemoveListener);
  }
  for (const signal of r.watched) sync(r, signal);

  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    r.subscribers.delete(onSignal);
    if (r.subscribers.size > 0) return;
    // Watchers first: removing an observer must not make the watcher put it back.
    process.off('newListener', r.onNewListener!);
    process.off('removeListener', r.onRemoveListener!);
    r.onNewListener = undefined;
    r.onRemoveListener = undefined;
    for (const signal of [...r.observers.keys()]) uninstall(r, signal);
    r.watched.clear();
  };
}

/** True when something other than this library listens to `signal` (e.g. Nest's shutdown hooks). */
export function hasAppSignalListener(signal: string): boolean {
  return othersFor(signal) > 0;
}
