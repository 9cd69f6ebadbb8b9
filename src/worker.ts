import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { loadConfig } from './config/config';
import type { AppConfig } from './config/config';
import { prepareDatabase } from './database/database';
import { createLogger, PinoNestLogger } from './observability/logger';

/** The queue processors without any HTTP server: `ROLE=worker`, one per machine or core as needed. */
export async function startWorker(config: AppConfig, logger: Logger): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.register({ ...config, role: 'worker' }), {
    logger: new PinoNestLogger(logger),
  });
  app.enableShutdownHooks();
  logger.info('worker started');
  return app;
}

if (require.main === module) {
  const config: AppConfig = { ...loadConfig(), role: 'worker' };
  const logger = createLogger(config.logLevel);
  prepareDatabase(config)
    .then(() => startWorker(config, logger))
    .catch((e: unknown) => {
      logger.fatal(e instanceof Error ? e.stack : String(e));
      process.exit(1);
    });
}
