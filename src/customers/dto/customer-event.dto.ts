import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PageQuery } from '../../common/pagination';

/*
 * The bodies of Segment's HTTP tracking API, for the document only: the routes read their bodies
 * themselves (src/customers/segment-message.ts), because a batch keeps its good messages when
 * others are refused, and because Segment's libraries add fields of their own that must pass.
 */

class SegmentEnvelopeDto {
  /** The product's id for the person; an identify with `traits.email` links it to a subscriber (`externalId`). Give it or anonymousId. */
  userId?: string;
  /** A device or browser id, for people not signed in; linked once an identify names it. */
  anonymousId?: string;
  /** ISO 8601: when it happened (default: when it was received). */
  timestamp?: string;
  /** Makes a retry harmless: a message id seen within 30 days (CUSTOMER_EVENT_DEDUPE_DAYS) is stored once. Default: a new one. */
  messageId?: string;
  /** Kept with the event (library, page, device, IP, …). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  context?: Record<string, unknown>;
  /** Accepted and not kept (Segment's destinations switch). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  integrations?: Record<string, unknown>;
}

export class IdentifyDto extends SegmentEnvelopeDto {
  /**
   * Who the person is. `email` links the userId to the subscriber with that address (created if
   * new, without any subscription); `name` (or `firstName` + `lastName`) fills in a missing name;
   * the other traits are merged into the attributes (null removes one).
   */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  traits?: Record<string, unknown>;
}

export class TrackDto extends SegmentEnvelopeDto {
  /** What the person did, e.g. "Order Completed". */
  event!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  properties?: Record<string, unknown>;
}

export class BatchMessageDto extends SegmentEnvelopeDto {
  /** `page` and `screen` are stored as track events "Page Viewed" and "Screen Viewed"; `group` and `alias` are accepted and not stored. */
  @ApiProperty({ enum: ['identify', 'track', 'page', 'screen', 'group', 'alias'] })
  type!: string;
  /** track: the event's name. */
  event?: string;
  /** track, page, screen. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  properties?: Record<string, unknown>;
  /** identify. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  traits?: Record<string, unknown>;
}

export class BatchDto {
  /** At most 500 KB in all, and 32 KB per message. A refused message does not stop the others: they are stored, and the answer is a 400 naming the refused ones (`batch[3].event`). */
  @ApiProperty({ type: [BatchMessageDto] })
  batch!: BatchMessageDto[];
  /** Merged under each message's own context. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  context?: Record<string, unknown>;
  /** When the client sent the batch; accepted and not kept. */
  sentAt?: string;
}

/** Segment's answer: the messages are stored (committed to Postgres) before it is sent. */
export class SegmentAnswerDto {
  success!: boolean;
}

export class CustomerEventQuery extends PageQuery {}

export class CustomerEventDto {
  id!: string;
  @ApiProperty({ enum: ['identify', 'track'] }) type!: 'identify' | 'track';
  /** track: the event's name. */
  @ApiPropertyOptional({ nullable: true }) event!: string | null;
  /** track: its properties. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) properties?: Record<string, unknown>;
  /** identify: the traits as sent. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) traits?: Record<string, unknown>;
  /** When it happened. */
  timestamp!: string;
  receivedAt!: string;
  messageId!: string;
  @ApiPropertyOptional({ nullable: true }) userId!: string | null;
  @ApiPropertyOptional({ nullable: true }) anonymousId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true }) context!: Record<string, unknown> | null;
}
