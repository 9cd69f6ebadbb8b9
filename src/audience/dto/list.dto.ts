import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, Length, MaxLength, ValidateBy } from 'class-validator';
import { IsOmittable, NestedObject, PatchType } from '../../common/validation';
import type { OptIn } from '../audience.entities';

/** `https://shop.example.com` or `http://localhost:8080`: a scheme, a host and maybe a port, nothing else. */
export function isOrigin(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

export class PublicFormDto {
  /** Whether `GET/POST /subscribe/:listId` work. Default: on for double opt-in lists, off for single opt-in ones. */
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;

  /** Whether a post must carry a solved proof-of-work challenge (the hosted page's widget solves it). Default true. */
  @IsOmittable()
  @IsBoolean()
  challenge?: boolean;

  /** Sites (origins) that may post JSON to the form from the browser and show the hosted page in a frame. */
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateBy(
    {
      name: 'origin',
      validator: { validate: isOrigin, defaultMessage: () => 'allowedOrigins must contain origins such as https://shop.example.com (no path)' },
    },
    { each: true },
  )
  allowedOrigins?: string[];
}

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

  /** The consent wording shown on the public form and recorded with every sign-up through it. */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  consentText?: string;

  @IsOptional()
  @NestedObject(() => PublicFormDto)
  publicForm?: PublicFormDto;
}

export class UpdateListDto extends PatchType(CreateListDto) {}

export class ListCountsDto {
  confirmed!: number;
  pending!: number;
  unsubscribed!: number;
}

export class PublicFormSettingsDto {
  enabled!: boolean;
  challenge!: boolean;
  allowedOrigins!: string[];
  /** The hosted sign-up page. */
  url!: string;
}

export class ListDto {
  id!: string;
  name!: string;
  @ApiPropertyOptional({ nullable: true }) description!: string | null;
  @ApiProperty({ enum: ['single', 'double'] }) optIn!: OptIn;
  @ApiPropertyOptional({ nullable: true }) consentText!: string | null;
  /** Counts the changes of `consentText` (0: never set); the ledger records the version people agreed to. */
  consentVersion!: number;
  publicForm!: PublicFormSettingsDto;
  counts!: ListCountsDto;
  createdAt!: string;
  updatedAt!: string;
}

export class FormSnippetQuery {
  /** `iframe` (default): the hosted page in a frame, allowed by `publicForm.allowedOrigins`; `form`: plain HTML, for lists without the challenge. */
  @ApiPropertyOptional({ enum: ['iframe', 'form'] })
  @IsOptional()
  @IsIn(['iframe', 'form'])
  kind?: 'iframe' | 'form';
}
