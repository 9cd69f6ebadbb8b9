import { Module } from '@nestjs/common';
import { AudienceModule } from '../audience/audience.module';
import { ContentModule } from '../content/content.module';
import { SegmentsModule } from '../segments/segments.module';
import { JourneySegmentUsers } from './journey-segment-users';
import { JourneysController } from './journeys.controller';
import { JourneysRepository } from './journeys.repository';
import { JourneysService } from './journeys.service';

/** Journeys: definitions, versions and their lifecycle (HTTP side). */
@Module({
  imports: [ContentModule, AudienceModule, SegmentsModule],
  controllers: [JourneysController],
  providers: [JourneysService, JourneysRepository],
  exports: [JourneysService],
})
export class JourneysModule {}

/** Which journeys name a segment, for every process (the root gathers it into SEGMENT_USERS). */
@Module({
  providers: [JourneysRepository, JourneySegmentUsers],
  exports: [JourneySegmentUsers],
})
export class JourneyDirectoryModule {}
