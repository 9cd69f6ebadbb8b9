import { Body, Controller, HttpCode, Injectable, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { SubscribersService } from '../audience/subscribers.service';
import { CampaignsService } from '../campaigns/campaigns.service';
import { TestSendDto } from '../campaigns/dto/campaign.dto';
import { normalizeEmail } from '../common/email';
import { idParam } from '../common/uuid';
import type { Recipient } from '../content/message-render';
import { TEST_RECIPIENT } from '../tracking/message-tokens';
import { MailTransport } from './mail-transport';
import { MessageBuilder } from './message-builder';

/**
 * Test copies of a campaign, marked as such (subject prefix and X-EDM-Test). A known subscriber is
 * personalised with their own data; their tokens carry the test recipient, so nothing they click is
 * counted.
 */
@Injectable()
export class TestSends {
  constructor(
    private readonly campaigns: CampaignsService,
    private readonly subscribers: SubscribersService,
    private readonly builder: MessageBuilder,
    private readonly transport: MailTransport,
  ) {}

  async send(id: string, dto: TestSendDto): Promise<{ sent: string[] }> {
    const row = await this.campaigns.row(id);
    const mails = await this.campaigns.compiled(row);
    const context = await this.campaigns.messageContext(row);
    const emails = [...new Set(dto.emails.map((e) => normalizeEmail(e)!))];
    const known = await this.subscribers.profilesByEmail(emails);
    for (const email of emails) {
      const profile = known.find((k) => k.email === email);
      const recipient: Recipient = {
        name: profile?.name ?? null,
        attributes: profile?.attributes ?? {},
        timezone: profile?.timezone ?? null,
        id: TEST_RECIPIENT,
        email,
      };
      // Every variant, so each can be checked before the campaign goes out.
      for (const mail of mails) {
        const ctx = mail.fromName ? { ...context, fromName: mail.fromName } : context;
        await this.transport.send(this.builder.build(mail.template, ctx, recipient, { test: true, firstSlot: mail.firstSlot }), row.transport);
      }
    }
    return { sent: emails };
  }
}

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('v1/campaigns')
export class TestSendsController {
  constructor(private readonly tests: TestSends) {}

  /** Sends test copies (subject "[TEST] …") to up to 20 addresses: one of each variant. */
  @Post(':id/test')
  @HttpCode(200)
  test(@Param('id', idParam('Campaign')) id: string, @Body() dto: TestSendDto): Promise<{ sent: string[] }> {
    return this.tests.send(id, dto);
  }
}
