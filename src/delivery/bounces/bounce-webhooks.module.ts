import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { TrackingModule } from '../../tracking/tracking.module';
import { BounceWebhooksController } from './bounce-webhooks.controller';
import { BounceWebhooksService } from './bounce-webhooks.service';
import { keepRawBodies } from './raw-body';
import { SnsHttp, SnsVerifier } from './sns-verifier';

/** `POST /v1/webhooks/bounces/:provider`: bounces and complaints from SES (SNS), SendGrid, Postmark or our own shape. */
@Module({
  imports: [TrackingModule],
  controllers: [BounceWebhooksController],
  providers: [BounceWebhooksService, SnsVerifier, SnsHttp],
})
export class BounceWebhooksModule implements OnModuleInit {
  constructor(private readonly adapter: HttpAdapterHost) {}

  /** Runs before Fastify is ready, when hooks may still be added (they apply to routes at ready). */
  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter?.getInstance<FastifyInstance>();
    if (fastify) keepRawBodies(fastify);
  }
}
