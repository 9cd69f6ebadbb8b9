/**
 * Errors say what happened in the terms of the domain; one filter maps each code to HTTP, and code
 * branches on the error's class or code, never on a status. Each capability declares its own
 * errors (`audience/audience.errors.ts`, `content/content.errors.ts`, `campaigns/campaign.errors.ts`,
 * `segments/segment.errors.ts`, `journeys/journey.errors.ts`, `ab-tests/ab-test.errors.ts`)
 * with the codes listed here. Adding a code without a mapping in `httpStatusFor` is a compile error.
 */
export type ErrorCode =
  // Any capability: about the request or a thing it names.
  | 'not_found'
  | 'already_exists'
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'payload_too_large'
  | 'too_many_requests'
  // audience
  | 'address_suppressed'
  | 'unreadable_file'
  | 'form_not_embeddable'
  // content
  | 'invalid_template'
  | 'starter_read_only'
  // campaigns
  | 'illegal_transition'
  | 'campaign_not_draft'
  // segments
  | 'invalid_segment'
  | 'segment_in_use'
  // journeys
  | 'invalid_journey'
  | 'journey_published'
  | 'not_enrolled'
  // A/B tests
  | 'no_ab_test'
  | 'ab_test_decided';

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
    case 'form_not_embeddable':
    case 'starter_read_only':
    case 'illegal_transition':
    case 'campaign_not_draft':
    case 'segment_in_use':
    case 'journey_published':
    case 'not_enrolled':
    case 'no_ab_test':
    case 'ab_test_decided':
      return 409;
    case 'invalid_input':
      return 400;
    case 'address_suppressed':
    case 'unreadable_file':
    case 'invalid_template':
    case 'invalid_segment':
    case 'invalid_journey':
      return 422;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'unsupported_media_type':
      return 415;
    case 'uri_too_long':
      return 414;
    case 'payload_too_large':
      return 413;
    case 'too_many_requests':
      return 429;
    default:
      return assertUnreachable(code);
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`unhandled case: ${String(value)}`);
}
