/**
 * Reads the shapes that real errors come in (HTTP SDKs, undici, Prisma, pg) without importing
 * any of them. What a status or a code means is decided in core/classification.
 */

import { hasErrorKind } from './errors.js';

const MAX_CAUSE_DEPTH = 8;

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * The HTTP status of an error: `status`, `statusCode`, `response.status`, or a Nest
 * `HttpException`'s `getStatus()`. `undefined` when none is a number.
 * @publicApi
 */
export function statusOf(error: unknown): number | undefined {
  const e = asRecord(error);
  if (!e) return undefined;
  for (const candidate of [
    e.status,
    e.statusCode,
    asRecord(e.response)?.status,
    asRecord(e.response)?.statusCode,
  ]) {
    if (typeof candidate === 'number' && Number.isInteger(candidate)) return candidate;
  }
  if (typeof e.getStatus === 'function') {
    const s = (e.getStatus as () => unknown).call(e);
    if (typeof s === 'number') return s;
  }
  return undefined;
}

/** The error and its `cause` chain, outermost first (bounded, cycle-safe). */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (
    current !== undefined &&
    current !== null &&
    chain.length < MAX_CAUSE_DEPTH &&
    !chain.includes(current)
  ) {
    chain.push(current);
    current = asRecord(current)?.cause;
  }
  return chain;
}

/** Every string `code` (and `errno` name) found along the cause chain: `ECONNRESET`, `P1001`, `40001`... */
export function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (const link of causeChain(error)) {
    const code = asRecord(link)?.code;
    if (typeof code === 'string') codes.push(code);
    // AggregateError (e.g. undici connecting to several addresses) keeps the real causes in `errors`.
    const errors = asRecord(link)?.errors;
    if (Array.isArray(errors)) {
      for (const inner of errors.slice(0, MAX_CAUSE_DEPTH)) {
        const innerCode = asRecord(inner)?.code;
        if (typeof innerCode === 'string') codes.push(innerCode);
      }
    }
  }
  return codes;
}

/** The class name of each link of the cause chain, for shape checks like `PrismaClientInitializationError`. */
export function namesOf(error: unknown): string[] {
  return causeChain(error).map((link) => {
    const r = asRecord(link);
    return typeof r?.name === 'string'
      ? r.name
      : ((r?.constructor as { name?: string } | undefined)?.name ?? '');
  });
}

/** Reads a header from `headers` or `response.headers`, whether a plain object or a fetch `Headers`. */
export function headerOf(error: unknown, name: string): string | undefined {
  const e = asRecord(error);
  for (const holder of [e?.headers, asRecord(e?.response)?.headers]) {
    const value = readHeader(holder, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

function readHeader(headers: unknown, name: string): string | undefined {
  const h = asRecord(headers);
  if (!h) return undefined;
  if (typeof h.get === 'function') {
    const v = (h.get as (n: string) => unknown).call(h, name);
    return typeof v === 'string' ? v : undefined;
  }
  const lower = name.toLowerCase();
  for (const key of Object.keys(h)) {
    if (key.toLowerCase() === lower) {
      const v = h[key];
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return String(v);
      if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    }
  }
  return undefined;
}

/**
 * True for a timeout: the library's `TimeoutError` (from any copy of the package) or anything named
 * `TimeoutError`, such as the `DOMException` of `AbortSignal.timeout()`.
 */
export function isTimeoutLike(error: unknown): boolean {
  return hasErrorKind(error, 'TimeoutError') || asRecord(error)?.name === 'TimeoutError';
}

/**
 * True for the caller's abort: an `AbortError` / `ABORT_ERR`-shaped error (DOMException, undici,
 * Node), or the `APIUserAbortError` of the Anthropic and OpenAI SDKs, whose `name` is plain `Error`.
 */
export function isAbortLike(error: unknown): boolean {
  const e = asRecord(error);
  if (e === undefined) return false;
  return (
    e.name === 'AbortError' ||
    e.code === 'ABORT_ERR' ||
    (e.constructor as { name?: unknown } | undefined)?.name === 'APIUserAbortError'
  );
}

/** True when the error carries `retryable === false` or `isClientError === true`. */
export function isMarkedNonRetryable(error: unknown): boolean {
  const e = asRecord(error);
  return e?.retryable === false || e?.isClientError === true;
}
