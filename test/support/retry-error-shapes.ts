/**
 * Errors shaped like the real ones, for classification tests: the Anthropic and OpenAI SDKs
 * (Stainless-generated: `status`, a fetch `Headers`, the JSON body in `error`), undici's fetch
 * failures, Nest's HttpException, pg's DatabaseError, and Prisma's errors (the real classes from
 * @prisma/client/runtime when they load, else same-shaped stand-ins).
 */

// --- Anthropic SDK (src/core/error.ts of anthropic-sdk-typescript) --------------------------------

export class AnthropicError extends Error {}

export class AnthropicAPIError extends AnthropicError {
  readonly status: number | undefined;
  readonly headers: Headers | undefined;
  readonly error: object | undefined;
  readonly requestID: string | null | undefined;
  readonly type: string | null;

  constructor(
    status: number | undefined,
    error: any,
    message: string | undefined,
    headers: Headers | undefined,
  ) {
    super(
      status && (error?.error?.message ?? message)
        ? `${status} ${error?.error?.message ?? message}`
        : message,
    );
    this.status = status;
    this.headers = headers;
    this.requestID = headers?.get('request-id');
    this.error = error;
    this.type = error?.error?.type ?? null;
  }
}

/** The SDK names its classes; the class name is what survives (instances keep `name === 'Error'`). */
export class APIConnectionError extends AnthropicAPIError {
  constructor({ message, cause }: { message?: string; cause?: Error }) {
    super(undefined, undefined, message || 'Connection error.', undefined);
    if (cause) (this as { cause?: unknown }).cause = cause;
  }
}

export class APIConnectionTimeoutError extends APIConnectionError {
  constructor({ message }: { message?: string } = {}) {
    super({ message: message ?? 'Request timed out.' });
  }
}

export class APIUserAbortError extends AnthropicAPIError {
  constructor() {
    super(undefined, undefined, 'Request was aborted.', undefined);
  }
}

/** `APIError.generate` for a response: the body is `{ type: 'error', error: { type, message } }`. */
export function anthropicError(
  status: number,
  type: string,
  headers: Record<string, string> = {},
): AnthropicAPIError {
  return new AnthropicAPIError(
    status,
    { type: 'error', error: { type, message: type } },
    undefined,
    new Headers({ 'request-id': 'req_011', ...headers }),
  );
}

// --- OpenAI SDK --------------------------------------------------------------------------------------

export class OpenAIAPIError extends Error {
  readonly status: number | undefined;
  readonly headers: Headers | undefined;
  readonly error: any;
  readonly code: string | null | undefined;
  readonly param: string | null | undefined;
  readonly type: string | undefined;

  constructor(status: number, error: any, headers: Headers) {
    super(`${status} ${error?.message ?? 'status code (no body)'}`);
    this.status = status;
    this.headers = headers;
    this.error = error;
    this.code = error?.code;
    this.param = error?.param;
    this.type = error?.type;
  }
}

export function openAIError(
  status: number,
  body: { message: string; type: string; code: string | null },
  headers: Record<string, string> = {},
): OpenAIAPIError {
  return new OpenAIAPIError(
    status,
    { ...body, param: null },
    new Headers({ 'x-request-id': 'req_1', ...headers }),
  );
}

// --- undici fetch failures ------------------------------------------------------------------------

/** A Node system error: `code`, `errno`, `syscall`, as `net` raises them. */
export function systemError(code: string, message = `connect ${code} 127.0.0.1:1`): Error {
  return Object.assign(new Error(message), {
    code,
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 1,
  });
}

/** What `fetch()` rejects with when the connection fails: `TypeError: fetch failed` with the cause. */
export function fetchFailed(cause: Error): TypeError {
  return new TypeError('fetch failed', { cause });
}

/** undici's own errors (`ConnectTimeoutError`, `HeadersTimeoutError`, `SocketError`) carry `UND_ERR_*` codes. */
export function undiciError(name: string, code: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return Object.assign(e, { code });
}

// --- Nest -----------------------------------------------------------------------------------------

export { BadRequestException, HttpException, ServiceUnavailableException } from '@nestjs/common';

// --- pg -------------------------------------------------------------------------------------------

/** pg's `DatabaseError`: a SQLSTATE in `code`, plus `severity` (the shape Prisma's pg adapter checks). */
export function pgError(code: string, message: string): Error {
  const e = new Error(message);
  e.name = 'error';
  return Object.assign(e, { code, severity: 'ERROR', length: 100 });
}

// --- Prisma ---------------------------------------------------------------------------------------

interface PrismaRuntime {
  PrismaClientKnownRequestError: new (
    message: string,
    info: { code: string; clientVersion: string; meta?: Record<string, unknown> },
  ) => Error & { code: string };
  PrismaClientInitializationError: new (message: string, clientVersion: string, errorCode?: string) => Error;
  PrismaClientValidationError: new (message: string, info: { clientVersion: string }) => Error;
}

function loadPrismaRuntime(): PrismaRuntime | undefined {
  try {
    return require('@prisma/client/runtime/client') as PrismaRuntime;
  } catch {
    return undefined;
  }
}

const runtime = loadPrismaRuntime();
/** True when the errors below are Prisma's own classes rather than stand-ins. */
export const usingRealPrismaErrors = runtime !== undefined;

export function prismaKnownError(code: string, message: string, meta?: Record<string, unknown>): Error {
  if (runtime)
    return new runtime.PrismaClientKnownRequestError(message, { code, clientVersion: '7.0.0', meta });
  const e = new Error(message);
  e.name = 'PrismaClientKnownRequestError';
  return Object.assign(e, { code, meta, clientVersion: '7.0.0' });
}

export function prismaInitError(message: string, errorCode?: string): Error {
  if (runtime) return new runtime.PrismaClientInitializationError(message, '7.0.0', errorCode);
  const e = new Error(message);
  e.name = 'PrismaClientInitializationError';
  return Object.assign(e, { errorCode, clientVersion: '7.0.0' });
}

export function prismaValidationError(message: string): Error {
  if (runtime) return new runtime.PrismaClientValidationError(message, { clientVersion: '7.0.0' });
  const e = new Error(message);
  e.name = 'PrismaClientValidationError';
  return e;
}

/**
 * Prisma 7 with a driver adapter (@prisma/adapter-pg): a PostgreSQL error the adapter does not map
 * becomes P2039 (P2010 for raw queries), with the SQLSTATE in `meta.driverAdapterError.cause`.
 */
export function prismaAdapterError(
  sqlstate: string,
  message: string,
  wrapper: 'P2039' | 'P2010' = 'P2039',
): Error {
  const adapterError = Object.assign(new Error('DriverAdapterError'), {
    name: 'DriverAdapterError',
    cause: {
      originalCode: sqlstate,
      originalMessage: message,
      kind: 'postgres',
      code: sqlstate,
      severity: 'FATAL',
    },
  });
  return prismaKnownError(wrapper, `Database error. Code: \`${sqlstate}\`. Message: \`${message}\``, {
    driverAdapterError: adapterError,
  });
}
