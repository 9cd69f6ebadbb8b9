import type { Agent, ConversionEvent, TrackingEvent } from '../../tracking/tracking-event';

/** What the platform knows about one message's engagement (a row of `engagements`). Times in epoch ms. */
export interface Engagement {
  openedAt: number | null;
  humanOpenedAt: number | null;
  clickedAt: number | null;
  humanClickedAt: number | null;
  clickedSlots: number[];
  humanClickedSlots: number[];
  convertedAt: number | null;
  unsubscribedAt: number | null;
  bounced: 'hard' | 'soft' | null;
  complainedAt: number | null;
}

export type CounterName =
  | 'opens'
  | 'uniqueOpens'
  | 'uniqueHumanOpens'
  | 'clicks'
  | 'uniqueClicks'
  | 'uniqueHumanClicks'
  | 'conversions'
  | 'uniqueConversions'
  | 'unattributedConversions'
  | 'unsubscribes'
  | 'hardBounces'
  | 'softBounces'
  | 'complaints';

export type LinkCounterName = 'clicks' | 'uniqueClicks' | 'uniqueHumanClicks';

/** Where the applier adds up what a message's events changed; deltas may be negative (a burst found late). */
export interface CounterSink {
  add(campaignId: string, counter: CounterName, at: number, by?: number): void;
  addLink(campaignId: string, slot: number, counter: LinkCounterName, by?: number): void;
  addRevenue(campaignId: string, currency: string, amount: number): void;
}

export interface MessageContext {
  campaignId: string;
  /** When the message was accepted by SMTP; null if unknown. */
  sentAt: number | null;
  attributionWindowMs: number;
  defaultCurrency: string;
}

/** A click this soon after delivery is a mail-security gateway inspecting links, not the reader. */
export const SCANNER_AFTER_SEND_MS = 10_000;
/** Clicks on different links of one message this close together are one machine following every link. */
export const BURST_MS = 2_000;

export function emptyEngagement(): Engagement {
  return {
    openedAt: null,
    humanOpenedAt: null,
    clickedAt: null,
    humanClickedAt: null,
    clickedSlots: [],
    humanClickedSlots: [],
    convertedAt: null,
    unsubscribedAt: null,
    bounced: null,
    complainedAt: null,
  };
}

/**
 * Applies one message's new events, in time order, to its engagement, and tells the sink which
 * counters moved. The first event of each kind makes a unique; later ones only add to totals.
 * A click implies an open. A human-looking click turns out to be a scanner when it comes seconds
 * after delivery, or when another link of the message was clicked within BURST_MS — then a first
 * "human" click of that burst is taken back too, with the open it implied.
 */
export function applyEvents(state: Engagement, events: TrackingEvent[], ctx: MessageContext, sink: CounterSink): Engagement {
  const s: Engagement = { ...state, clickedSlots: [...state.clickedSlots], humanClickedSlots: [...state.humanClickedSlots] };
  const c = ctx.campaignId;
  const open = (at: number, human: boolean) => {
    if (s.openedAt === null) {
      s.openedAt = at;
      sink.add(c, 'uniqueOpens', at);
    }
    if (human && s.humanOpenedAt === null) {
      s.humanOpenedAt = at;
      sink.add(c, 'uniqueHumanOpens', at);
    }
  };
  for (const e of events) {
    switch (e.type) {
      case 'open':
        sink.add(c, 'opens', e.at);
        open(e.at, e.agent === 'human');
        break;
      case 'click': {
        const slot = e.slot ?? 0;
        let agent: Agent = e.agent ?? 'human';
        if (agent === 'human' && ctx.sentAt !== null && e.at - ctx.sentAt < SCANNER_AFTER_SEND_MS) agent = 'scanner';
        // Within BURST_MS either way: two consumers can apply one message's events out of time order.
        if (s.clickedAt !== null && Math.abs(e.at - s.clickedAt) <= BURST_MS && !s.clickedSlots.includes(slot)) {
          agent = 'scanner';
          if (s.humanClickedAt !== null && Math.abs(s.humanClickedAt - s.clickedAt) <= BURST_MS) takeBackHumanClick(s, c, sink);
        }
        sink.add(c, 'clicks', e.at);
        sink.addLink(c, slot, 'clicks');
        if (s.clickedAt === null) {
          s.clickedAt = e.at;
          sink.add(c, 'uniqueClicks', e.at);
        }
        if (!s.clickedSlots.includes(slot)) {
          s.clickedSlots.push(slot);
          sink.addLink(c, slot, 'uniqueClicks');
        }
        if (agent === 'human') {
          if (s.humanClickedAt === null) {
            s.humanClickedAt = e.at;
            sink.add(c, 'uniqueHumanClicks', e.at);
          }
          if (!s.humanClickedSlots.includes(slot)) {
            s.humanClickedSlots.push(slot);
            sink.addLink(c, slot, 'uniqueHumanClicks');
          }
        }
        open(e.at, agent === 'human');
        break;
      }
      case 'conversion': {
        if (!isAttributed(e, ctx.attributionWindowMs)) {
          sink.add(c, 'unattributedConversions', e.at);
          break;
        }
        sink.add(c, 'conversions', e.at);
        if (e.value) sink.addRevenue(c, e.currency ?? ctx.defaultCurrency, e.value);
        if (s.convertedAt === null) {
          s.convertedAt = e.at;
          sink.add(c, 'uniqueConversions', e.at);
        }
        break;
      }
      case 'unsubscribe':
        if (s.unsubscribedAt === null) {
          s.unsubscribedAt = e.at;
          sink.add(c, 'unsubscribes', e.at);
        }
        break;
      case 'bounce':
        if (e.bounce === 'hard' && s.bounced !== 'hard') {
          if (s.bounced === 'soft') sink.add(c, 'softBounces', e.at, -1);
          s.bounced = 'hard';
          sink.add(c, 'hardBounces', e.at);
        } else if (e.bounce === 'soft' && s.bounced === null) {
          s.bounced = 'soft';
          sink.add(c, 'softBounces', e.at);
        }
        break;
      case 'complaint':
        if (s.complainedAt === null) {
          s.complainedAt = e.at;
          sink.add(c, 'complaints', e.at);
        }
        break;
    }
  }
  return s;
}

/** A conversion counts for the campaign when it comes within the attribution window after the click that carried its token. */
export function isAttributed(e: ConversionEvent, windowMs: number): boolean {
  return e.clickedAt !== undefined && e.at >= e.clickedAt && e.at - e.clickedAt <= windowMs;
}

/** The burst's first click was a machine after all: its unique human click (and the human open it implied) are withdrawn. */
function takeBackHumanClick(s: Engagement, c: string, sink: CounterSink): void {
  const at = s.humanClickedAt!;
  sink.add(c, 'uniqueHumanClicks', at, -1);
  for (const slot of s.humanClickedSlots) sink.addLink(c, slot, 'uniqueHumanClicks', -1);
  if (s.humanOpenedAt === at) {
    sink.add(c, 'uniqueHumanOpens', at, -1);
    s.humanOpenedAt = null;
  }
  s.humanClickedAt = null;
  s.humanClickedSlots = [];
}
