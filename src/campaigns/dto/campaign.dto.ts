import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsIn,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { EmailAddress } from '../../common/email';
import { CAMPAIGN_DATA_LIMITS, JsonObject, NestedObject, PatchType } from '../../common/validation';
import { IsTimeZone } from '../../audience/dto/subscriber.dto';

export class AudienceDto {
  @IsArray()
  @ArrayMinSize(1)
  @IsUUID('all', { each: true, message: 'audience.lists must contain list ids' })
  lists!: string[];

  /** Narrows the audience to the segment's members (it never adds anyone: a confirmed subscription to one of the lists is still needed). */
  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsUUID()
  segmentId?: string | null;

  /** Members of these segments are left out. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsUUID('all', { each: true, message: 'audience.excludeSegmentIds must contain segment ids' })
  excludeSegmentIds?: string[];
}

/** UTM parameters added to every tracked link's destination (a link's own utm_* values win). */
export class UtmDto {
  @IsOptional() @IsString() @Length(1, 200) source?: string;
  @IsOptional() @IsString() @Length(1, 200) medium?: string;
  @IsOptional() @IsString() @Length(1, 200) campaign?: string;
  @IsOptional() @IsString() @Length(1, 200) term?: string;
  @IsOptional() @IsString() @Length(1, 200) content?: string;
}

/** One variant of an A/B test; what it leaves out comes from the campaign. */
export class VariantDto {
  @IsString()
  @Length(1, 100)
  name!: string;

  /** Handlebars, like the campaign's subject. */
  @IsOptional()
  @IsString()
  @Length(1, 998)
  subject?: string;

  /** The preview text mail clients show after the subject. */
  @IsOptional()
  @IsString()
  @Length(1, 500)
  preheader?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  fromName?: string;

  @IsOptional()
  @IsUUID('all', { message: 'templateId must be a template id' })
  templateId?: string;
}

/** Test the variants on part of the audience, then send the winner to the rest. */
export class AbTestDto {
  /** Share of the audience in the test (split evenly between the variants), e.g. 0.2. */
  @IsNumber({}, { message: 'testShare must be a number' })
  @Min(0.001)
  @Max(0.99)
  testShare!: number;

  /** What decides: unique human clicks (default), conversions, revenue per recipient, or human opens. */
  @IsOptional()
  @IsIn(['click', 'conversion', 'revenue', 'open'], { message: 'metric must be click, conversion, revenue or open' })
  metric?: 'click' | 'conversion' | 'revenue' | 'open';

  /** Hours after sending starts when, without a winner, the fallback applies (default 24). */
  @IsOptional()
  @IsNumber({}, { message: 'maxHours must be a number' })
  @Min(0.001)
  @Max(24 * 30)
  maxHours?: number;

  /** At maxHours without a winner: send the control (default), send the leader, or hold the rest. */
  @IsOptional()
  @IsIn(['control', 'leader', 'hold'], { message: 'fallback must be control, leader or hold' })
  fallback?: 'control' | 'leader' | 'hold';

  /** No decision before every variant has this many recipients reached (default 1,000). */
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(10_000_000)
  minPerVariant?: number;
}

export class CreateCampaignDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  /** Handlebars, rendered per recipient. */
  @IsString()
  @Length(1, 998)
  subject!: string;

  @IsUUID('all', { message: 'templateId must be a template id' })
  templateId!: string;

  @IsString()
  @Length(1, 200)
  fromName!: string;

  @Validate(EmailAddress)
  fromEmail!: string;

  @IsOptional()
  @Validate(EmailAddress)
  replyTo?: string;

  @NestedObject(() => AudienceDto)
  audience!: AudienceDto;

  /** Campaign-level template data (`data.*`): a product list, say; shared by every recipient. */
  @IsOptional()
  @JsonObject(CAMPAIGN_DATA_LIMITS)
  data?: Record<string, unknown>;

  /** Messages per second; never above the transport's own rate. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  sendRate?: number;

  @IsOptional()
  @IsString()
  transport?: string;

  /** The sender's postal address for the footer (CAN-SPAM); defaults to POSTAL_ADDRESS. */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  postalAddress?: string;

  @ApiPropertyOptional({ type: UtmDto, nullable: true })
  @IsOptional()
  @NestedObject(() => UtmDto)
  utm?: UtmDto | null;

