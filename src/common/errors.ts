/**
 * Domain errors. Services throw these; one filter maps each code to HTTP.
 * Adding a code without a mapping in `httpStatusFor` is a compile error.
 */
export type ErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'invalid_input'
  | 'unprocessable'
  | 'invalid_state'
  | 'unauthenticated'
  | 'forbidden'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'too_many_requests';

export interface ErrorDetail {
  field?: string;
  line?: number;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }

  static notFound(what: string, id: string): AppError {
    return new AppError('not_found', `${what} ${id} not found`, [{ field: 'id', message: `no ${what.toLowerCase()} with id ${id}` }]);
  }

  static invalid(field: string, message: string): AppError {
    return new AppError('invalid_input', `${field}: ${message}`, [{ field, message }]);
  }

  /** Over a rate limit; the answer carries Retry-After. */
  static rateLimited(field: string, message: string, retryAfterSeconds: number): AppError {
    return Object.assign(new AppError('too_many_requests', message, [{ field, message }]), { retryAfterSeconds });
  }

  /** Seconds a client should wait before it tries again (429). */
  retryAfterSeconds?: number;
}

export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'not_found':
      return 404;
    case 'already_exists':
    case 'invalid_state':
      return 409;
    case 'invalid_input':
      return 400;
    case 'unprocessable':
      return 422;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'unsupported_media_type':
      return 415;
    case 'uri_too_long':
      return 414;
    case 'too_many_requests':
      return 429;
    default:
      return assertUnreachable(code);
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`unhandled case: ${String(value)}`);
}
