import { generateKeyPairSync, sign } from 'node:crypto';
import { loadConfig } from '../../config/config';
import { MessageTokens } from '../../tracking/message-tokens';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySendgridSignature } from './sendgrid-signature';
import { parseSendgridEvents } from './sendgrid.parser';
import { parseContext } from './webhook-event';
import { errorOf } from '../../../test/support/app-error';

const tokens = new MessageTokens(loadConfig({ APP_SECRET: 'x'.repeat(40) }));
const ref = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };
const smtpId = `<${tokens.forMessage(ref, 0).messageIdToken}@news.example.com>`;
const ctx = parseContext(tokens, Date.UTC(2026, 0, 31, 12));
const AT = 1513299569;

/** Events as SendGrid's Event Webhook reference shows them; the bounce, block and spam report quote our Message-ID. */
const batch = [
  {
    email: 'example@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'processed',
    category: 'cat facts',
    sg_event_id: 'rbtnWrG1DVDGGGFHFyun0A==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
  },
  {
    email: 'example@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'deferred',
    category: 'cat facts',
    sg_event_id: 't7LEShmowp86DTdUW8M-GQ==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    response: '400 try again later',
    attempt: '5',
  },
  {
    email: 'example@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'delivered',
    category: 'cat facts',
    sg_event_id: 'rWVYmVk90MjZJ9iohOBa3w==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    response: '250 OK',
  },
  {
    email: 'Example@Test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'bounce',
    category: 'cat facts',
    sg_event_id: '6g4ZI7SA-xmRDv57GoPIPw==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    reason: '500 unknown recipient',
    status: '5.0.0',
    type: 'bounce',
    bounce_classification: 'Invalid Address',
  },
  {
    email: 'blocked@test.com',
    timestamp: AT + 1,
    'smtp-id': smtpId,
    event: 'bounce',
    category: 'cat facts',
    sg_event_id: 'Fr2FcYHAQ0aTOdXdwjfuKQ==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    reason: '550 5.7.1 Service unavailable; client host blocked using Spamhaus',
    status: '5.7.1',
    type: 'blocked',
    bounce_classification: 'Reputation',
  },
  {
    email: 'gone@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'dropped',
    category: 'cat facts',
    sg_event_id: 'zmzJhfJgAfUSOW80yEbPyw==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    reason: 'Bounced Address',
    status: '5.0.0',
  },
  {
    email: 'left@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'dropped',
    sg_event_id: 'aBcDeFgHiJkLmNoPqRsTuV==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    reason: 'Unsubscribed Address',
    status: '5.0.0',
  },
  {
    email: 'angry@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'dropped',
    sg_event_id: 'ZyXwVuTsRqPoNmLkJiHgFe==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    reason: 'Spam Reporting Address',
    status: '5.0.0',
  },
  {
    email: 'example@test.com',
    timestamp: AT,
    'smtp-id': smtpId,
    event: 'spamreport',
    category: 'cat facts',
    sg_event_id: '37nvH5QBz858KGVYCM4uOA==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
  },
  {
    email: 'example@test.com',
    timestamp: AT,
    event: 'open',
    category: 'cat facts',
    sg_event_id: 'FOTFFO0ecsBE-zxFXfs6WA==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    useragent: 'Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)',
    ip: '255.255.255.255',
  },
  {
    email: 'example@test.com',
    timestamp: AT,
    event: 'click',
    category: 'cat facts',
    sg_event_id: 'kCAi1KttyQdEKHhdC-nuEA==',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    useragent: 'Mozilla/4.0',
    ip: '255.255.255.255',
    url: 'http://www.sendgrid.com/',
  },
];

describe('SendGrid Event Webhook', () => {
  it('keeps bounces, blocks, dropped known-bad addresses and spam reports, and nothing else', () => {
    const common = { at: AT * 1000, ...ref, provider: 'sendgrid' };
    expect(parseSendgridEvents(batch, ctx)).toEqual([
      { type: 'bounce', ...common, email: 'example@test.com', bounce: 'hard', reason: '500 unknown recipient' },
      {
        type: 'bounce',
        ...common,
        at: (AT + 1) * 1000,
        email: 'blocked@test.com',
        bounce: 'soft',
        reason: '550 5.7.1 Service unavailable; client host blocked using Spamhaus',
      },
      { type: 'bounce', ...common, email: 'gone@test.com', bounce: 'hard', reason: 'dropped: Bounced Address' },
      // A complaint about an earlier message: suppress the address, but not against this campaign.
      { type: 'complaint', ...common, campaignId: null, subscriberId: null, email: 'angry@test.com', reason: 'dropped: Spam Reporting Address' },
      { type: 'complaint', ...common, email: 'example@test.com', reason: 'spam report' },
    ]);
  });

  it("leaves the message unknown when smtp-id is SendGrid's own", () => {
    const [event] = parseSendgridEvents([{ ...batch[3], 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>' }], ctx);
    expect(event).toMatchObject({ campaignId: null, subscriberId: null, bounce: 'hard' });
  });

  it('names the element and field that are wrong', () => {
    expect(errorOf(() => parseSendgridEvents({ events: batch }, ctx)).details).toEqual([{ field: 'body', message: 'Expected array, received object' }]);
    expect(errorOf(() => parseSendgridEvents([batch[0], { email: 'x@test.com' }], ctx)).details).toEqual([{ field: '[1].event', message: 'Required' }]);
    expect(errorOf(() => parseSendgridEvents([batch[0], { ...batch[3], email: 'nobody' }], ctx)).details).toEqual([
      { field: '[1].email', message: 'must be a valid e-mail address' },
    ]);
  });

  describe('signature', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const body = Buffer.from(JSON.stringify(batch) + '\r\n');
    const timestamp = '1600112502';
    const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString('base64');

    it('verifies the ECDSA signature over the timestamp and the exact body bytes', () => {
      expect(() => verifySendgridSignature(pem, { [SIGNATURE_HEADER]: signature, [TIMESTAMP_HEADER]: timestamp }, body)).not.toThrow();
    });

    it('refuses a changed body, a changed timestamp and missing headers', () => {
      const tampered = Buffer.from(body.toString().replace('500 unknown recipient', '400 unknown recipient'));
      for (const [headers, raw] of [
        [{ [SIGNATURE_HEADER]: signature, [TIMESTAMP_HEADER]: timestamp }, tampered],
        [{ [SIGNATURE_HEADER]: signature, [TIMESTAMP_HEADER]: '1600112503' }, body],
        [{ [SIGNATURE_HEADER]: 'bm90IGEgc2lnbmF0dXJl', [TIMESTAMP_HEADER]: timestamp }, body],
        [{ [TIMESTAMP_HEADER]: timestamp }, body],
      ] as const) {
        expect(errorOf(() => verifySendgridSignature(pem, headers, raw)).code).toBe('forbidden');
      }
    });
  });
});
