import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { AppError, ErrorDetail, httpStatusFor } from './errors';
import { errorPage, isHumanPage, sendPage } from './html';

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
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const body = errorBody(exception);
    if (body.statusCode >= 500) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    if (exception instanceof AppError && exception.retryAfterSeconds) void reply.header('retry-after', String(exception.retryAfterSeconds));
    if (wantsPage(http.getRequest<FastifyRequest>())) {
      void sendPage(reply, errorPage(body.statusCode, body.message));
      return;
    }
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}

/** A person's browser on one of the human pages gets a page; a script posting JSON to the sign-up form gets JSON. */
export function wantsPage(req: FastifyRequest): boolean {
  return isHumanPage(req.url) && !String(req.headers['content-type'] ?? '').includes('json');
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
      const message = Array.isArray(r.message) ? r.message.join('; ') : typeof r.message === 'string' ? r.message : exception.message;
      return body(status, message, r.details ?? []);
    }
    return body(status, String(response), []);
  }
  // Errors raised by Fastify itself (bad JSON, unsupported media type, body too large) carry a 4xx statusCode.
  const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    return body(fastifyStatus, (exception as Error).message, []);
  }
  return body(HttpStatus.INTERNAL_SERVER_ERROR, 'Internal server error', []);
}

function body(statusCode: number, message: string, details: ErrorDetail[]): ErrorBody {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    details: details.length || statusCode >= 500 ? details : [{ field: fieldOf(statusCode), message }],
  };
}

/** What an error without details (Nest's, Fastify's) is about, so that every 4xx names something. */
function fieldOf(status: number): string {
  switch (status) {
    case 401:
    case 403:
      return 'Authorization';
    case 404:
    case 405:
    case 414:
      return 'path';
    case 415:
      return 'Content-Type';
    default:
      return 'body';
  }
}
