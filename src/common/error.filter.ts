import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { AppError, ErrorDetail, httpStatusFor } from './errors';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details: ErrorDetail[];
}

/** The one place where errors become HTTP: `{statusCode, error, message, details}`. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = errorBody(exception);
    if (body.statusCode >= 500) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}

/** The response body (and status) for anything thrown while handling a request. */
export function errorBody(exception: unknown): ErrorBody {
  if (exception instanceof AppError) {
    return body(httpStatusFor(exception.code), exception.message, exception.details);
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null) {
      const r = response as { message?: unknown; details?: ErrorDetail[] };
      const message = Array.isArray(r.message) ? r.message.join('; ') : String(r.message ?? exception.message);
      return body(status, message, r.details ?? []);
    }
    return body(status, String(response), []);
  }
  // Errors raised by Fastify itself (bad JSON, unsupported media type, body too large) carry a 4xx statusCode.
  const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    return body(fastifyStatus, (exception as Error).message, [{ field: 'body', message: (exception as Error).message }]);
  }
  return body(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error', []);
}

function body(statusCode: number, message: string, details: ErrorDetail[]): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, details };
}
