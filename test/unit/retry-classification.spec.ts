import { CircuitOpenError, ReliabilityConfigError, TimeoutError } from '../../src/core/common/errors';
import {
  isRetryableDatabaseError,
  isRetryableError,
  isRetryableHttpError,
} from '../../src/core/classification/retry-classification';
import {
  anthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  BadRequestException,
  fetchFailed,
  HttpException,
  openAIError,
  pgError,
  prismaAdapterError,
  prismaInitError,
  prismaKnownError,
  prismaValidationError,
  ServiceUnavailableException,
  systemError,
  undiciError,
  usingRealPrismaErrors,
} from '../support/retry-error-shapes';

type Row = [label: string, error: unknown, retried: boolean];

const abortError = () => new DOMException('This operation was aborted', 'AbortError');

describe('default retryIf (no preset)', () => {
  const rows: Row[] = [
    ['plain Error', new Error('boom'), true],
    ['thrown string', 'boom', true],
    ['ECONNRESET', systemError('ECONNRESET'), true],
    ['TimeoutError', new TimeoutError(1_000, 'x'), true],
    ['status 500', Object.assign(new Error('x'), { status: 500 }), true],
    ['Nest ServiceUnavailableException (503)', new ServiceUnavailableException(), true],
    ['status 408', Object.assign(new Error('x'), { status: 408 }), true],
    ['status 425', Object.assign(new Error('x'), { statusCode: 425 }), true],
    ['status 429', Object.assign(new Error('x'), { status: 429 }), true],
    ['Nest BadRequestException (400)', new BadRequestException('bad'), false],
    ['Nest HttpException 404', new HttpException('missing', 404), false],
    ['statusCode 401', Object.assign(new Error('x'), { statusCode: 401 }), false],
    ['axios-like response.status 422', Object.assign(new Error('x'), { response: { status: 422 } }), false],
    ['status 304 (below 500)', Object.assign(new Error('x'), { status: 304 }), false],
    ['retryable: false', Object.assign(new Error('x'), { retryable: false }), false],
    ['CircuitOpenError', new CircuitOpenError('c', 'OPEN', 1_000), false],
    ['AbortError', abortError(), false],
    ['ReliabilityConfigError', new ReliabilityConfigError([{ field: 'f', value: 1, expected: 'e' }]), false],
    ['Anthropic 400 invalid_request_error', anthropicError(400, 'invalid_request_error'), false],
    ['Anthropic 529 overloaded_error', anthropicError(529, 'overloaded_error'), true],
  ];
  it.each(rows)('%s → retried: %s', (_label, error, retried) => {
    expect(isRetryableError(error)).toBe(retried);
  });
});

