import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import type { OptIn } from '../audience.entities';

export class CreateListDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @IsOptional()
  @IsString()
  @Length(0, 2000)
  description?: string;

  @ApiProperty({ enum: ['single', 'double'] })
  @IsIn(['single', 'double'])
  optIn!: OptIn;
}

export class UpdateListDto extends PartialType(CreateListDto) {}

export class ListCountsDto {
  confirmed!: number;
  pending!: number;
  unsubscribed!: number;
}

export class ListDto {
  id!: string;
  name!: string;
  @ApiPropertyOptional({ nullable: true }) description!: string | null;
  @ApiProperty({ enum: ['single', 'double'] }) optIn!: OptIn;
  counts!: ListCountsDto;
  createdAt!: string;
  updatedAt!: string;
}
