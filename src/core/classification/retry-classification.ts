/**
 * Which errors are worth retrying. Three classifiers, each reading the shapes real errors come in
 * (provider SDKs, undici, Prisma, pg) through error-shapes.ts, so none of those packages is imported:
 *
 * - {@link isRetryableError}: the default. Retries anything but what cannot succeed on a retry.
 * - {@link isRetryableHttpError}: the HTTP preset. Retries only known transient network and HTTP failures.
 * - {@link isRetryableDatabaseError}: the DATABASE preset. Retries only known transient Prisma / PostgreSQL codes.
 */
import {
  causeChain,
  codesOf,
  isAbortLike,
  isMarkedNonRetryable,
  statusOf,
  headerOf,
  TRANSIENT_CLIENT_STATUSES,
} from '../common/error-shapes.js';
import { hasErrorKind, isCircuitOpenError, isTimeoutError } from '../common/errors.js';

/** 4xx statuses that are worth retrying: the same table as the breaker's (408, 425, 429). */
const RETRYABLE_4XX = TRANSIENT_CLIENT_STATUSES;

/** Statuses the HTTP preset retries. 529 is Anthropic's "overloaded". */
export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504, 529]);

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
 * (or `isClientError: true`), a `CircuitOpenError`, an abort, and a configuration error.
 * @publicApi
 */
export function isRetryableError(error: unknown): boolean {
  if (neverRetried(error)) return false;
  const status = statusOf(error);
  if (status !== undefined && status >= 400 && status < 500) return RETRYABLE_4XX.has(status);
  if (status !== undefined && status >= 100 && status < 400) return false;
  return true;
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
    if (!RETRYABLE_HTTP_STATUSES.has(status)) return false;
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

/** Prisma codes the DATABASE preset retries: unreachable, timeouts, closed connection, pool timeout, write conflict, too many connections. */
export const RETRYABLE_PRISMA_CODES: ReadonlySet<string> = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'P2034',
  'P2037',
]);

/** PostgreSQL SQLSTATEs the DATABASE preset retries (plus the whole 08 class, connection exceptions). */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '40001',
  '40P01',
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '53300',
]);

/**
 * Kinds of the driver adapter's errors that mean the connection, not the query, failed. A raw query
 * (`$queryRaw`) reports them under the catch-all P2010, so the code alone does not tell.
 */
const TRANSIENT_ADAPTER_KINDS: ReadonlySet<string> = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
]);

/** Prisma codes that only wrap a driver error; the wrapped SQLSTATE decides. */
const PRISMA_WRAPPER_CODES = new Set(['P2010', 'P2039']);

/** Initialization failures that no retry can fix: bad credentials, no such database, access denied, bad schema. */
const PERMANENT_INIT_CODES = new Set(['P1000', 'P1003', 'P1010', 'P1012']);

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
    if (isPermanentDatabaseCode(code)) return false;
    if (isRetryableDatabaseCode(code)) retryable = true;
  }
  if (retryable) return true;
  if (driverAdapterCauses(error).some((cause) => TRANSIENT_ADAPTER_KINDS.has(cause.kind as string)))
    return true;
  for (const link of causeChain(error)) {
    if (isTimeoutError(link)) return true;
    if (nameOf(link) === 'PrismaClientInitializationError') {
      const initCode = (link as { errorCode?: unknown }).errorCode;
      return !(typeof initCode === 'string' && PERMANENT_INIT_CODES.has(initCode));
    }
  }
  return false;
}

function isRetryableDatabaseCode(code: string): boolean {
  return (
    RETRYABLE_PRISMA_CODES.has(code) ||
    RETRYABLE_SQLSTATES.has(code) ||
    /^08[0-9A-Z]{3}$/.test(code) ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET'
  );
}

/** Constraint, validation and data errors: the same query fails the same way every time. */
function isPermanentDatabaseCode(code: string): boolean {
  if (/^P2\d{3}$/.test(code)) {
    return !RETRYABLE_PRISMA_CODES.has(code) && !PRISMA_WRAPPER_CODES.has(code);
  }
  if (PERMANENT_INIT_CODES.has(code)) return true;
  // SQLSTATE classes: 22 data exception, 23 integrity constraint, 42 syntax or access rule, 28 authorization.
  return /^(22|23|42|28)[0-9A-Z]{3}$/.test(code);
}

/**
 * The driver adapter's errors that Prisma keeps under `meta.driverAdapterError`, with their causes,
 * wherever they sit in the cause chain.
 */
export function driverAdapterCauses(error: unknown): Array<Record<string, unknown>> {
  const causes: Array<Record<string, unknown>> = [];
  for (const link of causeChain(error)) {
    const adapterError = (link as { meta?: { driverAdapterError?: unknown } } | null)?.meta
      ?.driverAdapterError;
    if (adapterError === undefined) continue;
    for (const inner of causeChain(adapterError)) {
      if (typeof inner === 'object' && inner !== null) causes.push(inner as Record<string, unknown>);
    }
  }
  return causes;
}

