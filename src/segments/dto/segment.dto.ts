import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { PatchType } from '../../common/validation';

const RULES_DOC =
  'A rule tree: {"and": [...]}, {"or": [...]}, {"not": rule}, {"attribute"|"field", op, value}, {"list", status?}, ' +
  '{"engagement", campaign?, withinDays?, humanOnly?, count?}, {"event", where?, withinDays?, count?, sum?}, {"rfm": {r?, f?, m?}, withinDays?}, {"segment": id}';

export class CreateSegmentDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: RULES_DOC })
  @IsObject()
  rules!: Record<string, unknown>;
}

export class UpdateSegmentDto extends PatchType(CreateSegmentDto) {}

export class PreviewSegmentDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: RULES_DOC })
  @IsObject()
  rules!: Record<string, unknown>;

  /** Subscribers in the sample (default 10). */
  @ApiPropertyOptional({ minimum: 0, maximum: 100, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100)
  limit?: number;
}

export class SegmentDto {
  id!: string;
  name!: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  rules!: unknown;
  /** Members at the last refresh (null: never refreshed). */
  memberCount!: number | null;
  refreshedAt!: string | null;
  createdAt!: string;
  updatedAt!: string;
}

export class SegmentCountDto {
  count!: number;
  /** How long the count took. */
  ms!: number;
}

export class SubscriberSummaryDto {
  id!: string;
  email!: string;
  name!: string | null;
  externalId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true })
  attributes!: Record<string, unknown>;
  timezone!: string | null;
  createdAt!: string;
}

export class SegmentPreviewDto {
  count!: number;
  ms!: number;
  sample!: SubscriberSummaryDto[];
}

export class SegmentRefreshDto {
  entered!: number;
  exited!: number;
  members!: number;
}

export class SegmentMemberDto {
  subscriberId!: string;
  enteredAt!: string;
}
