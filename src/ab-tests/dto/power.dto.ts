import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

/** GET /v1/ab-tests/power: how large an A/B test must be. */
export class PowerQuery {
  /** The control's rate, e.g. 0.03 for a 3 % click rate. */
  @Type(() => Number)
  @IsNumber({}, { message: 'baseRate must be a number' })
  @Min(0.0001)
  @Max(0.9999)
  baseRate!: number;

  /** The smallest relative lift worth detecting, e.g. 0.2 for +20 %. */
  @Type(() => Number)
  @IsNumber({}, { message: 'relativeLift must be a number' })
  @Min(0.001)
  @Max(100)
  relativeLift!: number;

  /** Recipients in the whole audience (test and rest). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  audience!: number;

  /** Variants including the control (default 2). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(8)
  variants?: number;

  /** Chance of finding the lift if it is there (default 0.8). */
  @IsOptional()
  @Type(() => Number)
  @IsNumber({}, { message: 'power must be a number' })
  @Min(0.5)
  @Max(0.99)
  power?: number;
}

export class PowerDto {
  /** Recipients per variant the always-valid test needs. */
  perVariant!: number;
  /** Share of the audience to put in the test (`abTest.testShare`), at most 1. */
  testShare!: number;
  /** False when even the whole audience is not enough. */
  feasible!: boolean;
  /** What a single-look test would need, for comparison (looking at it early is not valid). */
  fixedHorizonPerVariant!: number;
}