/**
 * Codes along the cause chain, plus what Prisma keeps elsewhere: `errorCode` of an initialization
 * error, and the driver adapter's SQLSTATE (`meta.driverAdapterError.cause.originalCode` / `code`).
 */
export function databaseCodesOf(error: unknown): string[] {
  const codes = codesOf(error);
  for (const link of causeChain(error)) {
    if (typeof link !== 'object' || link === null) continue;
    const e = link as { errorCode?: unknown; originalCode?: unknown };
    if (typeof e.errorCode === 'string') codes.push(e.errorCode);
    if (typeof e.originalCode === 'string') codes.push(e.originalCode);
  }
  for (const cause of driverAdapterCauses(error)) {
    if (typeof cause.originalCode === 'string') codes.push(cause.originalCode);
    if (typeof cause.code === 'string') codes.push(cause.code);
  }
  return codes;
}

function nameOf(link: unknown): string | undefined {
  if (typeof link !== 'object' || link === null) return undefined;
  const name = (link as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * The delay a server asked for, in ms: `retry-after-ms` (milliseconds, as the OpenAI and Anthropic
 * APIs send), else `Retry-After` in seconds or as an HTTP date. Read from `headers` or
 * `response.headers`, plain object or fetch `Headers`. `undefined` when absent or unreadable.
 * @publicApi
 */
export function retryAfterMsOf(error: unknown, now: number): number | undefined {
  return parseRetryAfter(headerOf(error, 'retry-after-ms'), headerOf(error, 'retry-after'), now);
}

/**
 * Parses `retry-after-ms` and `Retry-After` header values into a delay in ms (never negative);
 * `retry-after-ms` wins when both are valid. `Retry-After` is read exactly as RFC 9110 (10.2.3)
 * defines it: delta-seconds, or an HTTP-date in its preferred form (IMF-fixdate) or one of the
 * two obsolete forms (rfc850-date, asctime-date). Anything else is ignored (`undefined`), so the
 * normal backoff applies.
 * @publicApi
 */
export function parseRetryAfter(
  retryAfterMs: string | undefined,
  retryAfter: string | undefined,
  now: number,
): number | undefined {
  if (retryAfterMs !== undefined) {
    const ms = parseDecimal(retryAfterMs);
    if (ms !== undefined) return Math.min(ms, RETRY_AFTER_LIMIT_MS);
  }
  if (typeof retryAfter !== 'string') return undefined;
  // Field values arrive without their surrounding whitespace (OWS); a proxy may leave some.
  const value = retryAfter.trim();
  if (DELTA_SECONDS.test(value)) return Math.min(Number(value) * 1000, RETRY_AFTER_LIMIT_MS);
  const at = parseHttpDate(value, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

/**
 * A delay too large to represent (hundreds of digits overflow to Infinity) still means "later than
 * any cap": RFC 9111 (1.2.2) reads such a delta-seconds as 2^31 s.
 */
const RETRY_AFTER_LIMIT_MS = 2 ** 31 * 1000;

const DECIMAL = /^\s*\d+(\.\d+)?\s*$/;

/** `retry-after-ms` (not in any RFC): milliseconds, fractions allowed. */
function parseDecimal(value: string): number | undefined {
  return DECIMAL.test(value) ? Number(value) : undefined;
}

/** delta-seconds = 1*DIGIT */
const DELTA_SECONDS = /^\d+$/;

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const DAY_LONG = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** rfc850-date (obsolete): `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC850_DATE = new RegExp(`^${DAY_LONG}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** asctime-date (obsolete): `Sun Nov  6 08:49:37 1994` (a one-digit day is padded with a space) */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

/**
 * An HTTP-date (RFC 9110 5.6.7) as epoch ms, or `undefined` when `value` is not exactly one, or
 * names no real date or time (31 Feb, 25:00). The weekday is not checked against the date: the
 * RFC makes it redundant. A two-digit rfc850 year is read in the century that puts it within 50
 * years of `now`'s year: more than 50 years ahead is the previous century (RFC 9110 5.6.7), 50 or
 * more behind the next one.
 */
function parseHttpDate(value: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC850_DATE.exec(value);
  if (m) {
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    else if (year <= thisYear - 50) year += 100;
    return utc(year, m[2], Number(m[1]), m[4], m[5], m[6]);
  }
  m = ASCTIME_DATE.exec(value);
  if (m) return utc(Number(m[6]), m[1], Number(m[2].trim()), m[3], m[4], m[5]);
  return undefined;
}

function utc(
  year: number,
  monthName: string,
  day: number,
  hours: string,
  minutes: string,
  seconds: string,
): number | undefined {
  const month = MONTHS.indexOf(monthName);
  const h = Number(hours);
  const min = Number(minutes);
  // 60 is a leap second (RFC 9110 5.6.7).
  const sec = Number(seconds);
  if (h > 23 || min > 59 || sec > 60 || day < 1) return undefined;
  const at = Date.UTC(year, month, day, h, min, sec);
  // Date.UTC rolls 31 Feb over into March: such a day does not exist.
  const date = new Date(at - (sec === 60 ? 1000 : 0));
  return date.getUTCDate() === day && date.getUTCMonth() === month ? at : undefined;
}
