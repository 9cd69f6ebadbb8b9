import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import {
  IsArray,
  IsIn,
  IsIP,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  MaxLength,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { isTimeZone } from '../../config/config';
import { EmailAddress } from '../../common/email';
import { PageQuery } from '../../common/pagination';
import { ATTRIBUTE_LIMITS, JsonObject, NestedObject, PatchType } from '../../common/validation';
import type { ConsentAction, ConsentSource, SubscriptionStatus } from '../audience.entities';

@ValidatorConstraint({ name: 'timezone' })
export class IsTimeZone implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && isTimeZone(value);
  }
  defaultMessage(): string {
    return 'timezone must be an IANA time zone such as Europe/Paris';
  }
}

export class ConsentDto {
  @ApiPropertyOptional({ enum: ['api', 'form', 'import', 'admin'], default: 'api' })
  @IsOptional()
  @IsIn(['api', 'form', 'import', 'admin'])
  source?: ConsentSource;

  /** The consent wording the person agreed to, or its version. */
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  text?: string;

  @IsOptional()
  @IsIP()
  ip?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  userAgent?: string;
}

export class CreateSubscriberDto {
  @Validate(EmailAddress)
  @MaxLength(254)
  email!: string;

  @IsOptional()
  @IsString()
  @Length(0, 500)
  name?: string;

  @IsOptional()
  @JsonObject(ATTRIBUTE_LIMITS)
  attributes?: Record<string, unknown>;

  @IsOptional()
  @Validate(IsTimeZone)
  timezone?: string;

  @IsOptional()
  @IsArray()
  @IsUUID('all', { each: true, message: 'lists must contain list ids' })
  lists?: string[];

  @IsOptional()
  @NestedObject(() => ConsentDto)
  consent?: ConsentDto;
}

/** Profile fields; `attributes` are merged into the stored ones, a key set to null is removed. */
export class UpdateSubscriberDto extends PatchType(PickType(CreateSubscriberDto, ['email', 'name', 'attributes', 'timezone'] as const)) {}

export class SubscriberQuery extends PageQuery {
  @IsOptional()
  @IsUUID('all', { message: 'list must be a list id' })
  list?: string;

  @ApiPropertyOptional({ enum: ['pending', 'confirmed', 'unsubscribed'] })
  @IsOptional()
  @IsIn(['pending', 'confirmed', 'unsubscribed'])
  status?: SubscriptionStatus;

  @IsOptional()
  @IsString()
  email?: string;

  /** The product's user id (the `userId` of customer events). */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  externalId?: string;
}

export class SubscribeDto {
  @IsOptional()
  @IsUUID('all', { message: 'subscriberId must be a subscriber id' })
  subscriberId?: string;

  @IsOptional()
  @Validate(EmailAddress)
  email?: string;

  @IsOptional()
  @NestedObject(() => ConsentDto)
  consent?: ConsentDto;
}

export class SubscriptionDto {
  listId!: string;
  listName!: string;
  subscriberId!: string;
  @ApiProperty({ enum: ['pending', 'confirmed', 'unsubscribed'] }) status!: SubscriptionStatus;
  createdAt!: string;
  @ApiPropertyOptional({ nullable: true }) confirmedAt!: string | null;
  @ApiPropertyOptional({ nullable: true }) unsubscribedAt!: string | null;
}

export class ConsentEventDto {
  id!: string;
  @ApiPropertyOptional({ nullable: true }) listId!: string | null;
  @ApiProperty({ enum: ['subscribe', 'confirm', 'unsubscribe', 'erase'] }) action!: ConsentAction;
  @ApiProperty({ enum: ['api', 'form', 'import', 'admin', 'link'] }) source!: ConsentSource;
  @ApiPropertyOptional({ nullable: true }) status!: SubscriptionStatus | null;
  @ApiPropertyOptional({ nullable: true }) consentText!: string | null;
  /** The list's consent wording version, when the text is the list's own (public form sign-ups). */
  @ApiPropertyOptional({ nullable: true }) consentVersion!: number | null;
  @ApiPropertyOptional({ nullable: true }) ip!: string | null;
  @ApiPropertyOptional({ nullable: true }) userAgent!: string | null;
  @ApiPropertyOptional({ nullable: true }) importId!: string | null;
  occurredAt!: string;
}

export class SubscriberDto {
  id!: string;
  @ApiPropertyOptional({ nullable: true, description: 'null once erased' }) email!: string | null;
  @ApiPropertyOptional({ nullable: true }) name!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) attributes!: Record<string, unknown>;
  @ApiPropertyOptional({ nullable: true }) timezone!: string | null;
  /** The product's user id (Segment's `userId`), linked by an identify call; unique. */
  @ApiPropertyOptional({ nullable: true }) externalId!: string | null;
  createdAt!: string;
  updatedAt!: string;
  @ApiPropertyOptional({ nullable: true }) erasedAt!: string | null;
}

export class SubscriberDetailDto extends SubscriberDto {
  subscriptions!: SubscriptionDto[];
  consentLog!: ConsentEventDto[];
}
