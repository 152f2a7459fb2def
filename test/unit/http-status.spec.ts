import { defaultIsFailure } from '../../src/core/classification/failure-classification';
import { httpStatusKind, HttpStatusKind } from '../../src/core/classification/http-status';
import { isRetryableError, isRetryableHttpError } from '../../src/core/classification/retry-classification';

// The table of http-status.ts, written out again so that a change to it has to change this too.
const TRANSIENT = [408, 425, 429, 500, 502, 503, 504, 529];
const MEANING: Record<HttpStatusKind, { failure: boolean; retried: boolean; httpPreset: boolean }> = {
  transient: { failure: true, retried: true, httpPreset: true },
  server: { failure: true, retried: true, httpPreset: false },
  client: { failure: false, retried: false, httpPreset: false },
  answered: { failure: false, retried: false, httpPreset: false },
  unknown: { failure: true, retried: true, httpPreset: false },
};

function documentedKind(status: number): HttpStatusKind {
  if (TRANSIENT.includes(status)) return 'transient';
  if (status >= 500 && status <= 599) return 'server';
  if (status >= 400 && status <= 499) return 'client';
  if (status >= 100 && status <= 399) return 'answered';
  return 'unknown';
}

/** The ways a status reaches the rules: SDKs, Node clients, axios, Nest's HttpException. */
const shapes: Array<[string, (status: number) => unknown]> = [
  ['status', (status) => Object.assign(new Error(`HTTP ${status}`), { status })],
  ['statusCode', (status) => Object.assign(new Error(`HTTP ${status}`), { statusCode: status })],
  ['response.status', (status) => Object.assign(new Error('axios'), { response: { status } })],
  ['getStatus()', (status) => ({ getStatus: () => status, getResponse: () => ({}) })],
];

function classify(status: number, make: (status: number) => unknown) {
  const error = make(status);
  return {
    kind: httpStatusKind(status),
    failure: defaultIsFailure(error),
    retried: isRetryableError(error),
    httpPreset: isRetryableHttpError(error),
  };
}

describe('one HTTP status table', () => {
  const all = Array.from({ length: 500 }, (_, i) => 100 + i);

  it.each(shapes)('every status 100..599 as %s means what the table says', (_label, make) => {
    const actual = all.map((status) => [status, classify(status, make)]);
    const expected = all.map((status) => {
      const kind = documentedKind(status);
      return [status, { kind, ...MEANING[kind] }];
    });
    expect(actual).toEqual(expected);
  });

  it.each([0, -1, 99, 600, 999, NaN, Infinity])(
    '%s is unknown: counts, retried by default, not by the HTTP preset',
    (status) => {
      // getStatus() is the only shape that passes a non-integer on; the others ignore it.
      expect(classify(status, shapes[3][1])).toEqual({ kind: 'unknown', ...MEANING.unknown });
    },
  );

  it('a 429 that says insufficient_quota is the one transient status the HTTP preset declines', () => {
    const quota = Object.assign(new Error('quota'), { status: 429, code: 'insufficient_quota' });
    expect([defaultIsFailure(quota), isRetryableError(quota), isRetryableHttpError(quota)]).toEqual([
      true,
      true,
      false,
    ]);
  });
});
