import { loadConfig } from '../config/config';
import { MessageTokens } from './message-tokens';

describe('MessageTokens', () => {
  const tokens = new MessageTokens(loadConfig({ APP_SECRET: 'm'.repeat(40), PUBLIC_URL: 'https://mail.example.com' }));
  const ref = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };
  const urls = tokens.forMessage(ref, 3);
  const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

  it('verifies every URL of a message for its own kind only', () => {
    expect(tokens.verify('open', tokenOf(urls.open))).toEqual(ref);
    expect(tokens.verify('unsubscribe', urls.unsubscribeToken)).toEqual(ref);
    expect(tokens.verify('preferences', tokenOf(urls.preferences))).toEqual(ref);
    urls.clicks.forEach((c, slot) => expect(tokens.verifyClick(tokenOf(c))).toEqual({ ...ref, slot }));
    expect(tokens.verify('unsubscribe', tokenOf(urls.open))).toBeNull();
    expect(tokens.verify('open', tokenOf(urls.preferences))).toBeNull();
  });

  it('spells each token as the base64url of its payload, slots past 255 included', () => {
    const many = tokens.forMessage(ref, 300);
    const payload = (t: string) => Buffer.from(t.split('.')[0], 'base64url');
    expect(payload(tokenOf(many.open)).toString('hex')).toBe((ref.campaignId + ref.subscriberId).replace(/-/g, ''));
    for (const slot of [0, 1, 255, 256, 299]) {
      const token = tokenOf(many.clicks[slot]);
      expect(payload(token).readUInt16BE(32)).toBe(slot);
      expect(tokens.verifyClick(token)).toEqual({ ...ref, slot });
    }
    expect(tokens.forMessage(ref, 3)).toEqual(urls);
  });

  it('rejects any altered character, a moved slot and a second spelling', () => {
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const open = tokenOf(urls.open);
    for (let i = 0; i < open.length; i++) if (open[i] !== '.') expect(tokens.verify('open', flip(open, i))).toBeNull();
    const click = tokenOf(urls.clicks[1]);
    const [p, tag] = click.split('.');
    const moved = Buffer.from(p, 'base64url');
    moved.writeUInt16BE(2, 32);
    expect(tokens.verifyClick(`${moved.toString('base64url')}.${tag}`)).toBeNull();
    expect(tokens.verifyClick('')).toBeNull();
    expect(tokens.verify('open', 'x.y')).toBeNull();
  });

  it('gives the same message the same Message-ID, another message another, and reads it back', () => {
    expect(tokens.forMessage(ref, 0).messageIdToken).toBe(urls.messageIdToken);
    expect(tokens.forMessage({ ...ref, subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c5' }, 0).messageIdToken).not.toBe(urls.messageIdToken);
    expect(tokens.verify('message-id', urls.messageIdToken)).toEqual(ref);
    expect(tokens.verify('open', urls.messageIdToken)).toBeNull();
  });

  it('carries the message and click time in a conversion token, and nothing else passes for one', () => {
    const clickedAt = Date.UTC(2026, 10, 23, 12, 0, 0);
    const token = tokens.conversionToken(ref, clickedAt);
    expect(tokens.verifyConversion(token)).toEqual({ ...ref, clickedAt });
    expect(tokens.verifyConversion(tokenOf(urls.open))).toBeNull();
    expect(tokens.verifyConversion(tokenOf(urls.clicks[0]))).toBeNull();
    expect(tokens.verify('open', token)).toBeNull();
    const [p, tag] = token.split('.');
    const later = Buffer.from(p, 'base64url');
    later.writeUInt32BE(later.readUInt32BE(32) + 86400, 32);
    expect(tokens.verifyConversion(`${later.toString('base64url')}.${tag}`)).toBeNull();
  });
});
