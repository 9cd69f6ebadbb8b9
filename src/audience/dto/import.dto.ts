import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { ImportStatus } from '../audience.entities';

export class ImportQuery {
  /** The consent wording these contacts agreed to, kept in each one's consent record. */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  consentText?: string;
}

export class ImportErrorDto {
  line!: number;
  reason!: string;
}

export class ImportDto {
  id!: string;
  listId!: string;
  @ApiProperty({ enum: ['receiving', 'queued', 'running', 'completed', 'failed'] }) status!: ImportStatus;
  @ApiPropertyOptional({ nullable: true }) filename!: string | null;
  /** Data rows in the file (counted on upload; exact once completed). */
  total!: number;
  processed!: number;
  created!: number;
  updated!: number;
  skipped!: number;
  errorCount!: number;
  /** The first rejected lines (at most IMPORT_MAX_ERRORS are kept). */
  errors!: ImportErrorDto[];
  bytes!: number;
  bytesProcessed!: number;
  @ApiPropertyOptional({ nullable: true }) failure!: string | null;
  createdAt!: string;
  @ApiPropertyOptional({ nullable: true }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true }) finishedAt!: string | null;
}
