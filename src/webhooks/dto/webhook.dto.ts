import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, MaxLength } from 'class-validator';
import { WEBHOOK_EVENT_TYPES } from '../webhook-events';

export class CreateWebhookDto {
  /** http or https; hosts on loopback, private or link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS. */
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiProperty({ type: [String], enum: WEBHOOK_EVENT_TYPES, minItems: 1 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @IsString({ each: true })
  events!: string[];
}

export class WebhookDto {
  id!: string;
  url!: string;
  @ApiProperty({ type: [String], enum: WEBHOOK_EVENT_TYPES })
  events!: string[];
  @ApiProperty({ enum: ['active', 'disabled'] })
  status!: 'active' | 'disabled';
  /** Since when deliveries have been failing with no success (null: not failing). */
  failingSince!: string | null;
  disabledAt!: string | null;
  createdAt!: string;
}

/** The 201: the only time the signing secret is shown. */
export class CreatedWebhookDto extends WebhookDto {
  /** `whsec_<base64>`, for Standard Webhooks verification. */
  secret!: string;
}

export class WebhookDeliveryDto {
  id!: string;
  /** The event's webhook-id header (the same on every attempt). */
  webhookId!: string;
  type!: string;
  attempt!: number;
  /** null: no HTTP answer (timeout, refused, DNS). */
  statusCode!: number | null;
  ok!: boolean;
  durationMs!: number;
  error!: string | null;
  /** The answer's first bytes. */
  response!: string | null;
  attemptedAt!: string;
}
