import { Module } from '@nestjs/common';
import { EventBuffer } from './event-buffer';

/** Public tracking endpoints and the event buffer they write to (HTTP side). */
@Module({
  providers: [EventBuffer],
  exports: [EventBuffer],
})
export class TrackingModule {}
