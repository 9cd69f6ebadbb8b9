import { NotFoundException } from '@nestjs/common';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { createServer, IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorBody } from './common/error.filter';
import type { AppConfig } from './config/config';
import { observeRequest } from './observability/metrics';

/** The paths the public lane serves: the tracking pixels and redirects (`/t/o/`, `/t/c/`, `/t/v/`). */
const LANE_PREFIX = '/t/';

/**
 * The public lane: a plain Fastify instance for the tracking routes, on the same server and port as
 * the API. Opens and clicks are most of the requests a platform ever gets, and they need none of
 * what the API's instance runs on every request (Nest's middleware, CORS and versioning hooks, the
 * multipart plugin's per-request listeners, the raw-body hook of the webhooks); here they pass
 * through routing, their handler and the request metrics only. Errors and unknown paths answer in
 * the API's error shape.
 */
export function createPublicLane(
  config: AppConfig,
  logger: Logger,
  unreadablePath: (req: FastifyRequest, reply: FastifyReply) => void = (_req, reply) => reply.callNotFound(),
): FastifyInstance {
  // A path the router cannot read (bad percent-encoding, a token over 100 characters) is answered
  // as a token that does not verify, not with Fastify's error that echoes the path.
  const lane = Fastify({ trustProxy: config.http.trustProxy, frameworkErrors: (_e, req, reply) => unreadablePath(req, reply) });
  // Each route's handler observes its own answer in the request metrics. An onResponse hook (as on
  // the API's instance) costs every request a 'finish' listener, added and removed, and a hook run:
  // about 2.4 µs, an eighth of what a bare Fastify redirect costs in all.
  lane.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = async function (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) {
      const answer: unknown = await handler.call(this, req, reply);
      observe(req, reply, route.url);
      return answer;
    };
  });
  lane.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody(new NotFoundException(`Cannot ${req.method} ${req.url}`)));
    observe(req, reply, 'unmatched');
  });
  lane.setErrorHandler((e, req, reply) => {
    const body = errorBody(e);
    if (body.statusCode >= 500) logger.error({ err: e, method: req.method, url: req.url }, 'public lane request failed');
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
    observe(req, reply, req.routeOptions.url ?? 'unmatched');
  });
  return lane;
}

function observe(req: FastifyRequest, reply: FastifyReply, route: string): void {
  observeRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The HTTP server both instances share (the API instance's `serverFactory`): requests under
 * `/t/` go to the lane, everything else to the API. Server options and timeouts are set as Fastify
 * sets them on a server it creates itself.
 */
export function sharedServer(lane: FastifyInstance, api: Handler, o: FastifyServerOptions & { http?: ServerOptions | null }): Server {
  const server = createServer(o.http ?? {}, (req, res) => (req.url!.startsWith(LANE_PREFIX) ? lane.routing(req, res) : api(req, res)));
  if (o.keepAliveTimeout !== undefined) server.keepAliveTimeout = o.keepAliveTimeout;
  if (o.requestTimeout !== undefined) server.requestTimeout = o.requestTimeout;
  if (o.connectionTimeout !== undefined) server.setTimeout(o.connectionTimeout);
  if (o.maxRequestsPerSocket) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
  return server;
}
