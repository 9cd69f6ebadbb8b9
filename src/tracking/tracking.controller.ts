import { Body, Controller, HttpCode, OnModuleInit, Post, Req } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
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

type TokenRequest = FastifyRequest<{ Params: { token: string }; Querystring: Record<string, unknown> }>;

@ApiTags('tracking')
@Controller()
export class TrackingController implements OnModuleInit {
  constructor(
    private readonly tracking: TrackingService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * The three public GET routes (open pixel, click, conversion pixel) are Fastify routes, not Nest
   * ones: they take no API key, no body and no validated input, and skipping Nest's per-request
   * machinery (guard, pipes, parameter resolution, exception zone) serves a quarter to a third more
   * pixels per second (bench/README.md). Fastify's hooks (metrics) still run; HEAD comes with each
   * GET (exposeHeadRoutes); a failure still reaches the ErrorFilter through the error handler Nest
   * installs on Fastify. They are not in the OpenAPI document (they never were).
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
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
    if (to === null) return reply.status(404).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send('This link is not valid.');
    return reply.status(302).header('Location', to).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send();
  }

  async conversionPixel(req: TokenRequest, reply: FastifyReply): Promise<FastifyReply> {
    await this.tracking.conversionPixel(req.params.token, req.query, facts(req), req.method === 'HEAD');
    return pixel(reply);
  }

  /** Server to server, from the shop: the same orderId twice counts once. */
  @Post('v1/conversions')
  @HttpCode(200)
  async conversion(@Body() dto: ConversionDto, @Req() req: FastifyRequest): Promise<{ accepted: true }> {
    await this.tracking.conversion(dto, facts(req));
    return { accepted: true };
  }
}
