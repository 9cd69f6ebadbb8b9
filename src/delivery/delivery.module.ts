import { Module } from '@nestjs/common';
import { AudienceModule } from '../audience/audience.module';
import { CampaignsModule, CampaignsWorkerModule } from '../campaigns/campaigns.module';
import { TrackingModule } from '../tracking/tracking.module';
import { CampaignDispatcher } from './campaign-dispatcher';
import { CampaignProcessor } from './campaign.processor';
import { ClaimsReaper } from './claims-reaper';
import { MailProcessor } from './mail.processor';
import { MailTransport } from './mail-transport';
import { MessageBuilder } from './message-builder';
import { TestSends, TestSendsController } from './test-sends';
import { SendThrottle } from './throttle';

/** How mail goes out: the transports (the only code that sends mail) and the per-recipient message builder. */
@Module({
  imports: [TrackingModule],
  providers: [MailTransport, MessageBuilder],
  exports: [MailTransport, MessageBuilder],
})
export class DeliveryModule {}

/** HTTP side: test copies of a campaign. */
@Module({
  imports: [DeliveryModule, CampaignsModule, AudienceModule],
  controllers: [TestSendsController],
  providers: [TestSends],
})
export class TestSendsModule {}

/** The queue side: campaign dispatch, claim recovery, and the audience's transactional mail. */
@Module({
  imports: [DeliveryModule, CampaignsWorkerModule, AudienceModule],
  providers: [CampaignProcessor, CampaignDispatcher, SendThrottle, ClaimsReaper, MailProcessor],
  // Transactional mail goes through the same throttle, and its claims through the same worker liveness.
  exports: [DeliveryModule, SendThrottle, ClaimsReaper],
})
export class DeliveryWorkerModule {}
