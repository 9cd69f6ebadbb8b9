import { ApiProperty } from '@nestjs/swagger';
import { ArrayMinSize, IsArray, IsIn, IsString, Length } from 'class-validator';
import { SCOPES, type Scope } from '../api-key.entity';

export class CreateApiKeyDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ enum: SCOPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];
}

export class ApiKeyDto {
  id!: string;
  name!: string;
  /** The key's public prefix, to recognise it in a list. */
  prefix!: string;
  scopes!: Scope[];
  createdAt!: string;
  lastUsedAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  /** The secret key. Shown once, never stored in clear. */
  key!: string;
}