  /** How long after a click a conversion still counts for this campaign; defaults to ATTRIBUTION_WINDOW_DAYS. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(24 * 365)
  attributionWindowHours?: number | null;

  /** 2 to 8 variants of subject, preheader, from name and template; the first is the control. */
  @ApiPropertyOptional({ type: [VariantDto], nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(2, { message: 'variants must have 2 to 8 entries' })
  @ArrayMaxSize(8, { message: 'variants must have 2 to 8 entries' })
  @ValidateNested({ each: true })
  @Type(() => VariantDto)
  variants?: VariantDto[] | null;

  @ApiPropertyOptional({ type: AbTestDto, nullable: true })
  @IsOptional()
  @NestedObject(() => AbTestDto)
  abTest?: AbTestDto | null;
}

export class UpdateCampaignDto extends PatchType(CreateCampaignDto) {}

export class TestSendDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @Validate(EmailAddress, { each: true })
  emails!: string[];
}

export class ProgressDto {
  total!: number;
  /** Not yet done: waiting, claimed by a worker, or in an SMTP transaction. */
  queued!: number;
  sent!: number;
  failed!: number;
  /** In an SMTP transaction when a worker died: maybe delivered, never sent again. */
  unknown!: number;
  /** Suppressed or unsubscribed after the audience was resolved. */
  skipped!: number;
  cancelled!: number;
}

export class VariantViewDto {
  /** A, B, C, …: A is the control. */
  id!: string;
  name!: string;
  @ApiPropertyOptional({ nullable: true }) subject!: string | null;
  @ApiPropertyOptional({ nullable: true }) preheader!: string | null;
  @ApiPropertyOptional({ nullable: true }) fromName!: string | null;
  @ApiPropertyOptional({ nullable: true }) templateId!: string | null;
}

export class AbTestViewDto {
  testShare!: number;
  @ApiProperty({ enum: ['click', 'conversion', 'revenue', 'open'] }) metric!: string;
  maxHours!: number;
  @ApiProperty({ enum: ['control', 'leader', 'hold'] }) fallback!: string;
  minPerVariant!: number;
}

export class CampaignDto {
  id!: string;
  name!: string;
  subject!: string;
  templateId!: string;
  @ApiPropertyOptional({ nullable: true, description: 'pinned when sent; null: the current version' }) templateVersion!: number | null;
  fromName!: string;
  fromEmail!: string;
  @ApiPropertyOptional({ nullable: true }) replyTo!: string | null;
  audience!: AudienceDto;
  @ApiProperty({ type: 'object', additionalProperties: true }) data!: Record<string, unknown>;
  @ApiPropertyOptional({ nullable: true }) sendRate!: number | null;
  transport!: string;
  @ApiPropertyOptional({ nullable: true }) postalAddress!: string | null;
  @ApiPropertyOptional({ type: UtmDto, nullable: true }) utm!: UtmDto | null;
  @ApiPropertyOptional({ nullable: true }) attributionWindowHours!: number | null;
  @ApiProperty({ enum: ['draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled'] }) status!: string;
  @ApiPropertyOptional({ nullable: true }) scheduledAt!: string | null;
  localTime!: boolean;
  @ApiPropertyOptional({ nullable: true }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true }) finishedAt!: string | null;
  @ApiPropertyOptional({ type: () => [VariantViewDto], nullable: true }) variants!: VariantViewDto[] | null;
  @ApiPropertyOptional({ type: () => AbTestViewDto, nullable: true }) abTest!: AbTestViewDto | null;
  progress!: ProgressDto;
  createdAt!: string;
  updatedAt!: string;
}

export class ScheduleDto {
  /** ISO time. With localTime, only its wall-clock part counts ("2026-12-01T09:00"). */
  @IsISO8601({ strict: true }, { message: 'at must be an ISO 8601 date-time' })
  at!: string;

  /** Send at that wall-clock time in each recipient's own time zone. */
  @IsOptional()
  @IsBoolean()
  localTime?: boolean;

  /** For recipients without a time zone (local-time sends); defaults to DEFAULT_TIMEZONE. */
  @IsOptional()
  @Validate(IsTimeZone)
  timezone?: string;
}
