import { encodeEvent, TrackingEvent } from './tracking-event';

describe('encodeEvent', () => {
  const message = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };
  const agents = ['Mozilla/5.0 (X11; Linux x86_64)', 'quote " backslash \\ newline \n tab \t', 'ünïcödé ☃ \u2028', ''];

  it('writes opens and clicks as JSON.stringify would, whatever the user agent holds', () => {
    for (const userAgent of agents) {
      const events: TrackingEvent[] = [
        { type: 'open', at: 1_780_000_000_123, ...message, agent: 'human', ip: '203.0.113.9', userAgent },
        { type: 'click', at: 1_780_000_000_456, ...message, slot: 0, agent: 'scanner', ip: '::ffff:17.0.0.1', userAgent },
        { type: 'click', at: 1, ...message, slot: 4095, agent: 'apple_proxy', ip: '"odd"', userAgent },
      ];
      for (const e of events) expect(JSON.parse(encodeEvent(e))).toEqual(JSON.parse(JSON.stringify(e)));
    }
  });

  it('leaves every other shape to JSON.stringify', () => {
    const others: TrackingEvent[] = [
      { type: 'conversion', at: 2, ...message, clickedAt: 1, orderId: 'A-1', value: 20.5, currency: 'EUR', ip: '127.0.0.1', userAgent: 'x' },
      { type: 'bounce', at: 3, campaignId: null, subscriberId: null, email: 'a@example.com', bounce: 'hard', provider: 'ses' },
      { type: 'open', at: 4, ...message, agent: 'human' },
    ];
    for (const e of others) expect(encodeEvent(e)).toBe(JSON.stringify(e));
  });
});