describe('HTTP preset retryIf (real error shapes)', () => {
  const refused = () => systemError('ECONNREFUSED');
  const rows: Row[] = [
    // undici: fetch() rejects with TypeError('fetch failed') and the socket error as its cause.
    ['undici fetch failed / ECONNREFUSED', fetchFailed(refused()), true],
    ['undici fetch failed / ECONNRESET', fetchFailed(systemError('ECONNRESET', 'read ECONNRESET')), true],
    [
      'undici fetch failed / ENOTFOUND',
      fetchFailed(systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND api')),
      true,
    ],
    [
      'undici fetch failed / UND_ERR_CONNECT_TIMEOUT',
      fetchFailed(undiciError('ConnectTimeoutError', 'UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error')),
      true,
    ],
    [
      'undici fetch failed / UND_ERR_HEADERS_TIMEOUT',
      fetchFailed(undiciError('HeadersTimeoutError', 'UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error')),
      true,
    ],
    [
      'undici fetch failed / AggregateError of ECONNREFUSED (IPv4 + IPv6)',
      fetchFailed(Object.assign(new AggregateError([refused(), refused()], ''), { code: undefined })),
      true,
    ],
    // Anthropic SDK: APIConnectionError → TypeError('fetch failed') → the socket error: two levels deep.
    [
      'Anthropic APIConnectionError → fetch failed → ECONNREFUSED',
      new APIConnectionError({ cause: fetchFailed(refused()) }),
      true,
    ],
    ['Anthropic APIConnectionError without cause', new APIConnectionError({}), true],
    ['Anthropic APIConnectionTimeoutError ("Request timed out.")', new APIConnectionTimeoutError(), true],
    ['plain Error("Request timed out.")', new Error('Request timed out.'), true],
    ['Error("request TIMED OUT")', new Error('request TIMED OUT'), true],
    [
      'DOMException TimeoutError (AbortSignal.timeout)',
      new DOMException('The operation timed out.', 'TimeoutError'),
      true,
    ],
    ['our TimeoutError', new TimeoutError(5_000, 'anthropic'), true],
    ['Anthropic 429 rate_limit_error', anthropicError(429, 'rate_limit_error'), true],
    ['Anthropic 529 overloaded_error', anthropicError(529, 'overloaded_error'), true],
    ['Anthropic 500 api_error', anthropicError(500, 'api_error'), true],
    ['Anthropic 502', anthropicError(502, 'api_error'), true],
    ['Anthropic 503', anthropicError(503, 'api_error'), true],
    ['Anthropic 504', anthropicError(504, 'api_error'), true],
    ['Anthropic 408', anthropicError(408, 'timeout_error'), true],
    ['Anthropic 425', anthropicError(425, 'too_early'), true],
    ['Anthropic 400 invalid_request_error', anthropicError(400, 'invalid_request_error'), false],
    ['Anthropic 401 authentication_error', anthropicError(401, 'authentication_error'), false],
    ['Anthropic 403 permission_error', anthropicError(403, 'permission_error'), false],
    ['Anthropic 404 not_found_error', anthropicError(404, 'not_found_error'), false],
    ['Anthropic 413 request_too_large', anthropicError(413, 'request_too_large'), false],
    ['Anthropic 501', anthropicError(501, 'api_error'), false],
    ['Anthropic APIUserAbortError', new APIUserAbortError(), false],
    [
      'OpenAI 429 rate_limit_exceeded',
      openAIError(429, { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }),
      true,
    ],
    [
      'OpenAI 429 insufficient_quota',
      openAIError(429, {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      }),
      false,
    ],
    [
      'axios-like 429 with insufficient_quota in response.data',
      Object.assign(new Error('Request failed with status code 429'), {
        response: { status: 429, data: { error: { code: 'insufficient_quota' } } },
      }),
      false,
    ],
    [
      '429 with insufficient_quota in a string body',
      Object.assign(new Error('429'), { statusCode: 429, body: '{"error":{"type":"insufficient_quota"}}' }),
      false,
    ],
    ['OpenAI 500', openAIError(500, { message: 'server error', type: 'server_error', code: null }), true],
    ['OpenAI 400', openAIError(400, { message: 'bad', type: 'invalid_request_error', code: null }), false],
    ['response.status 503', Object.assign(new Error('x'), { response: { status: 503 } }), true],
    ['statusCode 502', Object.assign(new Error('x'), { statusCode: 502 }), true],
    ['Nest HttpException 503', new HttpException('down', 503), true],
    ['Nest HttpException 400', new HttpException('bad', 400), false],
    [
      'a 400 whose message mentions a timeout',
      Object.assign(new Error('invalid timeout param'), { status: 400 }),
      false,
    ],
    ['plain Error', new Error('boom'), false],
    ['TypeError from a bug', new TypeError("Cannot read properties of undefined (reading 'x')"), false],
    ['fetch failed with a non-network cause', fetchFailed(new Error('invalid URL')), false],
    ['CircuitOpenError', new CircuitOpenError('c', 'OPEN', 1_000), false],
    ['AbortError', abortError(), false],
    ['marked retryable: false', Object.assign(fetchFailed(refused()), { retryable: false }), false],
  ];
  it.each(rows)('%s → retried: %s', (_label, error, retried) => {
    expect(isRetryableHttpError(error)).toBe(retried);
  });
});

describe('DATABASE preset retryIf (real error shapes)', () => {
  it(`uses ${usingRealPrismaErrors ? "Prisma's own error classes" : 'same-shaped stand-ins for Prisma errors'}`, () => {
    const e = prismaKnownError('P2002', 'Unique constraint failed');
    expect(e.name).toBe('PrismaClientKnownRequestError');
    expect(usingRealPrismaErrors).toBe(true);
  });

  const rows: Row[] = [
    [
      'Prisma P1001 cannot reach the database',
      prismaKnownError('P1001', "Can't reach database server"),
      true,
    ],
    [
      'Prisma P1002 timed out',
      prismaKnownError('P1002', 'The database server was reached but timed out'),
      true,
    ],
    ['Prisma P1008 operations timed out', prismaKnownError('P1008', 'Operations timed out'), true],
    [
      'Prisma P1017 server closed the connection',
      prismaKnownError('P1017', 'Server has closed the connection.'),
      true,
    ],
    ['Prisma P2024 pool timeout', prismaKnownError('P2024', 'Timed out fetching a new connection'), true],
    [
      'Prisma P2034 write conflict / deadlock',
      prismaKnownError('P2034', 'Transaction failed due to a write conflict'),
      true,
    ],
    [
      'Prisma P2037 too many connections',
      prismaKnownError('P2037', 'Too many database connections opened'),
      true,
    ],
    [
      'PrismaClientInitializationError (P1001)',
      prismaInitError("Can't reach database server", 'P1001'),
      true,
    ],
    ['PrismaClientInitializationError (no code)', prismaInitError('engine failed to start'), true],
    [
      'PrismaClientInitializationError P1000 (bad credentials)',
      prismaInitError('Authentication failed', 'P1000'),
      false,
    ],
    [
      'Prisma P2002 unique constraint',
      prismaKnownError('P2002', 'Unique constraint failed on the fields: (`email`)'),
      false,
    ],
    ['Prisma P2025 record not found', prismaKnownError('P2025', 'Record to update not found.'), false],
    ['Prisma P2003 foreign key', prismaKnownError('P2003', 'Foreign key constraint failed'), false],
    ['Prisma P2011 null constraint', prismaKnownError('P2011', 'Null constraint violation'), false],
    [
      'Prisma P2000 value too long',
      prismaKnownError('P2000', 'The provided value for the column is too long'),
      false,
    ],
    ['PrismaClientValidationError', prismaValidationError('Argument `email` is missing.'), false],
    [
      'a P2002 whose message says "connection timed out" (codes, not messages)',
      prismaKnownError('P2002', 'Unique constraint failed; connection timed out'),
      false,
    ],
    [
      'Prisma adapter P2039 wrapping 57P01 admin shutdown',
      prismaAdapterError('57P01', 'terminating connection due to administrator command'),
      true,
    ],
    [
      'Prisma adapter P2039 wrapping 08006 connection failure',
      prismaAdapterError('08006', 'connection failure'),
      true,
    ],
    [
      'Prisma adapter P2010 (raw) wrapping 40001',
      prismaAdapterError('40001', 'could not serialize access', 'P2010'),
      true,
    ],
    [
      'Prisma adapter P2010 (raw) wrapping 23505',
      prismaAdapterError('23505', 'duplicate key value', 'P2010'),
      false,
    ],
    ['Prisma adapter P2039 wrapping 42P01 (no table)', prismaAdapterError('42601', 'syntax error'), false],
    [
      'pg 40001 serialization_failure',
      pgError('40001', 'could not serialize access due to concurrent update'),
      true,
    ],
    ['pg 40P01 deadlock_detected', pgError('40P01', 'deadlock detected'), true],
    [
      'pg 57P01 admin_shutdown',
      pgError('57P01', 'terminating connection due to administrator command'),
      true,
    ],
    ['pg 57P03 cannot_connect_now', pgError('57P03', 'the database system is starting up'), true],
    ['pg 08006 connection_failure', pgError('08006', 'connection failure'), true],
    ['pg 08003 connection_does_not_exist', pgError('08003', 'connection does not exist'), true],
    ['pg 53300 too_many_connections', pgError('53300', 'sorry, too many clients already'), true],
    ['pg 23505 unique_violation', pgError('23505', 'duplicate key value violates unique constraint'), false],
    [
      'pg 23503 foreign_key_violation',
      pgError('23503', 'insert or update violates foreign key constraint'),
      false,
    ],
    ['pg 22P02 invalid_text_representation', pgError('22P02', 'invalid input syntax for type uuid'), false],
    ['pg 42P01 undefined_table', pgError('42P01', 'relation "x" does not exist'), false],
    ['ECONNREFUSED (pg connect)', systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), true],
    [
      'ECONNRESET in the cause chain',
      Object.assign(new Error('query failed'), { cause: systemError('ECONNRESET') }),
      true,
    ],
    ['our TimeoutError (query timeout)', new TimeoutError(5_000, 'db'), true],
    [
      'plain Error "Connection terminated unexpectedly" (no code)',
      new Error('Connection terminated unexpectedly'),
      false,
    ],
    ['plain Error mentioning deadlock (no code)', new Error('deadlock detected'), false],
    ['CircuitOpenError', new CircuitOpenError('db', 'OPEN', 1_000), false],
    ['HTTP 503 (not a database error)', Object.assign(new Error('x'), { status: 503 }), false],
  ];
  it.each(rows)('%s → retried: %s', (_label, error, retried) => {
    expect(isRetryableDatabaseError(error)).toBe(retried);
  });
});

// The code-based rules that DatabaseService needed are the DATABASE preset's own, so both agree.
describe('DATABASE preset: server-gone SQLSTATEs and driver adapter connection kinds', () => {
  it.each([
    ['57P02 crash shutdown', Object.assign(new Error('terminating connection'), { code: '57P02' })],
    [
      'ConnectionClosed under P2010',
      Object.assign(new Error('Raw query failed'), {
        code: 'P2010',
        meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'ConnectionClosed' } } },
      }),
    ],
  ])('retries %s', (_name, error) => {
    expect(isRetryableDatabaseError(error)).toBe(true);
  });

  it('still never retries a constraint error that wraps a connection kind', () => {
    const error = Object.assign(new Error('Unique constraint failed'), {
      code: 'P2002',
      meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } },
    });
    expect(isRetryableDatabaseError(error)).toBe(false);
  });
});
