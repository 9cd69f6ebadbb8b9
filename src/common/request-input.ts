import { applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiConsumes } from '@nestjs/swagger';
import { parse as parseForm } from 'fast-querystring';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors';
import { errorBody } from './error.filter';
import { isHumanPage, linkNotRecognised, sendPage } from './html';
import { unstorableIn } from './input-check';

/** Route config key: the media types a route's body may have. Without it a route takes JSON only. */
const BODY_TYPES = 'edmBodyTypes';
const JSON_ONLY = ['application/json'];
/**
 * Route config key: the most bytes a route's body may have, below the server's 1 MiB (the Segment
 * routes take 500 KB, as Segment does). A longer body is a 413 naming the body, before it is parsed
 * when Content-Length says so.
 */
export const BODY_LIMIT = 'edmBodyLimit';

/**
 * The body types a route takes, for the content-type check and the OpenAPI document. `config`
 * carries any other route config of the route (a handler has one route config in all).
 */
export function Accepts(types: string[], config: Record<string, unknown> = {}): MethodDecorator {
  return applyDecorators(RouteConfig({ ...config, [BODY_TYPES]: types }), ApiConsumes(...types));
}

/**
 * What every request to the API's instance passes before a handler sees it, in one place:
 * - a body of a type the route does not take is a 415 naming Content-Type (a CSV stream sent to
 *   a JSON route used to reach the validation pipe as an object it recursed into);
 * - JSON, forms and query strings are parsed here and checked for what Postgres cannot store (NUL
 *   characters, lone surrogates), keys that would set a prototype, and nesting over MAX_DEPTH: a 400
 *   naming the field; an empty body with a JSON content type is no body;
 * - CSV bodies stay streams (the import spools them to Postgres chunk by chunk).
 * Multipart is parsed by @fastify/multipart, registered after this.
 */
export function guardInput(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    const limit = bodyLimitOf(req);
    if (limit !== undefined && Buffer.byteLength(text) > limit) return done(tooLarge(limit));
    if (!text.trim()) return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return done(AppError.invalid('body', `is not valid JSON (${(e as Error).message})`));
    }
    done(checked(value, ''), value);
  });
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const value: unknown = parseForm(body as string);
    done(checked(value, ''), value);
  });
  fastify.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  fastify.addContentTypeParser(['text/csv', 'application/csv'], (_req, payload, done) => done(null, payload));

  fastify.addHook('onRequest', (req, _reply, done) => done(unacceptedBody(req) ?? oversizedBody(req) ?? undefined));
  fastify.addHook('preValidation', (req, _reply, done) => {
    // Path parameters of the human pages are tokens and ids, checked by their signature and format;
    // a bad one gets the same "link not recognised" page as any other.
    done(checked(req.query, '') ?? (isHumanPage(req.url) ? undefined : checked(req.params, '')) ?? undefined);
  });
}

function checked(value: unknown, root: string): AppError | null {
  const problem = unstorableIn(value, root);
  return problem ? new AppError('invalid_input', `${problem.field} ${problem.message}`, [problem]) : null;
}

function unacceptedBody(req: FastifyRequest): AppError | null {
  const config = req.routeOptions.config as unknown as Record<string, unknown> | undefined;
  if (!config || req.method === 'GET' || req.method === 'HEAD' || !hasBody(req)) return null;
  const accepted = (config[BODY_TYPES] as string[] | undefined) ?? JSON_ONLY;
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (accepted.includes(type)) return null;
  const message = `${type ? `${type} is not accepted here` : 'a body needs a Content-Type'}; send ${accepted.join(' or ')}`;
  return new AppError('unsupported_media_type', message, [{ field: 'Content-Type', message }]);
}

function bodyLimitOf(req: FastifyRequest): number | undefined {
  const config = req.routeOptions.config as unknown as Record<string, unknown> | undefined;
  const limit = config?.[BODY_LIMIT];
  return typeof limit === 'number' ? limit : undefined;
}

/** A Content-Length over the route's limit: refused before the body is read. */
function oversizedBody(req: FastifyRequest): AppError | null {
  const limit = bodyLimitOf(req);
  const length = Number(req.headers['content-length'] ?? 0);
  return limit !== undefined && length > limit ? tooLarge(limit) : null;
}

function tooLarge(limit: number): AppError {
  const message = `the body is over ${Math.floor(limit / 1024)} KB`;
  return new AppError('payload_too_large', message, [{ field: 'body', message }]);
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Fastify's answer when the router cannot read a path (bad percent-encoding, a parameter over
 * `maxParamLength`): on a human page the same page as any unrecognised link; elsewhere the API's
 * error shape. Fastify's own answer echoed the whole path back.
 */
export function unreadablePath(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (isHumanPage(req.url)) {
    void sendPage(reply, linkNotRecognised());
    return;
  }
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const message = tooLong ? 'a path parameter is longer than 100 characters' : 'the path is not valid percent-encoding';
  const body = errorBody(new AppError(tooLong ? 'uri_too_long' : 'invalid_input', message, [{ field: 'path', message }]));
  void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
}
