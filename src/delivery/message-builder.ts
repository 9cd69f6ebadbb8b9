import { Inject, Injectable } from '@nestjs/common';
import Handlebars from 'handlebars';
import type { SendMailOptions } from 'nodemailer';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { CampaignContext } from '../campaigns/campaigns.service';
import { Recipient, renderMessage } from '../content/message-render';
import type { CompiledTemplate } from '../content/template-compiler';
import { MessageTokens } from '../tracking/message-tokens';

export type { Recipient };

/** What every message of a campaign (and list) shares. */
export type CampaignMessageContext = CampaignContext;

/** Worked out once per campaign (and list) context. */
interface CampaignShared {
  domain: string;
  mailto: string;
  listId: string | null;
  /** `{{campaign.id}}`, `{{campaign.name}}` in templates. */
  ref: { id: string; name: string };
}

/**
 * Per recipient: the Handlebars renders of a compiled template, the message's signed URLs and the
 * standard headers (deterministic Message-ID, RFC 8058 one-click unsubscribe, List-Id).
 */
@Injectable()
export class MessageBuilder {
  private readonly publicHost: string;
  /**
   * Whether the tracking URLs go into the HTML as they are: they are PUBLIC_URL followed by
   * base64url tokens, so when PUBLIC_URL has nothing HTML-escaping would change, neither have they,
   * and Handlebars is spared scanning (and first flattening) each of them for every recipient.
   */
  private readonly trackingUrlsSafe: boolean;
  private readonly perCampaign = new WeakMap<CampaignMessageContext, CampaignShared>();

  constructor(
    private readonly tokens: MessageTokens,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.publicHost = new URL(config.http.publicUrl).hostname;
    this.trackingUrlsSafe = Handlebars.Utils.escapeExpression(config.http.publicUrl) === config.http.publicUrl;
  }

  /**
   * `transactional`: a message someone asked for (a receipt), not marketing: no List-Unsubscribe,
   * List-Unsubscribe-Post, List-Id or Precedence: bulk; the tracking stays. Its Message-ID must be
   * unique per message although the token (mailing, subscriber) repeats, so `tag` (the message's
   * own id) goes into the right-hand side, leaving the local part the token bounce reports name.
   * `personal`: a journey mail's own data (`{{data.x}}` from the enrolment, `{{trigger.properties.x}}`).
   */
  build(
    compiled: CompiledTemplate,
    campaign: CampaignMessageContext,
    to: Recipient,
    opts: {
      test?: boolean;
      transactional?: { tag: string };
      personal?: { data: Record<string, unknown>; trigger: Record<string, unknown> };
      /** A campaign variant's first link slot among the campaign's (see CampaignsService.compiled). */
      firstSlot?: number;
    } = {},
  ): SendMailOptions {
    const urls = this.tokens.forMessage({ campaignId: campaign.id, subscriberId: to.id }, compiled.links.length, opts.firstSlot);
    const shared = this.campaignShared(campaign);
    const { subject, html, text } = renderMessage(
      compiled,
      {
        campaign: shared.ref,
        data: opts.personal?.data ?? campaign.data,
        trigger: opts.personal?.trigger,
        postalAddress: campaign.postalAddress,
        unsubscribeUrl: urls.unsubscribe,
        preferencesUrl: urls.preferences,
        links: this.trackingUrlsSafe ? urls.clicks.map((u) => new Handlebars.SafeString(u)) : urls.clicks,
        pixel: this.trackingUrlsSafe ? new Handlebars.SafeString(urls.open) : urls.open,
      },
      to,
    );
    const { domain, mailto, listId } = shared;
    const tx = opts.transactional;
    const headers: Record<string, string | { prepared: boolean; value: string }> = tx
      ? { 'X-EDM-Campaign': campaign.id }
      : {
          'List-Unsubscribe': `<${urls.unsubscribe}>, <mailto:${mailto}?subject=unsubscribe%20${urls.unsubscribeToken}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          Precedence: 'bulk',
          'X-EDM-Campaign': campaign.id,
        };
    // Prepared: nodemailer would otherwise MIME-encode the whole value because of its quotes and brackets.
    if (listId && !tx) headers['List-Id'] = { prepared: true, value: listId };
    if (opts.test) headers['X-EDM-Test'] = 'yes';
    return {
      from: { name: campaign.fromName, address: campaign.fromEmail },
      to: to.name ? { name: to.name, address: to.email } : to.email,
      replyTo: campaign.replyTo ?? undefined,
      subject: opts.test ? `[TEST] ${subject}` : subject,
      html,
      text,
      messageId: opts.test ? undefined : `<${urls.messageIdToken}@${tx ? `${tx.tag}.` : ''}${domain}>`,
      headers,
    };
  }

  /** What every message of a campaign (and list) shares, worked out once per context object. */
  private campaignShared(campaign: CampaignMessageContext): CampaignShared {
    let h = this.perCampaign.get(campaign);
    if (!h) {
      const domain = campaign.fromEmail.split('@')[1] ?? this.publicHost;
      h = {
        domain,
        mailto: this.config.mail.unsubscribeMailto ?? `unsubscribe@${domain}`,
        listId: campaign.list ? `${phrase(campaign.list.name)} <${campaign.list.id}.list-id.${domain}>` : null,
        ref: { id: campaign.id, name: campaign.name },
      };
      this.perCampaign.set(campaign, h);
    }
    return h;
  }
}

/** A display phrase: quoted when ASCII, RFC 2047-encoded otherwise. */
function phrase(name: string): string {
  const clean = name.replace(/[\r\n]+/g, ' ').trim();
  return /^[\x20-\x7e]*$/.test(clean) ? `"${clean.replace(/["\\]/g, '')}"` : `=?UTF-8?B?${Buffer.from(clean).toString('base64')}?=`;
}
