import multipart from '@fastify/multipart';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Server } from 'node:http';
import { AppModule } from './app.module';
import { ApiKeysService } from './api-keys/api-keys.service';
import { ErrorFilter } from './common/error.filter';
import { guardInput, unreadablePath } from './common/request-input';
import { createValidationPipe } from './common/validation';
import type { AppConfig } from './config/config';
import { PinoNestLogger } from './observability/logger';
import { observeRequest } from './observability/metrics';
import { guardOpsRoutes, listenOps } from './observability/ops-access';
import openApiMetadata from './openapi-metadata';
import { createPublicLane, Handler, sharedServer } from './public-lane';
import { TrackingRoutes } from './tracking/tracking.controller';

/** The HTTP process (ROLE=api, or ROLE=all with the queue processors in the same process). */
export async function createHttpApp(config: AppConfig, logger: Logger): Promise<NestFastifyApplication> {
  const lane = createPublicLane(config, logger, TrackingRoutes.unreadablePath);
  const adapter = new FastifyAdapter({
    trustProxy: config.http.trustProxy,
    bodyLimit: 1 << 20,
    frameworkErrors: unreadablePath,
    serverFactory: (api: Handler, options: FastifyServerOptions) => sharedServer(lane, api, options),
  });
  // Body parsers are guardInput's, not Nest's: every body and query string is checked in one place.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();

  guardInput(fastify);
  await app.register(multipart, { limits: { fileSize: Number.MAX_SAFE_INTEGER, files: 1 } });

  observeRequests(fastify, logger);
  guardOpsRoutes(fastify, config, () => app.get(ApiKeysService));
  let ops: Server | null = null;
  fastify.addHook('onListen', async () => void (ops = await listenOps(fastify.server, config)));
  fastify.addHook('onClose', async () => void (await new Promise((r) => (ops ? ops.close(r) : r(undefined)))));
  // The tracking routes live on the public lane, which the shared server hands every /t/ request.
  app.get(TrackingRoutes).mount(lane);
  await lane.ready();
  fastify.addHook('onClose', async () => lane.close());

  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ErrorFilter());
  app.enableShutdownHooks();

  // Fields, types and limits the DTOs declare in TypeScript and class-validator (scripts/openapi-metadata.ts).
  await SwaggerModule.loadPluginMetadata(openApiMetadata);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('EDM platform')
      .setDescription('Management API (Bearer API key), public pages and tracking endpoints')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}

/** Request duration metrics, and a log line per management API request. */
function observeRequests(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    observeRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (route.startsWith('/v1')) logger.info({ method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    done();
  });
}
