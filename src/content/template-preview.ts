import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { normalizeTimeZone } from '../config/config';
import { PreviewDto } from './dto/template.dto';
import { Rendered, renderMessage } from './message-render';
import { TemplateCompiler } from './template-compiler';
import { TemplatesService } from './templates.service';

const PREVIEW_ID = '00000000-0000-0000-0000-000000000000';
const BLANK_GIF = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/** Renders a template for a sample subscriber, with real destinations instead of tracked links. */
@Injectable()
export class TemplatePreview {
  constructor(
    private readonly templates: TemplatesService,
    private readonly compiler: TemplateCompiler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async preview(id: string, dto: PreviewDto): Promise<Rendered> {
    const v = await this.templates.version(id);
    const subject = dto.subject ?? v.subject ?? '';
    const compiled = await this.compiler.compile(`${id}:${v.version}:${subject}`, v.mjml, subject);
    const s = dto.subscriber ?? {};
    // Real destinations instead of tracked links; no tokens, nothing that could be counted.
    return renderMessage(
      compiled,
      {
        campaign: { id: PREVIEW_ID, name: 'Preview' },
        data: dto.data ?? {},
        postalAddress: this.config.content.postalAddress,
        unsubscribeUrl: '#unsubscribe',
        preferencesUrl: '#preferences',
        links: compiled.links,
        pixel: BLANK_GIF,
      },
      {
        id: PREVIEW_ID,
        email: s.email ?? 'jane.doe@example.com',
        name: s.name ?? 'Jane Doe',
        attributes: s.attributes ?? {},
        timezone: (s.timezone && normalizeTimeZone(s.timezone)) || null,
      },
    );
  }
}
