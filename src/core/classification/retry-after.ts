/**
 * The delay a server asks for before the next attempt: `Retry-After` (RFC 9110 10.2.3) and the
 * `retry-after-ms` header that the OpenAI and Anthropic APIs add.
 */
import { headerOf } from '../common/error-shapes.js';

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
