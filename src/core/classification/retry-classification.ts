/**
 * Which errors are worth retrying. Three classifiers, each reading the shapes real errors come in
 * (provider SDKs, undici, Prisma, pg) through error-shapes.ts, so none of those packages is imported:
 *
 * - {@link isRetryableError}: the default. Retries anything but what cannot succeed on a retry.
 * - {@link isRetryableHttpError}: the HTTP preset. Retries only known transient network and HTTP failures.
 * - {@link isRetryableDatabaseError}: the DATABASE preset. Retries only known transient Prisma / PostgreSQL codes.
 *
 * The statuses come from http-status.ts, the database codes from database-codes.ts.
 */
import { causeChain, codesOf, isAbortLike, isMarkedNonRetryable, statusOf } from '../common/error-shapes.js';
import { hasErrorKind, isCircuitOpenError, isTimeoutError } from '../common/errors.js';
import {
  databaseCodeKind,
  databaseCodesOf,
  driverAdapterCauses,
  TRANSIENT_ADAPTER_KINDS,
} from './database-codes.js';
import { isFailureStatus, isTransientStatus } from './http-status.js';

// The retry presets read the Retry-After rule together with the retry rules, from this file.
export { parseRetryAfter, retryAfterMsOf } from './retry-after.js';

/** Network error codes the HTTP preset retries, wherever they sit in the cause chain. */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Class names of provider SDK connection errors (Anthropic, OpenAI): the request never got an answer. */
const CONNECTION_ERROR_CLASSES = new Set(['APIConnectionError', 'APIConnectionTimeoutError']);

const TIMEOUT_TEXT = /timed? ?out/i;

/** The checks every classifier shares: what must never be retried, whatever the preset. */
function neverRetried(error: unknown): boolean {
  return (
    isCircuitOpenError(error) ||
    isAbortLike(error) ||
    isMarkedNonRetryable(error) ||
    hasErrorKind(error, 'ReliabilityConfigError')
  );
}

/**
 * The default `retryIf`: retries any error except a 4xx (an `HttpException`, or a `status` /
 * `statusCode` below 500, other than 408, 425 and 429), an error marked `retryable: false`
 * (or `isClientError: true`), a `CircuitOpenError`, an abort, and a configuration error. By status
 * it retries exactly what counts against a circuit by default (`isFailureStatus` of http-status.ts).
 * @publicApi
 */
export function isRetryableError(error: unknown): boolean {
  if (neverRetried(error)) return false;
  const status = statusOf(error);
  return status === undefined || isFailureStatus(status);
}

/**
 * The HTTP preset's `retryIf`. Retries network failures (undici's `TypeError: fetch failed` and
 * SDK connection errors, by the codes in the cause chain), timeouts, and the statuses 408, 425,
 * 429, 500, 502, 503, 504 and 529. Never retries any other status, nor a 429 whose body or code
 * says `insufficient_quota` (a billing problem: waiting does not help).
 * @publicApi
 */
export function isRetryableHttpError(error: unknown): boolean {
  if (neverRetried(error)) return false;
  const status = statusOf(error);
  if (status !== undefined) {
    if (!isTransientStatus(status)) return false;
    return !(status === 429 && mentionsInsufficientQuota(error, 0));
  }
  for (const code of codesOf(error)) if (RETRYABLE_NETWORK_CODES.has(code)) return true;
  return causeChain(error).some(isConnectionOrTimeout);
}

function isConnectionOrTimeout(link: unknown): boolean {
  if (isTimeoutError(link)) return true;
  if (typeof link !== 'object' || link === null) return false;
  const e = link as { name?: unknown; message?: unknown; constructor?: { name?: unknown } };
  const className = e.constructor?.name;
  if (typeof className === 'string' && CONNECTION_ERROR_CLASSES.has(className)) return true;
  if (typeof e.name === 'string' && TIMEOUT_TEXT.test(e.name)) return true;
  return typeof e.message === 'string' && TIMEOUT_TEXT.test(e.message);
}

const QUOTA_KEYS = ['code', 'type', 'error', 'body', 'data', 'response'] as const;

/** Looks for `insufficient_quota` in the code/type/body fields an SDK or HTTP client leaves on the error. */
function mentionsInsufficientQuota(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('insufficient_quota');
  if (typeof value !== 'object' || value === null || depth > 3) return false;
  const record = value as Record<string, unknown>;
  return QUOTA_KEYS.some((key) => mentionsInsufficientQuota(record[key], depth + 1));
}

/**
 * The DATABASE preset's `retryIf`, by codes only (never by message text): Prisma P1001, P1002,
 * P1008, P1017, P2024, P2034, P2037 and `PrismaClientInitializationError`; SQLSTATE 40001, 40P01,
 * 57P01, 57P02, 57P03, 57P05, 53300 and 08xxx (also when Prisma's driver adapter wraps them in P2010 / P2039),
 * the driver adapter's connection error kinds;
 * ECONNREFUSED and ECONNRESET; our `TimeoutError`. Never a constraint or validation error
 * (P2002, P2025, SQLSTATE classes 22 and 23...), even when a retryable code sits deeper in the chain.
 * @publicApi
 */
export function isRetryableDatabaseError(error: unknown): boolean {
  if (neverRetried(error)) return false;
  const codes = databaseCodesOf(error);
  let retryable = false;
  for (const code of codes) {
    const kind = databaseCodeKind(code);
    if (kind === 'permanent') return false;
    if (kind === 'transient' || kind === 'conflict') retryable = true;
  }
  if (retryable) return true;
  if (driverAdapterCauses(error).some((cause) => TRANSIENT_ADAPTER_KINDS.has(cause.kind as string)))
    return true;
  for (const link of causeChain(error)) {
    if (isTimeoutError(link)) return true;
    // Its `errorCode` is among the codes above: a permanent one (bad credentials...) returned false there.
    if (nameOf(link) === 'PrismaClientInitializationError') return true;
  }
  return false;
}

function nameOf(link: unknown): string | undefined {
  if (typeof link !== 'object' || link === null) return undefined;
  const name = (link as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}
