import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QUEUES } from '../queue/queue.module';
import { SegmentCompiler } from './segment-compiler';
import { SegmentHistory } from './segment-history';
import { SegmentRefreshProcessor } from './segment-refresh.processor';
import { SegmentsController } from './segments.controller';
import { SegmentsRepository } from './segments.repository';
import { SegmentsService } from './segments.service';

/**
 * Segments: rules, counts, previews and membership (HTTP side). The SQL of each rule comes from the
 * owner of what it reads, through the global PROFILE_SQL, DELIVERY_SQL, ENGAGEMENT_SQL and EVENT_SQL
 * providers; SEGMENT_USERS tells who still needs a segment.
 */
@Module({
  controllers: [SegmentsController],
  providers: [SegmentsService, SegmentsRepository, SegmentCompiler],
  exports: [SegmentsService],
})
export class SegmentsModule {}

/** The queue side: the scheduled membership refresh. */
@Module({
  imports: [SegmentsModule, BullModule.registerQueue({ name: QUEUES.segments })],
  providers: [SegmentRefreshProcessor],
})
export class SegmentsWorkerModule {}

/** Stays in segments, for the audience's GDPR erase and export (composed into SUBSCRIBER_DATA by the root). */
@Module({
  providers: [SegmentsRepository, SegmentHistory],
  exports: [SegmentHistory],
})
export class SegmentDataModule {}
