import { IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class ConversionDto {
  /** The `edm_token` parameter a tracked click added to the landing page's URL. */
  @IsString()
  @Length(1, 200)
  token!: string;

  /** The shop's order number: the same order reported twice counts once. */
  @IsString()
  @Length(1, 200)
  orderId!: string;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 4 })
  @Min(0)
  @Max(1e12)
  value?: number;

  /** ISO 4217; defaults to DEFAULT_CURRENCY. */
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency?: string;
}
