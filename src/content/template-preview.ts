import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { normalizeTimeZone } from '../config/config';
import { MessageBuilder, Rendered } from '../delivery/message-builder';
import { TEST_RECIPIENT } from '../tracking/message-tokens';
import { PreviewDto } from './dto/template.dto';
import { TemplateCompiler } from './template-compiler';
import { TemplatesService } from './templates.service';

/** Renders a template for a sample subscriber, with real destinations instead of tracked links. */
@Injectable()
export class TemplatePreview {
  constructor(
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    private readonly builder: MessageBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async preview(id: string, dto: PreviewDto): Promise<Rendered> {
    const v = await this.templates.version(id);
    const subject = dto.subject ?? v.subject ?? '';
    const compiled = await this.compiler.compile(`${id}:${v.version}:${subject}`, v.mjml, subject);
    const s = dto.subscriber ?? {};
    const from = this.config.mail.from;
    return this.builder.preview(
      compiled,
      {
        id: TEST_RECIPIENT,
        name: 'Preview',
        fromName: from,
        fromEmail: 'preview@example.com',
        replyTo: null,
        data: dto.data ?? {},
        postalAddress: this.config.content.postalAddress,
        list: null,
      },
      {
        id: TEST_RECIPIENT,
        email: s.email ?? 'jane.doe@example.com',
        name: s.name ?? 'Jane Doe',
        attributes: s.attributes ?? {},
        timezone: (s.timezone && normalizeTimeZone(s.timezone)) || null,
      },
    );
  }
}
