import { CounterDeltas } from './counter-deltas';
import { applyEvents, BURST_MS, emptyEngagement, SCANNER_AFTER_SEND_MS } from './engagement';
import type { TrackingEvent } from '../../tracking/tracking-event';

const C = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const S = '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4';
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const ctx = { campaignId: C, sentAt: T0, attributionWindowMs: 7 * 86_400_000, defaultCurrency: 'EUR' };
// Open and click events default to a human agent here; each test sets what it is about.
const ev = (e: Record<string, unknown> & Pick<TrackingEvent, 'type' | 'at'>): TrackingEvent =>
  ({ campaignId: C, subscriberId: S, agent: 'human', ...e }) as TrackingEvent;

function run(events: TrackingEvent[], state = emptyEngagement()) {
  const d = new CounterDeltas();
  const next = applyEvents(state, events, ctx, d);
  const c = d.campaigns.get(C);
  return { next, totals: c?.totals ?? {}, links: c?.links ?? new Map(), revenue: c?.revenue ?? new Map() };
}

describe('applyEvents', () => {
  it('counts the first open of each kind once, and every open in the total', () => {
    const { totals } = run([
      ev({ type: 'open', at: T0 + 60_000, agent: 'apple_proxy' }),
      ev({ type: 'open', at: T0 + 3_600_000, agent: 'human' }),
      ev({ type: 'open', at: T0 + 7_200_000, agent: 'human' }),
    ]);
    expect(totals).toEqual({ opens: 3, uniqueOpens: 1, uniqueHumanOpens: 1 });
  });

  it('takes a click for an open, and a click seconds after delivery for a scanner', () => {
    expect(run([ev({ type: 'click', at: T0 + 3_600_000, slot: 0, agent: 'human' })]).totals).toEqual({
      clicks: 1,
      uniqueClicks: 1,
      uniqueHumanClicks: 1,
      uniqueOpens: 1,
      uniqueHumanOpens: 1,
    });
    expect(run([ev({ type: 'click', at: T0 + SCANNER_AFTER_SEND_MS - 1, slot: 0, agent: 'human' })]).totals).toEqual({
      clicks: 1,
      uniqueClicks: 1,
      uniqueOpens: 1,
    });
  });

  it('withdraws a human click when every link follows within the burst window, even from an earlier batch', () => {
    const first = run([ev({ type: 'click', at: T0 + 3_600_000, slot: 0, agent: 'human' })]);
    const burst = run([ev({ type: 'click', at: T0 + 3_600_000 + BURST_MS / 2, slot: 1, agent: 'human' })], first.next);
    expect(burst.totals).toEqual({ clicks: 1, uniqueHumanClicks: -1, uniqueHumanOpens: -1 });
    expect(burst.links.get(0)).toEqual({ uniqueHumanClicks: -1 });
    expect(burst.next.humanClickedAt).toBeNull();
    // A person clicking later still counts.
    const later = run([ev({ type: 'click', at: T0 + 7_200_000, slot: 1, agent: 'human' })], burst.next);
    expect(later.totals).toEqual({ clicks: 1, uniqueHumanClicks: 1, uniqueHumanOpens: 1 });
  });

  it('judges a burst by the time between the clicks, whichever of them was applied first', () => {
    const first = run([ev({ type: 'click', at: T0 + 3_600_000, slot: 0, agent: 'human' })]);
    // Applied later, clicked ten minutes earlier: a person, not a burst.
    const earlier = run([ev({ type: 'click', at: T0 + 3_000_000, slot: 1, agent: 'human' })], first.next);
    expect(earlier.totals).toEqual({ clicks: 1 });
    expect(earlier.links.get(1)).toEqual({ clicks: 1, uniqueClicks: 1, uniqueHumanClicks: 1 });
    // Applied later, clicked a second earlier: the burst of a machine following every link.
    const burst = run([ev({ type: 'click', at: T0 + 3_600_000 - BURST_MS / 2, slot: 1, agent: 'human' })], first.next);
    expect(burst.totals).toEqual({ clicks: 1, uniqueHumanClicks: -1, uniqueHumanOpens: -1 });
    expect(burst.next.humanClickedAt).toBeNull();
  });

  it('attributes a conversion inside the window after its click, and counts revenue in its currency', () => {
    const clickedAt = T0 + 3_600_000;
    const { totals, revenue } = run([
      ev({ type: 'conversion', at: clickedAt + 86_400_000, clickedAt, orderId: 'A', value: 10 }),
      ev({ type: 'conversion', at: clickedAt + 2 * 86_400_000, clickedAt, orderId: 'B', value: 5, currency: 'USD' }),
      ev({ type: 'conversion', at: clickedAt + 8 * 86_400_000, clickedAt, orderId: 'C', value: 99 }),
    ]);
    expect(totals).toEqual({ conversions: 2, uniqueConversions: 1, unattributedConversions: 1 });
    expect([...revenue]).toEqual([
      ['EUR', 10],
      ['USD', 5],
    ]);
  });

  it('counts a message bounced once, a hard bounce replacing an earlier soft one', () => {
    const { totals, next } = run([
      ev({ type: 'bounce', at: T0 + 1, bounce: 'soft' }),
      ev({ type: 'bounce', at: T0 + 2, bounce: 'soft' }),
      ev({ type: 'bounce', at: T0 + 3, bounce: 'hard' }),
      ev({ type: 'complaint', at: T0 + 4 }),
      ev({ type: 'complaint', at: T0 + 5 }),
      ev({ type: 'unsubscribe', at: T0 + 6 }),
      ev({ type: 'unsubscribe', at: T0 + 7 }),
    ]);
    expect(totals).toEqual({ softBounces: 0, hardBounces: 1, complaints: 1, unsubscribes: 1 });
    expect(next.bounced).toBe('hard');
  });
});
