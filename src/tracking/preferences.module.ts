import { Module } from '@nestjs/common';
import { AudienceModule } from '../audience/audience.module';
import { PreferencesService } from './preferences.service';
import { TrackingModule } from './tracking.module';
import { UnsubscribeController } from './unsubscribe.controller';

/**
 * The unsubscribe link and the preference centre: tracking owns the token and the event, the
 * audience services own the permission rules, so this module sits between the two.
 */
@Module({
  imports: [AudienceModule, TrackingModule],
  controllers: [UnsubscribeController],
  providers: [PreferencesService],
})
export class PreferencesModule {}
