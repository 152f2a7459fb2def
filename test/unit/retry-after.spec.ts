import { parseRetryAfter, retryAfterMsOf } from '../../src/core/classification/retry-after';
import { anthropicError, openAIError } from '../support/retry-error-shapes';

describe('Retry-After', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  it('reads seconds', () => {
    expect(parseRetryAfter(undefined, '120', now)).toBe(120_000);
    expect(parseRetryAfter(undefined, '0', now)).toBe(0);
  });

  // RFC 9110 10.2.3: Retry-After = HTTP-date / delta-seconds; HTTP-date = IMF-fixdate / obs-date.
  const rfc9110: [string, string, number | undefined][] = [
    ['delta-seconds', '120', 120_000],
    ['delta-seconds with leading zeros', '007', 7_000],
    ['delta-seconds with surrounding whitespace (OWS)', ' 5 ', 5_000],
    ['IMF-fixdate', 'Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['IMF-fixdate in the past', 'Sun, 01 Mar 2026 11:00:00 GMT', 0],
    ['IMF-fixdate with a leap second', 'Sun, 01 Mar 2026 12:00:60 GMT', 60_000],
    ['rfc850-date', 'Sunday, 01-Mar-26 12:01:00 GMT', 60_000],
    ['rfc850-date more than 50 years ahead is last century', 'Monday, 01-Mar-99 12:00:00 GMT', 0],
    // RFC 9111 1.2.2: a delta-seconds too large to represent is read as 2^31 s (beyond any cap).
    ['delta-seconds that overflows a double', '1' + '0'.repeat(306), 2 ** 31 * 1000],
    ['delta-seconds of 400 digits', '1'.padEnd(400, '0'), 2 ** 31 * 1000],
    ['asctime-date, two-digit day', 'Sun Mar 01 12:00:10 2026', 10_000],
    ['asctime-date, space-padded day', 'Sun Mar  1 12:00:20 2026', 20_000],
    // Not one of the forms: ignored, so the normal backoff applies.
    ['a fraction of seconds', '1.5', undefined],
    ['a negative number', '-5', undefined],
    ['a unit', '1s', undefined],
    ['a list', '5, 7', undefined],
    ['words and a digit', 'soon 5', undefined],
    ['a day name and a digit', 'Tue 3', undefined],
    ['words and a year', 'abc 2099', undefined],
    ['a phrase', 'in 10 min', undefined],
    ['an ISO 8601 date', '2026-03-01T12:00:30Z', undefined],
    ['IMF-fixdate without GMT', 'Sun, 01 Mar 2026 12:00:30', undefined],
    ['IMF-fixdate in another zone', 'Sun, 01 Mar 2026 12:00:30 +0100', undefined],
    ['IMF-fixdate with a one-digit day', 'Sun, 1 Mar 2026 12:00:30 GMT', undefined],
    ['IMF-fixdate in lower case', 'sun, 01 mar 2026 12:00:30 gmt', undefined],
    ['IMF-fixdate with a long day name', 'Sunday, 01 Mar 2026 12:00:30 GMT', undefined],
    ['IMF-fixdate of a day that does not exist', 'Tue, 31 Feb 2026 12:00:30 GMT', undefined],
    ['IMF-fixdate at hour 25', 'Sun, 01 Mar 2026 25:00:00 GMT', undefined],
    ['rfc850-date with a four-digit year', 'Sunday, 01-Mar-2026 12:00:30 GMT', undefined],
    ['asctime-date with a zone', 'Sun Mar  1 12:00:20 2026 GMT', undefined],
    ['an empty value', '', undefined],
  ];

  it.each(rfc9110)('Retry-After: %s (%j)', (_kind, value, expected) => {
    expect(parseRetryAfter(undefined, value, now)).toBe(expected);
  });

  it('reads an overflowing retry-after-ms as longer than any cap, not as absent', () => {
    expect(parseRetryAfter('9'.repeat(400), undefined, now)).toBe(2 ** 31 * 1000);
  });

  it('reads a two-digit rfc850 year in the century nearest to now (sliding window)', () => {
    const endOf2099 = Date.parse('2099-12-31T23:59:50Z');
    expect(parseRetryAfter(undefined, 'Friday, 01-Jan-00 00:00:00 GMT', endOf2099)).toBe(10_000);
    // 50 years ahead is not "more than 50 years in the future": 2110, not 2010.
    const in2060 = Date.parse('2060-01-01T00:00:00Z');
    const delay = parseRetryAfter(undefined, 'Thursday, 01-Jan-10 00:00:00 GMT', in2060);
    expect(new Date(in2060 + delay!).toISOString()).toBe('2110-01-01T00:00:00.000Z');
  });

  it('reads an HTTP date, relative to the clock, never negative', () => {
    expect(parseRetryAfter(undefined, 'Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(undefined, 'Sun, 01 Mar 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('prefers retry-after-ms and ignores garbage', () => {
    expect(parseRetryAfter('250', '10', now)).toBe(250);
    expect(parseRetryAfter('soon', '10', now)).toBe(10_000);
    expect(parseRetryAfter(undefined, 'soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, '-5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, undefined, now)).toBeUndefined();
  });

  it('reads fetch Headers (SDK errors) and plain objects, from headers or response.headers', () => {
    expect(retryAfterMsOf(anthropicError(429, 'rate_limit_error', { 'retry-after': '7' }), now)).toBe(7_000);
    expect(
      retryAfterMsOf(
        openAIError(429, { message: 'm', type: 't', code: null }, { 'retry-after-ms': '1200' }),
        now,
      ),
    ).toBe(1_200);
    expect(retryAfterMsOf(Object.assign(new Error('x'), { headers: { 'Retry-After': '3' } }), now)).toBe(
      3_000,
    );
    expect(
      retryAfterMsOf(
        Object.assign(new Error('x'), {
          response: { status: 503, headers: new Headers({ 'Retry-After': 'Sun, 01 Mar 2026 12:01:00 GMT' }) },
        }),
        now,
      ),
    ).toBe(60_000);
    expect(retryAfterMsOf(new Error('no headers'), now)).toBeUndefined();
  });
});
