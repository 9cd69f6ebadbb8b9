import { loadConfig } from '../../config/config';
import { MessageTokens } from '../../tracking/message-tokens';
import { parseSesNotification, parseSnsEnvelope } from './ses.parser';
import { parseContext } from './webhook-event';
import { errorOf } from '../../../test/support/app-error';

const tokens = new MessageTokens(loadConfig({ APP_SECRET: 'x'.repeat(40) }));
const ref = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };
const ourMessageId = `<${tokens.forMessage(ref, 0).messageIdToken}@news.example.com>`;
const NOW = Date.UTC(2026, 0, 31, 12);
const ctx = parseContext(tokens, NOW);

/** The SES documentation's bounce notification (a DSN from the receiving MTA), with our Message-ID in the headers. */
const bounce = (bounceType: string, messageId = 'custom-message-ID') => ({
  notificationType: 'Bounce',
  bounce: {
    bounceType,
    reportingMTA: 'dns; email.example.com',
    bouncedRecipients: [{ emailAddress: 'Jane@Example.com', status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 <jane@example.com>... User' }],
    bounceSubType: 'General',
    timestamp: '2016-01-27T14:59:38.237Z',
    feedbackId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000',
    remoteMtaIp: '127.0.2.0',
  },
  mail: {
    timestamp: '2016-01-27T14:59:38.237Z',
    source: 'john@example.com',
    sourceArn: 'arn:aws:ses:us-east-1:888888888888:identity/example.com',
    sourceIp: '127.0.3.0',
    sendingAccountId: '123456789012',
    callerIdentity: 'IAM_user_or_role_name',
    messageId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000',
    destination: ['jane@example.com'],
    headersTruncated: false,
    headers: [
      { name: 'From', value: '"John Doe" <john@example.com>' },
      { name: 'To', value: '"Jane Doe" <jane@example.com>' },
      { name: 'Message-ID', value: messageId },
      { name: 'Subject', value: 'Hello' },
      { name: 'Content-Type', value: 'text/plain; charset="UTF-8"' },
      { name: 'Date', value: 'Wed, 27 Jan 2016 14:05:45 +0000' },
    ],
    commonHeaders: {
      from: ['John Doe <john@example.com>'],
      date: 'Wed, 27 Jan 2016 14:05:45 +0000',
      to: ['Jane Doe <jane@example.com>'],
      messageId: 'custom-message-ID',
      subject: 'Hello',
    },
  },
});

/** The SES documentation's complaint notification (a feedback loop report). */
const complaint = {
  notificationType: 'Complaint',
  complaint: {
    userAgent: 'AnyCompany Feedback Loop (V0.01)',
    complainedRecipients: [{ emailAddress: 'richard@example.com' }],
    complaintFeedbackType: 'abuse',
    arrivalDate: '2016-01-27T14:59:38.237Z',
    timestamp: '2016-01-27T14:59:38.237Z',
    feedbackId: '000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000',
  },
  mail: {
    timestamp: '2016-01-27T14:59:38.237Z',
    messageId: '000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000',
    source: 'john@example.com',
    destination: ['richard@example.com'],
    headersTruncated: false,
    headers: [{ name: 'Message-ID', value: ourMessageId }],
    commonHeaders: { from: ['John Doe <john@example.com>'], to: ['Richard Doe <richard@example.com>'], messageId: ourMessageId, subject: 'Hello' },
  },
};

/** An SNS Notification envelope as AWS documents it (the signature is checked elsewhere). */
const envelope = (message: unknown) => ({
  Type: 'Notification',
  MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
  TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
  Message: JSON.stringify(message),
  Timestamp: '2012-05-02T00:54:06.655Z',
  SignatureVersion: '1',
  Signature: 'EXAMPLEw6JRN...',
  SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
  UnsubscribeURL:
    'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96',
});

function parse(message: unknown) {
  return parseSesNotification(parseSnsEnvelope(envelope(message)).Message, ctx);
}

describe('SES notifications in SNS envelopes', () => {
  it('makes a Permanent bounce a hard bounce, at the bounce time, with the diagnostic and a lower-cased address', () => {
    expect(parse(bounce('Permanent'))).toEqual([
      {
        type: 'bounce',
        at: Date.parse('2016-01-27T14:59:38.237Z'),
        campaignId: null,
        subscriberId: null,
        email: 'jane@example.com',
        bounce: 'hard',
        reason: 'smtp; 550 5.1.1 <jane@example.com>... User',
        provider: 'ses',
      },
    ]);
  });

  it('makes Transient and Undetermined bounces soft', () => {
    expect(parse(bounce('Transient'))[0]).toMatchObject({ type: 'bounce', bounce: 'soft' });
    expect(parse(bounce('Undetermined'))[0]).toMatchObject({ type: 'bounce', bounce: 'soft' });
  });

  it('names the message when the headers quote our Message-ID, and only then', () => {
    expect(parse(bounce('Permanent', ourMessageId))[0]).toMatchObject(ref);
    const forged = ourMessageId.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    expect(parse(bounce('Permanent', forged))[0]).toMatchObject({ campaignId: null, subscriberId: null });
  });

  it('makes a complaint an event for each complained recipient, with the feedback type', () => {
    expect(parse(complaint)).toEqual([
      { type: 'complaint', at: Date.parse('2016-01-27T14:59:38.237Z'), ...ref, email: 'richard@example.com', reason: 'abuse', provider: 'ses' },
    ]);
  });

  it('reads configuration-set event publishing (eventType) too', () => {
    const published: Record<string, unknown> = { eventType: 'Bounce', ...bounce('Permanent', ourMessageId) };
    delete published.notificationType;
    const events = parse(published);
    expect(events).toEqual([expect.objectContaining({ type: 'bounce', bounce: 'hard', email: 'jane@example.com', ...ref })]);
  });

  it('ignores deliveries, opens and the subscription notice', () => {
    expect(parse({ notificationType: 'Delivery', delivery: { recipients: ['jane@example.com'] }, mail: {} })).toEqual([]);
    expect(parse({ eventType: 'Open', open: { ipAddress: '192.0.2.1' }, mail: {} })).toEqual([]);
    expect(parse({ notificationType: 'AmazonSnsSubscriptionSucceeded', message: 'You have successfully subscribed your Amazon SNS topic' })).toEqual([]);
  });

  it('uses the time of the request when the provider gives none', () => {
    const b = bounce('Transient');
    delete (b.bounce as Partial<typeof b.bounce>).timestamp;
    expect(parse(b)[0].at).toBe(NOW);
  });

  it('names what is wrong in a malformed notification or envelope', () => {
    expect(errorOf(() => parseSesNotification('not json', ctx)).details).toEqual([{ field: 'Message', message: expect.stringContaining('not JSON') }]);
    expect(errorOf(() => parse({ bounce: {} })).details[0].field).toBe('Message.notificationType');
    const noAddress = bounce('Permanent');
    noAddress.bounce.bouncedRecipients[0].emailAddress = 'not an address';
    expect(errorOf(() => parse(noAddress)).details).toEqual([
      { field: 'Message.bounce.bouncedRecipients[0].emailAddress', message: 'must be a valid e-mail address' },
    ]);
    expect(errorOf(() => parse({ ...bounce('Permanent'), bounce: { ...bounce('Permanent').bounce, bounceType: 'Sometimes' } })).details[0].field).toBe(
      'Message.bounce.bounceType',
    );
    const unsigned: Partial<ReturnType<typeof envelope>> = envelope(complaint);
    delete unsigned.Signature;
    expect(errorOf(() => parseSnsEnvelope(unsigned)).details).toEqual([{ field: 'Signature', message: 'Required' }]);
    expect(errorOf(() => parseSnsEnvelope({ ...envelope(complaint), Type: 'SubscriptionConfirmation' })).details.map((d) => d.field)).toEqual([
      'Token',
      'SubscribeURL',
    ]);
    expect(errorOf(() => parseSnsEnvelope([])).details[0].field).toBe('body');
  });
});
