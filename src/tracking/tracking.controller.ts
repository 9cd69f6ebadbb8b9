import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../api-keys/auth.decorators';
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

@ApiTags('tracking')
@Controller()
export class TrackingController {
  constructor(private readonly tracking: TrackingService) {}

  @ApiExcludeEndpoint()
  @Public()
  @Get('t/o/:token')
  async open(@Param('token') token: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.tracking.open(token, facts(req), req.method === 'HEAD');
    await pixel(reply);
  }

  /** A token that does not verify is a 404 with no Location: the destination never comes from the request. */
  @ApiExcludeEndpoint()
  @Public()
  @Get('t/c/:token')
  async click(@Param('token') token: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const to = await this.tracking.click(token, facts(req), req.method === 'HEAD');
    if (to === null) await reply.status(404).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send('This link is not valid.');
    else await reply.status(302).header('Location', to).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send();
  }

  @ApiExcludeEndpoint()
  @Public()
  @Get('t/v/:token')
  async conversionPixel(@Param('token') token: string, @Query() query: Record<string, unknown>, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.tracking.conversionPixel(token, query, facts(req), req.method === 'HEAD');
    await pixel(reply);
  }

  /** Server to server, from the shop: the same orderId twice counts once. */
  @Post('v1/conversions')
  @HttpCode(200)
  async conversion(@Body() dto: ConversionDto, @Req() req: FastifyRequest): Promise<{ accepted: true }> {
    await this.tracking.conversion(dto, facts(req));
    return { accepted: true };
  }
}
