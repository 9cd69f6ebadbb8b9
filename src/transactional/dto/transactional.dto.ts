import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, Matches, Validate } from 'class-validator';
import { EmailAddress } from '../../common/email';
import { CAMPAIGN_DATA_LIMITS, JsonObject } from '../../common/validation';

export class SendTransactionalDto {
  @IsUUID('all', { message: 'templateId must be a template id' })
  templateId!: string;

  /** The recipient's address; linked to a subscriber (created without any subscription if new). */
  @Validate(EmailAddress)
  to!: string;

  /** Template data (`data.*`), e.g. the order of a receipt. */
  @IsOptional()
  @JsonObject(CAMPAIGN_DATA_LIMITS)
  data?: Record<string, unknown>;

  /** Handlebars; overrides the template's subject. */
  @IsOptional()
  @IsString()
  @Length(1, 998)
  subject?: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  fromName?: string;

  @IsOptional()
  @Validate(EmailAddress)
  fromEmail?: string;

  /** The same key sends once: a repeat answers the first request's messageId. */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[\x21-\x7e]+$/, { message: 'idempotencyKey must be printable ASCII without spaces' })
  idempotencyKey?: string;
}

export class TransactionalAcceptedDto {
  messageId!: string;
}

const STATUSES = ['queued', 'submitting', 'sent', 'failed', 'unknown', 'skipped'];

export class TransactionalMessageDto {
  messageId!: string;
  @ApiProperty({ enum: STATUSES }) status!: string;
  to!: string;
  templateId!: string;
  createdAt!: string;
  @ApiPropertyOptional({ nullable: true }) sentAt!: string | null;
  @ApiPropertyOptional({ nullable: true }) smtpResponse!: string | null;
}

export class TransactionalStatsQuery {
  @IsUUID('all', { message: 'templateId must be a template id' })
  templateId!: string;
}

class Engagement {
  unique!: number;
  total!: number;
  uniqueHuman!: number;
}

export class TransactionalStatsDto {
  templateId!: string;
  /** The mailing its messages are tracked and counted under. */
  mailingId!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, description: 'messages by status' })
  messages!: Record<string, number>;
  opens!: Engagement;
  clicks!: Engagement;
  @ApiProperty({ type: 'object', additionalProperties: true })
  conversions!: { unique: number; total: number; revenueByCurrency: Record<string, number> };
  @ApiProperty({ type: 'object', additionalProperties: true })
  bounces!: { hard: number; soft: number };
  complaints!: number;
  unsubscribes!: number;
}
