import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RateLimiter } from '../common/rate-limit';
import { TokenSigner } from '../common/tokens';
import { TrackingModule } from '../tracking/tracking.module';
import { QUEUES } from '../queue/queue.module';
import { MailingList } from './audience.entities';
import { ConfirmationMailer } from './confirmation-mailer';
import { ConsentRepository } from './consent.repository';
import { ImportsRepository } from './imports.repository';
import { ListsRepository } from './lists.repository';
import { SubscribersRepository } from './subscribers.repository';
import { SubscriptionsRepository } from './subscriptions.repository';
import { SuppressionsRepository } from './suppressions.repository';
import { FormChallenge } from './pages/form-challenge';
import { ImportRunner } from './import-runner';
import { ImportProcessor } from './import.processor';
import { ImportsController } from './imports.controller';
import { ImportsService } from './imports.service';
import { ListsController } from './lists.controller';
import { ListsService } from './lists.service';
import { PublicFormsController } from './pages/public-forms.controller';
import { PreferencesService } from './pages/preferences.service';
import { PublicFormsService } from './pages/public-forms.service';
import { UnsubscribeController } from './pages/unsubscribe.controller';
import { SubscriberIdentities } from './subscriber-identities.service';
import { SubscribersController } from './subscribers.controller';
import { SubscribersService } from './subscribers.service';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';
import { SuppressionsController } from './suppressions.controller';
import { SuppressionsService } from './suppressions.service';

const services = [
  ListsService,
  SubscribersService,
  SubscriberIdentities,
  SubscriptionsService,
  SuppressionsService,
  ImportsService,
  ConfirmationMailer,
  PublicFormsService,
  FormChallenge,
  RateLimiter,
  TokenSigner,
  PreferencesService,
];
const repositories = [ListsRepository, SubscribersRepository, SubscriptionsRepository, ConsentRepository, SuppressionsRepository, ImportsRepository];

/** Lists, subscribers, consent, suppression, imports and the pages people see: the HTTP side. */
@Module({
  imports: [TypeOrmModule.forFeature([MailingList]), BullModule.registerQueue({ name: QUEUES.imports }, { name: QUEUES.mail }), TrackingModule],
  controllers: [
    ListsController,
    SubscribersController,
    SubscriptionsController,
    SuppressionsController,
    ImportsController,
    PublicFormsController,
    UnsubscribeController,
  ],
  providers: [...services, ...repositories],
  // The repositories are for this folder's own worker side (imports); other capabilities ask the services.
  exports: [...services, ImportsRepository, ListsRepository],
})
export class AudienceModule {}

/** The queue side: imports. */
@Module({
  imports: [AudienceModule],
  providers: [ImportRunner, ImportProcessor],
})
export class AudienceWorkerModule {}
