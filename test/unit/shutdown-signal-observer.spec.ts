/**
 * The signal observer, with listeners on a real `process` but no real signal: `process.emit`
 * only calls the listeners. SIGUSR2 is used because nothing else in a jest worker listens to it.
 */
import { hasAppSignalListener, observeShutdownSignals } from '../../src/core/shutdown/signal-observer';

const SIGNAL = 'SIGUSR2';
const count = (): number => process.listenerCount(SIGNAL);
const emit = (): void => {
  process.emit(SIGNAL as NodeJS.Signals, SIGNAL as NodeJS.Signals);
};

describe('observeShutdownSignals', () => {
  let cleanups: Array<() => void>;
  beforeEach(() => {
    cleanups = [];
    expect(count()).toBe(0);
  });
  afterEach(() => {
    for (const c of cleanups.reverse()) c();
    expect(count()).toBe(0);
  });
  const appListener = (): (() => void) => {
    const fn = (): void => undefined;
    process.on(SIGNAL, fn);
    cleanups.push(() => process.off(SIGNAL, fn));
    return () => process.off(SIGNAL, fn);
  };

  it('adds no listener while nothing else listens (it would swallow the signal)', () => {
    const seen: string[] = [];
    cleanups.push(observeShutdownSignals([SIGNAL], (s) => seen.push(s)));
    expect(count()).toBe(0);
    expect(hasAppSignalListener(SIGNAL)).toBe(false);
  });

  it('observes once the app listens, and runs before the app listener', () => {
    const order: string[] = [];
    cleanups.push(observeShutdownSignals([SIGNAL], (s) => order.push(`observer ${s}`)));
    const fn = (): void => {
      order.push('app');
    };
    process.on(SIGNAL, fn);
    cleanups.push(() => process.off(SIGNAL, fn));
    expect(count()).toBe(2);
    expect(hasAppSignalListener(SIGNAL)).toBe(true);
    emit();
    expect(order).toEqual([`observer ${SIGNAL}`, 'app']);
  });

  it('picks up a listener that existed before it subscribed', () => {
    appListener();
    const seen: string[] = [];
    cleanups.push(observeShutdownSignals([SIGNAL], (s) => seen.push(s)));
    expect(count()).toBe(2);
    emit();
    expect(seen).toEqual([SIGNAL]);
  });

  it('removes itself as soon as the last app listener goes (before a re-raised signal)', () => {
    cleanups.push(observeShutdownSignals([SIGNAL], () => undefined));
    const remove = appListener();
    expect(count()).toBe(2);
    remove();
    expect(count()).toBe(0);
  });

  it('one observer per signal for any number of apps; gone when the last unsubscribes', () => {
    appListener();
    const seen: string[] = [];
    const a = observeShutdownSignals([SIGNAL], () => seen.push('a'));
    const b = observeShutdownSignals([SIGNAL], () => seen.push('b'));
    expect(count()).toBe(2);
    emit();
    expect(seen).toEqual(['a', 'b']);
    a();
    expect(count()).toBe(2);
    b();
    b();
    expect(count()).toBe(1);
    expect(process.listenerCount('newListener')).toBe(0);
  });

  it('a throwing subscriber does not stop the others', () => {
    appListener();
    const seen: string[] = [];
    cleanups.push(
      observeShutdownSignals([SIGNAL], () => {
        throw new Error('boom');
      }),
    );
    cleanups.push(observeShutdownSignals([SIGNAL], () => seen.push('ok')));
    emit();
    expect(seen).toEqual(['ok']);
  });
});
