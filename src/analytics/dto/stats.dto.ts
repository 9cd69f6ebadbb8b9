import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Validate } from 'class-validator';
import { IsTimeZone } from '../../audience/dto/subscriber.dto';

export class EngagementCountsDto {
  /** Messages opened (clicked) by anyone or anything. */
  unique!: number;
  total!: number;
  /** Messages with at least one human open (click). */
  uniqueHuman!: number;
  /** Messages opened (clicked) by machines only: unique − uniqueHuman. */
  uniqueMachine!: number;
}

export class ConversionCountsDto {
  /** Messages with at least one attributed conversion. */
  unique!: number;
  /** Attributed orders. */
  total!: number;
  /** Revenue in `currency` (DEFAULT_CURRENCY); other currencies in `revenueByCurrency`. */
  revenue!: number;
  currency!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } }) revenueByCurrency!: Record<string, number>;
  /** Orders reported after the attribution window. */
  unattributed!: number;
}

export class RatesDto {
  reach!: number;
  open!: number;
  click!: number;
  ctor!: number;
  conversion!: number;
  unsubscribe!: number;
  bounce!: number;
  complaint!: number;
}

export class CampaignStatsDto {
  campaignId!: string;
  status!: string;
  /** Accepted by the SMTP server. */
  sent!: number;
  /** sent − bounces reported after acceptance. */
  delivered!: number;
  /** Refused at SMTP time (5xx, or 4xx until attempts ran out). */
  failed!: number;
  /** In an SMTP transaction when a worker died: maybe delivered, never sent twice. */
  unknown!: number;
  /** Not yet sent. */
  queued!: number;
  bounces!: { hard: number; soft: number };
  complaints!: number;
  unsubscribes!: number;
  opens!: EngagementCountsDto;
  clicks!: EngagementCountsDto;
  conversions!: ConversionCountsDto;
  rates!: RatesDto;
}

export class TimeseriesQuery {
  @IsOptional()
  @IsIn(['hour', 'day'], { message: 'interval must be hour or day' })
  interval?: 'hour' | 'day';

  /** Day buckets start at midnight in this zone (default UTC). */
  @IsOptional()
  @Validate(IsTimeZone)
  timezone?: string;
}

export class TimeseriesBucketDto {
  start!: string;
  opens!: number;
  uniqueOpens!: number;
  uniqueHumanOpens!: number;
  clicks!: number;
  uniqueClicks!: number;
  uniqueHumanClicks!: number;
  conversions!: number;
  unsubscribes!: number;
}

export class TimeseriesDto {
  @ApiProperty({ enum: ['hour', 'day'] }) interval!: 'hour' | 'day';
  timezone!: string;
  buckets!: TimeseriesBucketDto[];
}

export class LinkStatsDto {
  slot!: number;
  url!: string;
  clicks!: number;
  uniqueClicks!: number;
  uniqueHumanClicks!: number;
  @ApiPropertyOptional() clickShare!: number;
}
