import { ApiProperty } from '@nestjs/swagger';

export class WebhookAnswerDto {
  @ApiProperty({ description: 'bounce and complaint events taken from the payload (0 for deliveries, opens, subscription confirmations, …)' })
  accepted!: number;
}
