import {
  LATENCY_SLOTS,
  latencyPercentile,
  latencySummary,
  recordLatency,
} from '../../src/core/circuit-breaker/latency';
import { CounterSlab } from '../../src/core/circuit-breaker/slab';

describe('circuit latency histogram', () => {
  it('is exact up to 8 ms and within 25 % above that', () => {
    const c = new Uint32Array(LATENCY_SLOTS);
    for (const ms of [0, 1, 2, 3, 7, 8]) {
      c.fill(0);
      recordLatency(c, 0, ms);
      expect(latencyPercentile(c, 0, 0.5)).toBe(ms);
    }
    for (let ms = 9; ms < 131_072; ms = Math.ceil(ms * 1.37)) {
      c.fill(0);
      recordLatency(c, 0, ms);
      recordLatency(c, 0, 200_000); // so that the max does not cap the percentile
      const p = latencyPercentile(c, 0, 0.5);
      expect(p).toBeGreaterThanOrEqual(ms);
      expect(p).toBeLessThanOrEqual(ms * 1.25);
    }
  });

  it('gives percentiles of many samples, capped by the maximum', () => {
    const c = new Uint32Array(LATENCY_SLOTS + 10);
    for (let ms = 1; ms <= 1_000; ms++) recordLatency(c, 10, ms);
    const s = latencySummary(c, 10);
    expect(s.count).toBe(1_000);
    expect(s.max).toBe(1_000);
    expect(s.p50).toBeGreaterThanOrEqual(500);
    expect(s.p50).toBeLessThanOrEqual(625);
    expect(s.p99).toBeGreaterThanOrEqual(990);
    expect(s.p99).toBeLessThanOrEqual(1_000);
    expect(c.subarray(0, 10).every((v) => v === 0)).toBe(true); // stays inside its block
  });

  it('keeps the largest latency beyond the last bucket', () => {
    const c = new Uint32Array(LATENCY_SLOTS);
    recordLatency(c, 0, 10 * 60_000);
    expect(latencySummary(c, 0)).toMatchObject({ count: 1, p99: 600_000, max: 600_000 });
  });

  it('halves every bucket before one overflows, keeping the shape', () => {
    const c = new Uint32Array(LATENCY_SLOTS);
    recordLatency(c, 0, 1);
    recordLatency(c, 0, 100);
    // Bring the 1 ms bucket (slot 2 + 1) to the edge without 2^31 calls.
    c[2 + 1] = 0x8000_0000 - 1;
    c[0] = 0x8000_0000;
    recordLatency(c, 0, 1);
    expect(c[2 + 1]).toBe(0x4000_0000);
    expect(c[0]).toBe(0x4000_0000); // 100 ms's single sample halved away
    expect(latencyPercentile(c, 0, 0.5)).toBe(1);
  });
});

describe('CounterSlab', () => {
  it('hands out disjoint zeroed blocks, sixteen to a shared array, and reuses freed ones', () => {
    const slab = new CounterSlab();
    const blocks = Array.from({ length: 17 }, () => slab.alloc(10));
    expect(new Set(blocks.slice(0, 16).map((b) => b.array)).size).toBe(1);
    expect(blocks[16].array).not.toBe(blocks[0].array);
    expect(new Set(blocks.slice(0, 16).map((b) => b.base)).size).toBe(16);
    blocks[3].array.fill(7, blocks[3].base, blocks[3].base + 10);
    slab.free(10, blocks[3]);
    const again = slab.alloc(10);
    expect(again).toEqual({ array: blocks[3].array, base: blocks[3].base });
    expect([...again.array.subarray(again.base, again.base + 10)]).toEqual(new Array(10).fill(0));
    expect(slab.alloc(20).array).not.toBe(blocks[16].array); // sizes have their own pools
  });
});
