import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { AnalyticsDataModule, AnalyticsModule, AnalyticsWorkerModule } from './analytics/analytics.module';
import { SubscriberActivity } from './analytics/subscriber-activity';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AudienceModule, AudienceWorkerModule } from './audience/audience.module';
import { SUBSCRIBER_DATA, SubscriberDataSource } from './audience/subscriber-data';
import { CampaignsDirectoryModule, CampaignsModule, CampaignsWorkerModule } from './campaigns/campaigns.module';
import type { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ContentModule } from './content/content.module';
import { CustomerDataModule, CustomersModule, CustomersWorkerModule } from './customers/customers.module';
import { SubscriberEvents } from './customers/subscriber-events';
import { DatabaseModule } from './database/database.module';
import { BounceWebhooksModule } from './delivery/bounces/bounce-webhooks.module';
import { DeliveryWorkerModule, TestSendsModule } from './delivery/delivery.module';
import { HealthController } from './observability/health.controller';
import { MetricsModule } from './observability/metrics';
import { QueueModule } from './queue/queue.module';
import { TrackingModule } from './tracking/tracking.module';

@Module({ controllers: [HealthController] })
class HealthModule {}

/** Every capability that keeps data about a person, for the audience's GDPR erase and export (SUBSCRIBER_DATA). */
@Global()
@Module({
  imports: [AnalyticsDataModule, CustomerDataModule],
  providers: [{ provide: SUBSCRIBER_DATA, inject: [SubscriberActivity, SubscriberEvents], useFactory: (...sources: SubscriberDataSource[]) => sources }],
  exports: [SUBSCRIBER_DATA],
})
class SubscriberDataModule {}

/**
 * What every process has: configuration, Postgres, Redis/BullMQ, and what one capability provides
 * for another that must not depend on it (the audience's pages and GDPR erase ask campaigns, analytics and customers).
 */
const core = (config: AppConfig): (Type | DynamicModule)[] => [
  ConfigModule.register(config),
  DatabaseModule,
  QueueModule,
  CampaignsDirectoryModule,
  SubscriberDataModule,
];

/** HTTP: management API, public pages, health and metrics. */
const api: Type[] = [
  ApiKeysModule,
  AudienceModule,
  ContentModule,
  CampaignsModule,
  TrackingModule,
  AnalyticsModule,
  CustomersModule,
  TestSendsModule,
  BounceWebhooksModule,
  HealthModule,
  MetricsModule,
];

/** Queue processors only. */
const worker: Type[] = [AudienceWorkerModule, CampaignsWorkerModule, DeliveryWorkerModule, AnalyticsWorkerModule, CustomersWorkerModule];

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    const roles = config.role === 'api' ? api : config.role === 'worker' ? worker : [...api, ...worker];
    return { module: AppModule, imports: [...core(config), ...roles] };
  }
}
