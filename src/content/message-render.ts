import type Handlebars from 'handlebars';
import type { CompiledTemplate } from './template-compiler';

/** Who a message is for, as templates see them. */
export interface Recipient {
  id: string;
  email: string;
  name: string | null;
  attributes: Record<string, unknown>;
  timezone: string | null;
}

/** What the sending side hands a template: the campaign's data and the message's own URLs. */
export interface MessageFrame {
  /** `{{campaign.id}}`, `{{campaign.name}}`. */
  campaign: { id: string; name: string };
  data: Record<string, unknown>;
  /** A journey's triggering event (`{{trigger.properties.cartId}}`); empty elsewhere. */
  trigger?: Record<string, unknown>;
  postalAddress: string;
  unsubscribeUrl: string;
  preferencesUrl: string;
  /** One URL per link slot of the compiled template (tracked, or the real destinations in a preview). */
  links: (string | Handlebars.SafeString)[];
  pixel: string | Handlebars.SafeString;
}

export interface Rendered {
  subject: string;
  html: string;
  text: string;
}

/**
 * One message of a compiled template. The context has one fixed shape for every recipient
 * (attributes under `attributes`, never spread on top): Handlebars' property lookups stay fast,
 * and no attribute can shadow unsubscribeUrl & co.
 */
export function renderMessage(compiled: CompiledTemplate, frame: MessageFrame, to: Recipient): Rendered {
  const parts = compiled.render({
    email: to.email,
    attributes: to.attributes,
    name: to.name,
    timezone: to.timezone,
    subscriber: to,
    campaign: frame.campaign,
    data: frame.data,
    trigger: frame.trigger ?? EMPTY,
    unsubscribeUrl: frame.unsubscribeUrl,
    preferencesUrl: frame.preferencesUrl,
    postalAddress: frame.postalAddress,
    __links: frame.links,
    __pixel: frame.pixel,
  });
  parts.subject = oneLine(parts.subject);
  return parts;
}

const EMPTY: Record<string, unknown> = Object.freeze({});

/** A subject is a header: a line break in personal data must not start a new header. */
function oneLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/\s*[\r\n]+\s*/g, ' ').trim() : s.trim();
}
