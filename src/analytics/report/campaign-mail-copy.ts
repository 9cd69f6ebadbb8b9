import { Inject, Injectable } from '@nestjs/common';
import type { CampaignRow } from '../../campaigns/campaigns.repository';
import { CampaignsService } from '../../campaigns/campaigns.service';
import { variantId } from '../../campaigns/variants';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { Recipient } from '../../content/message-render';
import { renderSample } from '../../content/template-preview';
import { MailCopy, slotMarker } from './click-map';

/** Nobody: the copy a report shows is no person's mail. */
const SAMPLE: Recipient = { id: '00000000-0000-0000-0000-000000000000', email: 'recipient@example.com', name: null, attributes: {}, timezone: null };

/**
 * A campaign's mail as its recipients saw it, for the report's click map (one per variant): the
 * template versions it pinned when it started, its subjects, preheaders and data, through the
 * compile and render path of sending, for a sample recipient and without a token (links,
 * unsubscribe and pixel lead nowhere). Reads only.
 */
@Injectable()
export class CampaignMailCopy {
  constructor(
    private readonly campaigns: CampaignsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async copy(row: CampaignRow): Promise<MailCopy> {
    if (row.template_version === null) return { unavailable: 'The click map appears once the campaign has started sending (its mail is fixed then).' };
    const compiled = await this.campaigns.mails(row);
    const links = compiled.flatMap((m) => m.template.links);
    if (!links.length) return { unavailable: 'The mail has no tracked links.' };
    const mails = compiled.map((m, i) => ({
      name: row.variants ? `${variantId(i)} · ${row.variants[i].name}` : null,
      html: renderSample(
        m.template,
        {
          campaign: { id: row.id, name: row.name },
          data: row.data,
          postalAddress: row.postal_address ?? this.config.content.postalAddress,
          links: m.template.links.map((_, slot) => slotMarker(m.firstSlot + slot)),
        },
        SAMPLE,
      ).html,
    }));
    return { mails, links };
  }
}
