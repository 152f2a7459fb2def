import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { TimeoutError } from '../../src/core/common/errors';
import { defaultIsFailure } from '../../src/core/classification/failure-classification';
import { isRetryableError } from '../../src/core/classification/retry-classification';
import { APIUserAbortError } from '../support/retry-error-shapes';

const withStatus = (status: number, key: 'status' | 'statusCode' = 'status') =>
  Object.assign(new Error(`HTTP ${status}`), { [key]: status });

describe('defaultIsFailure', () => {
  it.each([
    ['our TimeoutError', new TimeoutError(100, 'svc')],
    ["AbortSignal.timeout()'s TimeoutError", new DOMException('timed out', 'TimeoutError')],
    ['a connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    [
      "undici's fetch failed",
      new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
    ],
    ['a 500', withStatus(500)],
    ['a 503 statusCode', withStatus(503, 'statusCode')],
    ['a 408', withStatus(408)],
    ['a 429', withStatus(429)],
    ['a 425 (too early)', withStatus(425)],
    ['an axios-shaped 502', Object.assign(new Error('bad gateway'), { response: { status: 502 } })],
    ['a Nest 503', new ServiceUnavailableException()],
    ['status 0 (no response at all)', withStatus(0)],
    ['a plain Error', new Error('something broke')],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
    ['null', null],
  ])('counts %s', (_label, error) => {
    expect(defaultIsFailure(error)).toBe(true);
  });

  it.each([
    ['a 400', withStatus(400)],
    [
      'an SDK AuthenticationError (status 401)',
      Object.assign(new Error('invalid x-api-key'), { status: 401, name: 'AuthenticationError' }),
    ],
    ['a 404 statusCode', withStatus(404, 'statusCode')],
    ['a 422', withStatus(422)],
    ['an axios-shaped 403', Object.assign(new Error('forbidden'), { response: { status: 403 } })],
    ['a Nest NotFoundException', new NotFoundException()],
    ['a Nest BadRequestException (validation)', new BadRequestException(['name must be a string'])],
    ['retryable === false', Object.assign(withStatus(503), { retryable: false })],
    ['isClientError', Object.assign(new Error('bad input'), { isClientError: true })],
    ["the caller's abort (DOMException)", new DOMException('aborted', 'AbortError')],
    ["Node's ABORT_ERR", Object.assign(new Error('The operation was aborted'), { code: 'ABORT_ERR' })],
    ["an LLM SDK's APIUserAbortError (name 'Error')", new APIUserAbortError()],
  ])('does not count %s', (_label, error) => {
    expect(defaultIsFailure(error)).toBe(false);
  });

  it('reads the reason of a real AbortController as an abort', () => {
    const controller = new AbortController();
    controller.abort();
    expect(defaultIsFailure(controller.signal.reason)).toBe(false);
  });
});

describe('one status table for the breaker and the default retry rule', () => {
  it('counts exactly the 4xx statuses that are retried (408, 425, 429)', () => {
    const counted: number[] = [];
    for (let status = 400; status < 500; status++) {
      const error = withStatus(status);
      expect([status, defaultIsFailure(error)]).toEqual([status, isRetryableError(error)]);
      if (defaultIsFailure(error)) counted.push(status);
    }
    expect(counted).toEqual([408, 425, 429]);
  });
});
