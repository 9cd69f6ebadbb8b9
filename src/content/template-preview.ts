import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { normalizeTimeZone } from '../config/config';
import { PreviewDto } from './dto/template.dto';
import { MessageFrame, Recipient, Rendered, renderMessage } from './message-render';
import { CompiledTemplate, TemplateCompiler } from './template-compiler';
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
    return renderSample(
      compiled,
      { campaign: { id: PREVIEW_ID, name: 'Preview' }, data: dto.data ?? {}, postalAddress: this.config.content.postalAddress, links: compiled.links },
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

/**
 * A compiled template for a made-up recipient, with no tokens: the unsubscribe and preference URLs
 * are anchors and the open pixel a blank image, so nothing in it can be counted or unsubscribe
 * anyone. `links` stands for the tracked links (real destinations in a preview).
 */
export function renderSample(compiled: CompiledTemplate, frame: Pick<MessageFrame, 'campaign' | 'data' | 'postalAddress' | 'links'>, to: Recipient): Rendered {
  return renderMessage(compiled, { ...frame, unsubscribeUrl: '#unsubscribe', preferencesUrl: '#preferences', pixel: BLANK_GIF }, to);
}
