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
  | 'forbidden';

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
    default:
      return assertUnreachable(code);
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`unhandled case: ${String(value)}`);
}
