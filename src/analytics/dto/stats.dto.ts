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

export class IntervalDto {
  value!: number;
  low!: number;
  high!: number;
}

export class VariantComparisonDto {
  /** Relative lift of the metric over the control (0.2 = +20 %) with its always-valid interval; null while the control's metric is 0. */
  @ApiPropertyOptional({ type: IntervalDto, nullable: true }) lift!: IntervalDto | null;
  /** Confidence level of `lift`. */
  level!: number;
  @ApiPropertyOptional({ enum: ['better', 'worse'], nullable: true }) significant!: 'better' | 'worse' | null;
  /** Guardrails this variant fails against the control: it cannot win. */
  @ApiProperty({ type: [String], enum: ['unsubscribes', 'complaints', 'bounces'] }) failedGuardrails!: string[];
}

export class VariantStatsDto {
  /** A, B, …: A is the control. */
  id!: string;
  name!: string;
  /** Recipients given this variant (the test share, with an A/B test). */
  assigned!: number;
  sent!: number;
  delivered!: number;
  bounces!: { hard: number; soft: number };
  complaints!: number;
  unsubscribes!: number;
  opens!: { unique: number; uniqueHuman: number };
  clicks!: { unique: number; uniqueHuman: number };
  conversions!: { unique: number; revenue: number };
  rates!: { open: number; click: number; conversion: number; unsubscribe: number };
  /** The test's metric per delivered recipient, with its always-valid interval. */
  metric!: IntervalDto;
  /** Absent for the control. */
  @ApiPropertyOptional({ type: VariantComparisonDto }) vsControl?: VariantComparisonDto;
}

export class AbTestStateDto {
  @ApiProperty({ enum: ['testing', 'decided', 'inconclusive'] }) state!: string;
  @ApiProperty({ enum: ['click', 'conversion', 'revenue', 'open'] }) metric!: string;
  @ApiPropertyOptional() winner?: string;
  @ApiPropertyOptional({ enum: ['significance', 'fallback', 'manual'] }) basis?: string;
  @ApiPropertyOptional() decidedAt?: string;
  /** Where the test stands, in words. */
  reason!: string;
  /** Sample-ratio check of the split: a mismatch blocks an automatic decision. */
  srm!: { chiSquare: number; pValue: number; mismatch: boolean };
  warnings!: string[];
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
  /** Per variant, when the campaign has variants. */
  @ApiPropertyOptional({ type: [VariantStatsDto] }) variants?: VariantStatsDto[];
  /** When the campaign runs an A/B test. */
  @ApiPropertyOptional({ type: AbTestStateDto }) abTest?: AbTestStateDto;
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
