import { Module } from '@nestjs/common';
import { TrackingModule } from '../tracking/tracking.module';
import { MailTransport } from './mail-transport';
import { MessageBuilder } from './message-builder';

/** How mail goes out: the transports (the only code that sends mail) and the per-recipient message builder. */
@Module({
  imports: [TrackingModule],
  providers: [MailTransport, MessageBuilder],
  exports: [MailTransport, MessageBuilder],
})
export class DeliveryModule {}
