import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { ATTRIBUTE_LIMITS, CAMPAIGN_DATA_LIMITS, JsonObject, NestedObject, PatchType } from '../../common/validation';

export class CreateTemplateDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  /** MJML with Handlebars; `{{> footer}}` includes a shared partial. */
  @IsString()
  @Length(1, 500_000)
  mjml!: string;

  /** Default subject (Handlebars) for campaigns using this template. */
  @IsOptional()
  @IsString()
  @MaxLength(998)
  subject?: string;
}

export class UpdateTemplateDto extends PatchType(CreateTemplateDto) {}

export class SampleSubscriberDto {
  @IsOptional()
  @IsString()
  email?: string;

  @IsOptional()
  @IsString()
  name?: string;

  @IsOptional()
  @JsonObject(ATTRIBUTE_LIMITS)
  attributes?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  timezone?: string;
}

export class PreviewDto {
  /** Campaign-level data, as `data.*`. */
  @IsOptional()
  @JsonObject(CAMPAIGN_DATA_LIMITS)
  data?: Record<string, unknown>;

  @IsOptional()
  @NestedObject(() => SampleSubscriberDto)
  subscriber?: SampleSubscriberDto;

  @IsOptional()
  @IsString()
  @MaxLength(998)
  subject?: string;

  @ApiPropertyOptional({ enum: ['html', 'json'] })
  @IsOptional()
  @IsIn(['html', 'json'])
  format?: 'html' | 'json';
}

export class TemplateSummaryDto {
  id!: string;
  name!: string;
  @ApiPropertyOptional({ nullable: true }) subject!: string | null;
  version!: number;
  /** Set for the read-only starters shipped in templates/. */
  @ApiPropertyOptional({ nullable: true }) starter!: string | null;
  createdAt!: string;
  updatedAt!: string;
}

export class TemplateDto extends TemplateSummaryDto {
  mjml!: string;
}

export class PreviewResultDto {
  html!: string;
  text!: string;
  subject!: string;
}
