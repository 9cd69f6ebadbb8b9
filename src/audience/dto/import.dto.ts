import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import type { ImportStatus } from '../audience.entities';
import { ENCODING_NAMES, type ImportEncoding, type RequestedEncoding } from '../import-encoding';

export class ImportQuery {
  /** The consent wording these contacts agreed to, kept in each one's consent record. */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  consentText?: string;

  /** The file's character encoding; `auto` (default): UTF-8 when it is valid UTF-8, else Windows-1252 ("ANSI", Latin-1). */
  @ApiPropertyOptional({ enum: Object.keys(ENCODING_NAMES), default: 'auto' })
  @IsOptional()
  @IsIn(Object.keys(ENCODING_NAMES), { message: `encoding must be one of ${Object.keys(ENCODING_NAMES).join(', ')}` })
  encoding?: string;
}

export function requestedEncoding(q: ImportQuery): RequestedEncoding {
  return ENCODING_NAMES[(q.encoding ?? 'auto').toLowerCase()];
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
  /** Lines of data in the file: every line after the header, counted on upload (a quoted value may span lines; blank lines count). */
  total!: number;
  /** Lines read so far; equals `total` once completed. Rows (records) end up in created, updated or skipped. */
  processed!: number;
  /** The encoding the file is read in (detected on upload unless given). */
  @ApiProperty({ enum: ['utf-8', 'windows-1252', 'iso-8859-15'] }) encoding!: ImportEncoding;
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
