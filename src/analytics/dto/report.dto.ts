import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class ReportLinkRequest {
  /** How long the link works, in hours (default 168, a week; at most 720, thirty days). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(720)
  expiresInHours?: number;
}

export class ReportLinkDto {
  /** The report page, without an API key: anyone who has the link can read it until it expires. */
  url!: string;
  expiresAt!: string;
}
