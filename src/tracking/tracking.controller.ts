import { Body, Controller, HttpCode, Injectable, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestFacts } from './classify';
import { ConversionDto } from './dto/conversion.dto';
import { TrackingService } from './tracking.service';

/** The transparent 1×1 GIF (43 bytes) every open pixel answers with. */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

function facts(req: FastifyRequest): RequestFacts {
  return { userAgent: req.headers['user-agent'] ?? '', ip: req.ip, headers: req.headers };
}

function pixel(reply: FastifyReply): FastifyReply {
  return reply.status(200).header('Content-Type', 'image/gif').header('Cache-Control', 'no-store, max-age=0').send(PIXEL);
}

function invalidLink(reply: FastifyReply): FastifyReply {
  return reply.status(404).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send('This link is not valid.');
}

type TokenRequest = FastifyRequest<{ Params: { token: string }; Querystring: Record<string, unknown> }>;

/**
 * The three public GET routes (open pixel, click, conversion pixel). They take no API key, no body
 * and no validated input, and they are the busiest routes by far, so they are served by the public
 * lane (`src/public-lane.ts`): a Fastify instance of their own on the same server and port, without
 * Nest's per-request machinery or the hooks the API's instance carries for uploads, raw webhook
 * bodies and middleware. HEAD comes with each GET (exposeHeadRoutes). They are not in the OpenAPI
 * document (they never were).
 */
@Injectable()
export class TrackingRoutes {
  constructor(private readonly tracking: TrackingService) {}

  /** A path the router could not read: the answer of a token that does not verify (the pixel, or the click's 404). */
  static unreadablePath(this: void, req: FastifyRequest, reply: FastifyReply): void {
    if (req.url.startsWith('/t/c/')) void invalidLink(reply);
    else if (req.url.startsWith('/t/o/') || req.url.startsWith('/t/v/')) void pixel(reply);
    else reply.callNotFound();
  }

  mount(fastify: FastifyInstance): void {
    fastify.get('/t/o/:token', (req: TokenRequest, reply) => this.open(req, reply));
    fastify.get('/t/c/:token', (req: TokenRequest, reply) => this.click(req, reply));
    fastify.get('/t/v/:token', (req: TokenRequest, reply) => this.conversionPixel(req, reply));
  }

  async open(req: TokenRequest, reply: FastifyReply): Promise<FastifyReply> {
    await this.tracking.open(req.params.token, facts(req), req.method === 'HEAD');
    return pixel(reply);
  }

  /** A token that does not verify is a 404 with no Location: the destination never comes from the request. */
  async click(req: TokenRequest, reply: FastifyReply): Promise<FastifyReply> {
    const to = await this.tracking.click(req.params.token, facts(req), req.method === 'HEAD');
    if (to === null) return invalidLink(reply);
    return reply.status(302).header('Location', to).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send();
  }

  async conversionPixel(req: TokenRequest, reply: FastifyReply): Promise<FastifyReply> {
    await this.tracking.conversionPixel(req.params.token, req.query, facts(req), req.method === 'HEAD');
    return pixel(reply);
  }
}

@ApiTags('tracking')
@Controller()
export class TrackingController {
  constructor(private readonly tracking: TrackingService) {}

  /** Server to server, from the shop: the same orderId twice counts once. */
  @Post('v1/conversions')
  @HttpCode(200)
  async conversion(@Body() dto: ConversionDto, @Req() req: FastifyRequest): Promise<{ accepted: true }> {
    await this.tracking.conversion(dto, facts(req));
    return { accepted: true };
  }
}
