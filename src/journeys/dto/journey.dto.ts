import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsObject, IsOptional, IsString, Length } from 'class-validator';

const DEFINITION_DOC = 'See the README, "Journeys": trigger, steps (the first is the entry) and settings.';

export class JourneyBodyDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: DEFINITION_DOC })
  @IsObject()
  trigger!: Record<string, unknown>;

  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, description: DEFINITION_DOC })
  @IsArray()
  @ArrayMaxSize(200)
  steps!: unknown[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: DEFINITION_DOC })
  @IsOptional()
  @IsObject()
  settings?: Record<string, unknown>;
}

export class JourneyVersionDto {
  version!: number;
  publishedAt!: string;
}

export class JourneyDto {
  id!: string;
  name!: string;
  @ApiProperty({ enum: ['draft', 'active', 'paused', 'archived'] })
  status!: string;
  /** The version new enrolments get (null until the first publish). */
  version!: number | null;
  /** The draft: what the next publish freezes. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  trigger!: unknown;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  steps!: unknown[];
  @ApiProperty({ type: 'object', additionalProperties: true })
  settings!: unknown;
  versions!: JourneyVersionDto[];
  createdAt!: string;
  updatedAt!: string;
}
