import { CircuitBreakerRegistry } from '../../src/core/circuit-breaker/registry';
import { FakeClock } from '../../src/core/common/clock';
import { down, ok, settle } from '../support/circuit-breaker-helpers';

const SETTINGS = { timeout: 0, volumeThreshold: 1, resetTimeout: 1_000 };

describe('CircuitBreakerRegistry', () => {
  it('creates a circuit on first use and returns the same one after', () => {
    const registry = new CircuitBreakerRegistry({ clock: new FakeClock() });
    const settings = jest.fn(() => SETTINGS);
    const a = registry.getOrCreate('a', settings);
    expect(registry.getOrCreate('a', settings)).toBe(a);
    expect(settings).toHaveBeenCalledTimes(1);
    expect(registry.get('b')).toBeUndefined();
    expect(a.settings.volumeThreshold).toBe(1);
  });

  it('evicts idle circuits lazily, keeping forced-open, disabled and busy ones', async () => {
    const clock = new FakeClock();
    const registry = new CircuitBreakerRegistry({ clock, idleEvictionMs: 10_000 });
    const idle = registry.getOrCreate('idle', () => SETTINGS);
    await idle.execute(ok);
    registry.getOrCreate('forced', () => SETTINGS).open();
    registry.getOrCreate('disabled', () => SETTINGS).disable();
    const busy = registry.getOrCreate('busy', () => SETTINGS);
    void busy.execute(() => new Promise(() => undefined));
    expect(clock.pendingTimers()).toBe(0); // eviction needs no timer

    await clock.advance(10_000);
    expect(registry.size).toBe(4); // nothing happens without a reason to look
    registry.getOrCreate('new', () => SETTINGS); // creation runs the due sweep
    expect(registry.get('idle')).toBeUndefined();
    expect(registry.get('forced')?.getState()).toBe('OPEN');
    expect(registry.get('disabled')?.isDisabled).toBe(true);
    expect(registry.get('busy')).toBe(busy);
  });

  it('bounds the registry in every state: idle open and half-open circuits are evicted too', async () => {
    const clock = new FakeClock();
    const registry = new CircuitBreakerRegistry({ clock, idleEvictionMs: 10_000 });
    // One circuit per host, as with dynamic names: 50 hosts go down and are never called again.
    const hostSettings = { ...SETTINGS, resetTimeout: 5_000 };
    for (let i = 0; i < 50; i++) {
      await settle(registry.getOrCreate(`host-${i}`, () => hostSettings).execute(down));
    }
    const halfOpen = registry.getOrCreate('half-open', () => SETTINGS);
    await settle(halfOpen.execute(down));
    await clock.advance(1_000);
    expect(halfOpen.getState()).toBe('HALF_OPEN');
    expect(registry.get('host-0')?.getState()).toBe('OPEN');
    await clock.advance(8_999);
    expect(registry.sweep()).toBe(0); // not idle for long enough yet
    await clock.advance(1);
    expect(registry.sweep()).toBe(51);
    expect(registry.size).toBe(0);
  });

  it('keeps an idle open circuit until its resetTimeout has passed', async () => {
    const clock = new FakeClock();
    const registry = new CircuitBreakerRegistry({ clock, idleEvictionMs: 1_000 });
    const long = registry.getOrCreate('long', () => ({ ...SETTINGS, resetTimeout: 5_000 }));
    await settle(long.execute(down));
    await clock.advance(4_999);
    expect(registry.sweep()).toBe(0); // dropping it now would let calls through early
    await clock.advance(1);
    expect(registry.sweep()).toBe(1);
  });

  it('sweeps at most once a minute, also when metrics are read', async () => {
    const clock = new FakeClock();
    const registry = new CircuitBreakerRegistry({ clock, idleEvictionMs: 120_000 });
    registry.getOrCreate('a', () => SETTINGS);
    await clock.advance(100_000);
    expect(registry.all().map((c) => c.name)).toEqual(['a']); // swept: idle 100 s < 120 s
    await clock.advance(30_000);
    expect(registry.all().map((c) => c.name)).toEqual(['a']); // idle, but the last sweep was 30 s ago
    await clock.advance(30_000);
    expect(registry.all()).toEqual([]);
  });

  it('does not evict a busy circuit whose successes were not yet timed', async () => {
    const clock = new FakeClock();
    const registry = new CircuitBreakerRegistry({ clock, idleEvictionMs: 1_000 });
    const c = registry.getOrCreate('hot', () => ({ ...SETTINGS, volumeThreshold: 10_000 }));
    for (let i = 0; i < 300; i++) await c.execute(ok);
    await clock.advance(1_000);
    await c.execute(ok); // probably untimed: no clock read
    await c.execute(ok);
    expect(registry.sweep()).toBe(0);
    await clock.advance(1_000);
    expect(registry.sweep()).toBe(1);
  });

  it("reuses an evicted circuit's counter block, and a stale reference cannot write into it", async () => {
    const clock = new FakeClock();
    const registry = new CircuitBreakerRegistry({ clock, idleEvictionMs: 1_000 });
    const settings = { ...SETTINGS, volumeThreshold: 1_000 };
    const old = registry.getOrCreate('old', () => settings);
    for (let i = 0; i < 5; i++) await settle(old.execute(down));
    await clock.advance(1_000);
    expect(registry.sweep()).toBe(1);
    // The block is zeroed and handed to the next circuit of the same size.
    const fresh = registry.getOrCreate('fresh', () => settings);
    expect(fresh.metrics()).toMatchObject({ calls: 0, failures: 0 });
    expect(fresh.metrics().latency.count).toBe(0);
    // Whoever still holds the evicted circuit writes to its private copy, not to the new circuit.
    for (let i = 0; i < 7; i++) await settle(old.execute(down));
    expect(fresh.metrics()).toMatchObject({ calls: 0, failures: 0 });
    expect(fresh.metrics().latency.count).toBe(0);
    expect(old.metrics()).toMatchObject({ calls: 12, failures: 12 }); // its own counters carried on
    expect(old.metrics().totals.failures).toBe(12);
  });

  it('shares one set of listeners across its circuits', async () => {
    const registry = new CircuitBreakerRegistry({ clock: new FakeClock() });
    const names: string[] = [];
    const dispose = registry.events.onStateChange((e) => names.push(`${e.name}:${e.to}`));
    await settle(registry.getOrCreate('x', () => SETTINGS).execute(down));
    await settle(registry.getOrCreate('y', () => SETTINGS).execute(down));
    dispose();
    registry.get('x')!.close();
    expect(names).toEqual(['x:OPEN', 'y:OPEN']);
  });
});
