import { BullModule } from '@nestjs/bullmq';
import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

export const REDIS = Symbol('REDIS');

export const QUEUES = {
  imports: 'imports',
  mail: 'mail',
  campaigns: 'campaigns',
  customers: 'customers',
  segments: 'segments',
  webhooks: 'webhooks',
  transactional: 'transactional',
  journeys: 'journeys',
  journeySends: 'journey-sends',
  abTests: 'ab-tests',
} as const;

/** Redis for BullMQ (every queue shares REDIS_PREFIX, so deployments and test runs never see each other's jobs). */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.redis.url, maxRetriesPerRequest: null },
        prefix: config.redis.prefix,
      }),
    }),
  ],
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new Redis(config.redis.url, { keyPrefix: `${config.redis.prefix}:`, lazyConnect: false }),
    },
  ],
  exports: [REDIS],
})
export class QueueModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
