import { loadConfig } from '../../config/config';
import { MessageTokens } from '../../tracking/message-tokens';
import { parsePostmarkRecord } from './postmark.parser';
import { parseContext } from './webhook-event';
import { errorOf } from '../../../test/support/app-error';

const tokens = new MessageTokens(loadConfig({ APP_SECRET: 'x'.repeat(40) }));
const ref = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };
const ourMessageId = `<${tokens.forMessage(ref, 0).messageIdToken}@news.example.com>`;
const NOW = Date.UTC(2026, 0, 31, 12);
const ctx = parseContext(tokens, NOW);

/** Postmark's documented bounce webhook example. */
const bounce = {
  RecordType: 'Bounce',
  MessageStream: 'outbound',
  ID: 4323372036854775807,
  Type: 'HardBounce',
  TypeCode: 1,
  Name: 'Hard bounce',
  Tag: 'Test',
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
  Metadata: { a_key: 'a_value', b_key: 'b_value' },
  ServerID: 23,
  Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
  Details: 'Test bounce details',
  Email: 'John@Example.com',
  From: 'sender@example.com',
  BouncedAt: '2019-11-05T16:33:54.9070259Z',
  DumpAvailable: true,
  Inactive: true,
  CanActivate: true,
  Subject: 'Test subject',
  Content: '<Full dump of bounce>',
};

/** Postmark's documented spam complaint webhook example. */
const spamComplaint = {
  RecordType: 'SpamComplaint',
  MessageStream: 'outbound',
  ID: 42,
  Type: 'SpamComplaint',
  TypeCode: 512,
  Name: 'Spam complaint',
  Tag: 'Test',
  MessageID: '00000000-0000-0000-0000-000000000000',
  Metadata: { a_key: 'a_value', b_key: 'b_value' },
  ServerID: 1234,
  Description: 'The subscriber explicitly marked this message as spam.',
  Details: 'Test spam complaint details',
  Email: 'john@example.com',
  From: 'sender@example.com',
  BouncedAt: '2019-11-05T16:33:54.9070259Z',
  DumpAvailable: true,
  Inactive: true,
  CanActivate: false,
  Subject: 'Test subject',
  Content: '<Abuse report dump>',
};

describe('Postmark webhooks', () => {
  it('makes a HardBounce a hard bounce at BouncedAt, with the details', () => {
    expect(parsePostmarkRecord(bounce, ctx)).toEqual([
      {
        type: 'bounce',
        at: Date.parse('2019-11-05T16:33:54.907Z'),
        campaignId: null,
        subscriberId: null,
        email: 'john@example.com',
        bounce: 'hard',
        reason: 'HardBounce: Test bounce details',
        provider: 'postmark',
      },
    ]);
  });

  it('sorts the bounce types: gone addresses hard, temporary failures soft, replies and our own failures ignored', () => {
    const kind = (Type: string) => {
      const [e] = parsePostmarkRecord({ ...bounce, Type }, ctx);
      return e?.type === 'bounce' ? e.bounce : 'ignored';
    };
    expect(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated'].map(kind)).toEqual(['hard', 'hard', 'hard']);
    expect(['SoftBounce', 'Transient', 'DnsError', 'Blocked', 'SpamNotification', 'Unknown', 'SomethingNew'].map(kind)).toEqual(Array(7).fill('soft'));
    expect(
      ['AutoResponder', 'AddressChange', 'Unsubscribe', 'Subscribe', 'ChallengeVerification', 'DMARCPolicy', 'SMTPApiError', 'TemplateRenderingFailed'].map(
        kind,
      ),
    ).toEqual(Array(8).fill('ignored'));
  });

  it('makes a SpamComplaint record a complaint', () => {
    expect(parsePostmarkRecord(spamComplaint, ctx)).toEqual([
      {
        type: 'complaint',
        at: Date.parse('2019-11-05T16:33:54.907Z'),
        campaignId: null,
        subscriberId: null,
        email: 'john@example.com',
        reason: 'Test spam complaint details',
        provider: 'postmark',
      },
    ]);
  });

  it('finds our Message-ID in the metadata or in the headers the bounce dump quotes', () => {
    expect(parsePostmarkRecord({ ...bounce, Metadata: { 'edm-message-id': ourMessageId } }, ctx)[0]).toMatchObject(ref);
    const dump = `Received: from mx.example.com\r\nMessage-ID: <dsn-1@mx.example.com>\r\n\r\n--boundary\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@example.com\r\nMessage-ID: ${ourMessageId}\r\n`;
    expect(parsePostmarkRecord({ ...spamComplaint, Content: dump }, ctx)[0]).toMatchObject(ref);
  });

  it('ignores deliveries, opens and clicks', () => {
    expect(parsePostmarkRecord({ RecordType: 'Delivery', MessageID: 'x', Recipient: 'john@example.com', DeliveredAt: '2019-11-05T16:33:54Z' }, ctx)).toEqual(
      [],
    );
    expect(parsePostmarkRecord({ RecordType: 'Open', Recipient: 'john@example.com' }, ctx)).toEqual([]);
  });

  it('names what is wrong', () => {
    expect(errorOf(() => parsePostmarkRecord([bounce], ctx)).details[0].field).toBe('body');
    expect(errorOf(() => parsePostmarkRecord({ ...bounce, RecordType: undefined }, ctx)).details).toEqual([{ field: 'RecordType', message: 'Required' }]);
    expect(errorOf(() => parsePostmarkRecord({ ...bounce, Email: '' }, ctx)).details).toEqual([{ field: 'Email', message: 'must be a valid e-mail address' }]);
    expect(errorOf(() => parsePostmarkRecord({ ...bounce, Type: 7 }, ctx)).details[0].field).toBe('Type');
  });
});
