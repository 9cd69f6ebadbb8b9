import { loadConfig } from '../../config/config';
import { MessageTokens } from '../../tracking/message-tokens';
import { parseGenericEvents } from './generic.parser';
import { parseContext } from './webhook-event';
import { errorOf } from '../../../test/support/app-error';

const tokens = new MessageTokens(loadConfig({ APP_SECRET: 'x'.repeat(40) }));
const ref = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };
const ourMessageId = `<${tokens.forMessage(ref, 0).messageIdToken}@news.example.com>`;
const NOW = Date.UTC(2026, 0, 31, 12);
const ctx = parseContext(tokens, NOW);

describe('generic bounce webhook', () => {
  it('takes bounces and complaints in our own shape', () => {
    const events = parseGenericEvents(
      {
        events: [
          {
            type: 'bounce',
            email: 'Ada@Example.com',
            bounceType: 'hard',
            messageId: ourMessageId,
            at: '2026-01-30T08:00:00+01:00',
            reason: '550 5.1.1 no such user',
          },
          { type: 'bounce', email: 'bob@example.com', bounceType: 'soft' },
          { type: 'complaint', email: 'carol@example.com', messageId: '<someone-else@example.org>' },
        ],
      },
      ctx,
    );
    expect(events).toEqual([
      { type: 'bounce', at: Date.UTC(2026, 0, 30, 7), ...ref, email: 'ada@example.com', bounce: 'hard', reason: '550 5.1.1 no such user', provider: 'generic' },
      { type: 'bounce', at: NOW, campaignId: null, subscriberId: null, email: 'bob@example.com', bounce: 'soft', provider: 'generic' },
      { type: 'complaint', at: NOW, campaignId: null, subscriberId: null, email: 'carol@example.com', provider: 'generic' },
    ]);
  });

  it('truncates a long reason', () => {
    const [e] = parseGenericEvents({ events: [{ type: 'bounce', email: 'a@example.com', bounceType: 'soft', reason: 'x'.repeat(2000) }] }, ctx);
    expect(e.reason).toHaveLength(500);
  });

  it('names every wrong field by its path', () => {
    const err = errorOf(() =>
      parseGenericEvents(
        {
          events: [
            { type: 'bounce', email: 'a@example.com', bounceType: 'hard' },
            { type: 'bounce', email: 'b@example.com' },
            { type: 'bounce', email: 'not-an-address', bounceType: 'hard' },
            { type: 'open', email: 'd@example.com' },
            { type: 'complaint', email: 'e@example.com', at: 'yesterday' },
            { type: 'complaint', email: 'f@example.com', bouncetype: 'hard' },
          ],
        },
        ctx,
      ),
    );
    expect(err.code).toBe('invalid_input');
    expect(err.details.map((d) => d.field)).toEqual(['events[1].bounceType', 'events[2].email', 'events[3].type', 'events[4].at', 'events[5]']);
    expect(err.message).toContain('events[2].email: must be a valid e-mail address');
    expect(errorOf(() => parseGenericEvents({}, ctx)).details).toEqual([{ field: 'events', message: 'Required' }]);
  });
});
