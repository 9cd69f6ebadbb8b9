import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, Validate, IsOptional, IsString, MaxLength } from 'class-validator';
import { EmailAddress } from '../../common/email';
import type { SuppressionReason } from '../audience.entities';

const REASONS = ['unsubscribed', 'hard_bounce', 'complaint', 'manual'] as const;

export class CreateSuppressionDto {
  @Validate(EmailAddress)
  email!: string;

  @ApiPropertyOptional({ enum: REASONS, default: 'manual' })
  @IsOptional()
  @IsIn(REASONS)
  reason?: Exclude<SuppressionReason, 'erased'>;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;
}

export class SuppressionDto {
  @ApiPropertyOptional({ nullable: true, description: 'null for an erased subscriber: only the hash is kept' })
  email!: string | null;
  /** Hex SHA-256 of the lower-cased address. */
  emailHash!: string;
  @ApiProperty({ enum: [...REASONS, 'erased'] }) reason!: SuppressionReason;
  @ApiPropertyOptional({ nullable: true }) note!: string | null;
  createdAt!: string;
}
