/**
 * Counter blocks for circuits, carved out of shared `Uint32Array`s. A typed array costs about
 * 190 bytes on top of its data (the JS objects and the backing store's bookkeeping), as much as
 * a circuit's whole latency histogram; with 10,000 circuits one array each would cost 1.9 MB of
 * pure overhead. Here 16 blocks share one array, and freed blocks are reused.
 */

const BLOCKS_PER_CHUNK = 16;

/** A block of `size` counters at `base` in `array`. */
export interface CounterBlock {
  readonly array: Uint32Array;
  readonly base: number;
}

class Pool {
  private chunk: Uint32Array | undefined = undefined;
  private used = BLOCKS_PER_CHUNK;
  private readonly freeArrays: Uint32Array[] = [];
  private readonly freeBases: number[] = [];

  constructor(private readonly size: number) {}

  alloc(): CounterBlock {
    if (this.freeArrays.length > 0) {
      return { array: this.freeArrays.pop()!, base: this.freeBases.pop()! };
    }
    if (this.used === BLOCKS_PER_CHUNK) {
      // A full chunk is referenced only by its circuits: once they are all gone, it is collected.
      this.chunk = new Uint32Array(this.size * BLOCKS_PER_CHUNK);
      this.used = 0;
    }
    return { array: this.chunk!, base: this.size * this.used++ };
  }

  free(block: CounterBlock): void {
    block.array.fill(0, block.base, block.base + this.size);
    this.freeArrays.push(block.array);
    this.freeBases.push(block.base);
  }
}

/** Hands out zeroed counter blocks by size. One per registry (and one for standalone circuits). */
export class CounterSlab {
  private readonly pools = new Map<number, Pool>();

  alloc(size: number): CounterBlock {
    let pool = this.pools.get(size);
    if (pool === undefined) {
      pool = new Pool(size);
      this.pools.set(size, pool);
    }
    return pool.alloc();
  }

  /**
   * Returns a block for reuse. The caller must stop writing to it: a retired circuit moves to a
   * private block first (see `CircuitBreaker.retire`).
   */
  free(size: number, block: CounterBlock): void {
    this.pools.get(size)?.free(block);
  }
}
