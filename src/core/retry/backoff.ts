/**
 * Backoff delays as immutable iterators (the cockatiel model): each {@link Backoff} holds the delay
 * before one retry, and `next()` returns a new object for the following retry, so a sequence can
 * be shared, replayed or forked without hidden state. Randomness is injected.
 */

/**
 * How a delay is randomised: `full` draws from [0, d], `equal` from [d/2, d], `decorrelated`
 * follows the AWS formula `min(maxDelay, random_between(baseDelay, previous * 3))`, `none` keeps d.
 * @publicApi
 */
export type JitterMode = 'full' | 'equal' | 'decorrelated' | 'none';

/** What shapes a delay sequence. @publicApi */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter, in ms. */
  readonly baseDelay: number;
  /** Upper bound of every delay, in ms. */
  readonly maxDelay: number;
  /** Growth factor between delays (not used by `decorrelated`, which follows the AWS formula). */
  readonly multiplier: number;
  /** How the delay is randomised. */
  readonly jitter: JitterMode;
}

/** The delay before one retry, and the way to the next one. @publicApi */
export interface Backoff {
  /** Which retry this delay precedes: 1 for the first retry (the second attempt). */
  readonly retry: number;
  /** The delay in ms, jittered, within [0, maxDelay]. */
  readonly delayMs: number;
  /** The backoff of the following retry. Does not change this one. */
  next(): Backoff;
}

/** A uniform random number in [0, 1), such as `clock.random`. @publicApi */
export type RandomSource = () => number;

/** AWS "decorrelated jitter": sleep = min(cap, random_between(base, previous * 3)). */
const DECORRELATED_FACTOR = 3;

/**
 * The delay before retry `retry` without jitter: `min(maxDelay, baseDelay * multiplier^(retry - 1))`.
 * @publicApi
 */
export function exponentialDelay(options: BackoffOptions, retry: number): number {
  return Math.min(options.maxDelay, options.baseDelay * Math.pow(options.multiplier, retry - 1));
}

/**
 * The backoff before the first retry. Call `next()` for each following retry.
 * @publicApi
 */
export function createBackoff(options: BackoffOptions, random: RandomSource): Backoff {
  const first = Math.min(options.maxDelay, options.baseDelay);
  return new JitteredBackoff(options, random, 1, first, options.baseDelay);
}

/** The first `count` delays of a sequence, for tests, docs and previews. @publicApi */
export function backoffDelays(options: BackoffOptions, random: RandomSource, count: number): number[] {
  const out: number[] = [];
  if (count <= 0) return out;
  let b = createBackoff(options, random);
  out.push(b.delayMs);
  while (out.length < count) {
    b = b.next();
    out.push(b.delayMs);
  }
  return out;
}

class JitteredBackoff implements Backoff {
  readonly delayMs: number;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: RandomSource,
    readonly retry: number,
    /** The un-jittered exponential delay of this retry, already capped. */
    private readonly ceiling: number,
    /** The previous decorrelated delay (the base for the first retry). */
    previous: number,
  ) {
    this.delayMs = jitter(options, ceiling, previous, random);
  }

  next(): Backoff {
    // Capped growth step by step: min(max, min(max, x) * m) === min(max, x * m) for m >= 1, and no overflow.
    const ceiling = Math.min(this.options.maxDelay, this.ceiling * this.options.multiplier);
    return new JitteredBackoff(this.options, this.random, this.retry + 1, ceiling, this.delayMs);
  }
}

function jitter(options: BackoffOptions, ceiling: number, previous: number, random: RandomSource): number {
  switch (options.jitter) {
    case 'none':
      return ceiling;
    case 'full':
      return ceiling * unit(random);
    case 'equal':
      return ceiling / 2 + (ceiling / 2) * unit(random);
    case 'decorrelated': {
      const low = options.baseDelay;
      const high = Math.max(low, previous * DECORRELATED_FACTOR);
      return Math.min(options.maxDelay, low + (high - low) * unit(random));
    }
  }
}

/** A random draw clamped to [0, 1], so a misbehaving source can never push a delay out of bounds. */
function unit(random: RandomSource): number {
  const r = random();
  return r > 0 ? (r < 1 ? r : 1) : 0;
}
