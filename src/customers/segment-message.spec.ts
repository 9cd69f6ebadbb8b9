import { parseMessage, PAGE_VIEWED } from './segment-message';

describe('parseMessage (Segment messages)', () => {
  it('takes a track call as Segment libraries send it, keeping context and dropping their own fields', () => {
    const p = parseMessage(
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'u1',
        properties: { revenue: 12.5 },
        timestamp: '2024-05-01T12:00:00.000Z',
        messageId: 'node-next-1',
        context: { library: { name: '@segment/analytics-node' } },
        integrations: {},
        _metadata: { jsRuntime: 'node' },
        writeKey: 'x',
      },
      null,
      'batch[0]',
    );
    expect(p).toEqual({
      kind: 'message',
      message: {
        type: 'track',
        event: 'Order Completed',
        userId: 'u1',
        anonymousId: null,
        properties: { revenue: 12.5 },
        at: new Date('2024-05-01T12:00:00.000Z'),
        messageId: 'node-next-1',
        context: { library: { name: '@segment/analytics-node' } },
      },
    });
  });

  it('makes a messageId when there is none, reads a timestamp without an offset as UTC, and numbers as ids', () => {
    const p = parseMessage({ event: 'E', userId: 42, timestamp: '2024-05-01T12:00:00' }, 'track', '');
    if (p.kind !== 'message') throw new Error('refused');
    expect(p.message.userId).toBe('42');
    expect(p.message.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.message.at).toEqual(new Date('2024-05-01T12:00:00Z'));
    const q = parseMessage({ event: 'E', anonymousId: 'a' }, 'track', '');
    expect(q.kind === 'message' && q.message.at).toBeNull();
  });

  it('names the field of each problem, under the message index in a batch', () => {
    const fields = (raw: unknown, kind: 'identify' | 'track' | null = null, at = 'batch[3]') => {
      const p = parseMessage(raw, kind, at);
      return p.kind === 'refused' ? p.problems.map((x) => x.field) : [];
    };
    expect(fields({ type: 'track', userId: 'u' })).toEqual(['batch[3].event']);
    expect(fields({ userId: 'u', event: '' }, 'track', '')).toEqual(['event']);
    expect(fields({ type: 'track', event: 'E' })).toEqual(['batch[3].userId']);
    expect(fields({ type: 'track', event: 'E', userId: {} })).toEqual(['batch[3].userId']);
    expect(fields({ type: 'track', event: 'E', userId: 'u', timestamp: 'yesterday' })).toEqual(['batch[3].timestamp']);
    expect(fields({ type: 'track', event: 'E', userId: 'u', timestamp: '2024-13-45T00:00:00Z' })).toEqual(['batch[3].timestamp']);
    expect(fields({ type: 'track', event: 'E', userId: 'u', timestamp: '0000-01-01T00:00:00Z' })).toEqual(['batch[3].timestamp']);
    expect(fields({ type: 'track', event: 'E', userId: 'u', properties: [1] })).toEqual(['batch[3].properties']);
    expect(fields({ type: 'track', event: 'E', userId: 'u', context: 'x' })).toEqual(['batch[3].context']);
    expect(fields({ type: 'track', event: 'E', userId: 'u', messageId: 7.5 })).toEqual([]);
    expect(fields({ type: 'track', event: 'E', userId: 'u', messageId: ['x'] })).toEqual(['batch[3].messageId']);
    expect(fields({ type: 'identify', userId: 'u', traits: { email: 'not an address' } })).toEqual(['batch[3].traits.email']);
    expect(fields({ type: 'identify', userId: 'u', traits: 'x' })).toEqual(['batch[3].traits']);
    expect(fields({ type: 'purchase', userId: 'u' })).toEqual(['batch[3].type']);
    expect(fields({ userId: 'u' })).toEqual(['batch[3].type']);
    expect(fields('x')).toEqual(['batch[3]']);
    expect(fields(null, 'track', '')).toEqual(['body']);
  });

  it('refuses a message over 32 KB, naming it', () => {
    const p = parseMessage({ type: 'track', event: 'E', userId: 'u', properties: { x: 'x'.repeat(33 * 1024) } }, null, 'batch[1]');
    expect(p).toEqual({ kind: 'refused', problems: [{ field: 'batch[1]', message: expect.stringContaining('32 KB') }] });
    const q = parseMessage({ event: 'E', userId: 'u', properties: { x: 'x'.repeat(33 * 1024) } }, 'track', '');
    expect(q.kind === 'refused' && q.problems[0].field).toBe('body');
  });

  it('stores page and screen calls as track events, and accepts group and alias without storing them', () => {
    const page = parseMessage({ type: 'page', anonymousId: 'a', name: 'Pricing', properties: { path: '/pricing' } }, null, 'batch[0]');
    expect(page).toMatchObject({ kind: 'message', message: { type: 'track', event: PAGE_VIEWED, properties: { name: 'Pricing', path: '/pricing' } } });
    expect(parseMessage({ type: 'screen', userId: 'u' }, null, 'batch[0]')).toMatchObject({ message: { event: 'Screen Viewed' } });
    expect(parseMessage({ type: 'group', userId: 'u', groupId: 'g' }, null, 'batch[0]')).toEqual({ kind: 'ignored' });
    expect(parseMessage({ type: 'alias', userId: 'u', previousId: 'p' }, null, 'batch[0]')).toEqual({ kind: 'ignored' });
  });

  it('reads traits.email as the address, normalised, and merges a batch context under the message one', () => {
    const p = parseMessage({ userId: 'u', traits: { email: ' Ada@Example.COM ', plan: 'pro' }, context: { ip: '1.2.3.4' } }, 'identify', '', {
      locale: 'en',
      ip: 'x',
    });
    expect(p).toMatchObject({ kind: 'message', message: { type: 'identify', email: 'ada@example.com', context: { locale: 'en', ip: '1.2.3.4' } } });
    const blank = parseMessage({ userId: 'u', traits: { email: '' } }, 'identify', '');
    expect(blank).toMatchObject({ kind: 'message', message: { email: null } });
  });
});
