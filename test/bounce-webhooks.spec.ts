import Redis from 'ioredis';
import { generateKeyPairSync, sign } from 'node:crypto';
import { MessageTokens } from '../src/tracking/message-tokens';
import type { TrackingEvent } from '../src/tracking/tracking-event';
import { SnsHttp } from '../src/delivery/bounces/sns-verifier';
import { REDIS_URL } from './support/databases';
import { makeSnsCertificate, signSnsEnvelope, SNS_CERT_URL } from './support/sns';
import { startTestApp, TestApp } from './support/test-app';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:edm-bounces';
const ref = { campaignId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', subscriberId: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4' };

describe('bounce and complaint webhooks', () => {
  const sns = makeSnsCertificate();
  const sendgrid = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificatesFetched: string[] = [];
  const subscriptionsConfirmed: string[] = [];
  let t: TestApp;
  let redis: Redis;
  let stream: string;
  let writeKey: string;
  let readKey: string;
  let ourMessageId: string;

  beforeAll(async () => {
    // ROLE=api: no ingestor in this process, so the stream keeps exactly what the webhooks appended.
    t = await startTestApp({
      ROLE: 'api',
      SES_TOPIC_ARNS: `${TOPIC}, arn:aws:sns:us-east-1:123456789012:other`,
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    });
    const http = t.app.get(SnsHttp);
    http.fetchCertificate = (url) => {
      certificatesFetched.push(url);
      return Promise.resolve(sns.cert);
    };
    http.confirmSubscription = (url) => {
      subscriptionsConfirmed.push(url);
      return Promise.resolve();
    };
    writeKey = (
      await t
        .api('post', '/v1/api-keys')
        .send({ name: 'bounces', scopes: ['write'] })
        .expect(201)
    ).body.key;
    readKey = (
      await t
        .api('post', '/v1/api-keys')
        .send({ name: 'reports', scopes: ['read'] })
        .expect(201)
    ).body.key;
    ourMessageId = `<${new MessageTokens(t.config).forMessage(ref, 0).messageIdToken}@news.example.com>`;
    redis = new Redis(REDIS_URL);
    stream = `${t.config.redis.prefix}:events`;
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });
  beforeEach(() => redis.del(stream));

  /** Every event the webhooks appended to the Redis stream, in order. */
  const appended = async (): Promise<TrackingEvent[]> => (await redis.xrange(stream, '-', '+')).map(([, fields]) => JSON.parse(fields[1]) as TrackingEvent);
  const post = (provider: string) => t.http.post(`/v1/webhooks/bounces/${provider}`).auth('provider', writeKey);

  describe('ses (SNS)', () => {
    /** An SNS envelope signed as SNS signs it (version 1: SHA1withRSA over the canonical string). */
    const envelope = (fields: Record<string, string>, version: '1' | '2' = '1') => signSnsEnvelope(fields, sns.key, version);
    const notification = (message: object, topic = TOPIC) =>
      envelope({
        Type: 'Notification',
        MessageId: 'a2c2b5b0-6f06-5c29-9a61-2b8d3bd6a6c1',
        TopicArn: topic,
        Message: JSON.stringify(message),
        Timestamp: '2026-01-31T12:00:01.000Z',
        UnsubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96`,
      });
    // SNS posts JSON with this content type.
    const postSns = (body: object) => post('ses').set('Content-Type', 'text/plain; charset=UTF-8').send(JSON.stringify(body));
    const mail = () => ({
      timestamp: '2026-01-31T11:59:00.000Z',
      source: 'news@news.example.com',
      messageId: '0102018d5f1a2b3c-6a8d1c34-0000-0000-0000-000000000000-000000',
      destination: ['jane@example.com'],
      headersTruncated: false,
      headers: [
        { name: 'From', value: 'News <news@news.example.com>' },
        { name: 'Message-ID', value: ourMessageId },
      ],
      commonHeaders: { from: ['News <news@news.example.com>'], to: ['jane@example.com'], messageId: ourMessageId, subject: 'January' },
    });

    it('challenges for Basic credentials, then confirms a subscription at its SubscribeURL', async () => {
      const confirmation = envelope({
        Type: 'SubscriptionConfirmation',
        MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
        Token:
          '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
        TopicArn: TOPIC,
        Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
        SubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f`,
        Timestamp: '2026-01-31T12:00:00.000Z',
      });
      const challenge = await t.http
        .post('/v1/webhooks/bounces/ses')
        .set('Content-Type', 'text/plain; charset=UTF-8')
        .send(JSON.stringify(confirmation))
        .expect(401);
      expect(challenge.headers['www-authenticate']).toBe('Basic realm="edm"');
      expect(subscriptionsConfirmed).toEqual([]);
      expect((await postSns(confirmation).expect(200)).body).toEqual({ accepted: 0 });
      expect(subscriptionsConfirmed).toEqual([confirmation.SubscribeURL]);
      expect(await appended()).toEqual([]);
    });

    it('appends a permanent bounce as a hard bounce of our message, and a complaint', async () => {
      const bounce = {
        notificationType: 'Bounce',
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [{ emailAddress: 'Jane@Example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
          timestamp: '2026-01-31T12:00:00.500Z',
          feedbackId: '0102018d5f1a2b3c-00000000-0000-0000-0000-000000000000-000000',
          reportingMTA: 'dsn; a1-23.smtp-out.eu-west-1.amazonses.com',
        },
        mail: mail(),
      };
      const complaint = {
        eventType: 'Complaint',
        complaint: {
          complainedRecipients: [{ emailAddress: 'jane@example.com' }],
          timestamp: '2026-01-31T13:00:00.000Z',
          feedbackId: '0102018d5f1a2b3c-11111111-0000-0000-0000-000000000000-000000',
          userAgent: 'Yahoo!-Mail-Feedback/2.0',
          complaintFeedbackType: 'abuse',
          arrivalDate: '2026-01-31T12:59:00.000Z',
        },
        mail: mail(),
      };
      expect((await postSns(notification(bounce)).expect(200)).body).toEqual({ accepted: 1 });
      expect((await postSns(notification(complaint)).expect(200)).body).toEqual({ accepted: 1 });
      expect(
        (await postSns(notification({ notificationType: 'Delivery', delivery: { recipients: ['jane@example.com'] }, mail: mail() })).expect(200)).body,
      ).toEqual({ accepted: 0 });
      expect(await appended()).toEqual([
        {
          type: 'bounce',
          at: Date.parse('2026-01-31T12:00:00.500Z'),
          ...ref,
          email: 'jane@example.com',
          bounce: 'hard',
          reason: 'smtp; 550 5.1.1 user unknown',
          provider: 'ses',
        },
        { type: 'complaint', at: Date.parse('2026-01-31T13:00:00.000Z'), ...ref, email: 'jane@example.com', reason: 'abuse', provider: 'ses' },
      ]);
      expect(certificatesFetched).toEqual([SNS_CERT_URL]);
    });

    it('refuses a forged signature, another topic and a foreign certificate URL with 403, and a non-SNS body with 400', async () => {
      const soft = { notificationType: 'Bounce', bounce: { bounceType: 'Transient', bouncedRecipients: [{ emailAddress: 'jane@example.com' }] }, mail: mail() };
      const forged = { ...notification(soft), Message: JSON.stringify({ ...soft, bounce: { ...soft.bounce, bounceType: 'Permanent' } }) };
      expect((await postSns(forged).expect(403)).body.details[0].field).toBe('Signature');
      expect((await postSns(notification(soft, 'arn:aws:sns:eu-west-1:999999999999:someone-else')).expect(403)).body.details[0].field).toBe('TopicArn');
      expect((await postSns({ ...notification(soft), SigningCertURL: 'https://evil.example/cert.pem' }).expect(403)).body.details[0].field).toBe(
        'SigningCertURL',
      );
      expect((await post('ses').set('Content-Type', 'text/plain').send('hello').expect(400)).body.details[0].field).toBe('body');
      const noTopic: Partial<ReturnType<typeof notification>> = notification(soft);
      delete noTopic.TopicArn;
      expect((await postSns(noTopic).expect(400)).body.details).toEqual([{ field: 'TopicArn', message: 'Required' }]);
      expect(await appended()).toEqual([]);
    });
  });

  describe('sendgrid', () => {
    const events = () => [
      {
        email: 'ada@example.com',
        timestamp: 1769860800,
        'smtp-id': ourMessageId,
        event: 'delivered',
        sg_event_id: 'rWVYmVk90MjZJ9iohOBa3w==',
        sg_message_id: 'x.filter0001.16648.5515E0B88.0',
        response: '250 OK',
      },
      {
        email: 'ada@example.com',
        timestamp: 1769860801,
        'smtp-id': ourMessageId,
        event: 'bounce',
        sg_event_id: '6g4ZI7SA-xmRDv57GoPIPw==',
        sg_message_id: 'x.filter0001.16648.5515E0B88.0',
        reason: '550 5.1.1 unknown recipient',
        status: '5.1.1',
        type: 'bounce',
        bounce_classification: 'Invalid Address',
      },
      {
        email: 'bob@example.com',
        timestamp: 1769860802,
        'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>',
        event: 'bounce',
        sg_event_id: 'Fr2FcYHAQ0aTOdXdwjfuKQ==',
        sg_message_id: 'y.filter0001.16648.5515E0B88.0',
        reason: '421 too many messages',
        status: '4.7.0',
        type: 'blocked',
        bounce_classification: 'Frequency or Volume Too High',
      },
      {
        email: 'carol@example.com',
        timestamp: 1769860803,
        'smtp-id': ourMessageId,
        event: 'deferred',
        sg_event_id: 't7LEShmowp86DTdUW8M-GQ==',
        sg_message_id: 'z.filter0001.16648.5515E0B88.0',
        response: '400 try again later',
        attempt: '5',
      },
      {
        email: 'dan@example.com',
        timestamp: 1769860804,
        event: 'spamreport',
        sg_event_id: '37nvH5QBz858KGVYCM4uOA==',
        sg_message_id: 'w.filter0001.16648.5515E0B88.0',
      },
    ];
    /** SendGrid signs the timestamp header followed by the exact body bytes (its bodies end with CRLF). */
    const signed = (body: string, timestamp = '1769860900') => ({
      'X-Twilio-Email-Event-Webhook-Signature': sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), sendgrid.privateKey).toString(
        'base64',
      ),
      'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
    });

    it('verifies the signature on the raw body and appends the bounces and the spam report', async () => {
      const body = JSON.stringify(events()) + '\r\n';
      expect((await post('sendgrid').set('Content-Type', 'application/json').set(signed(body)).send(body).expect(200)).body).toEqual({ accepted: 3 });
      expect(await appended()).toEqual([
        { type: 'bounce', at: 1769860801000, ...ref, email: 'ada@example.com', bounce: 'hard', reason: '550 5.1.1 unknown recipient', provider: 'sendgrid' },
        {
          type: 'bounce',
          at: 1769860802000,
          campaignId: null,
          subscriberId: null,
          email: 'bob@example.com',
          bounce: 'soft',
          reason: '421 too many messages',
          provider: 'sendgrid',
        },
        { type: 'complaint', at: 1769860804000, campaignId: null, subscriberId: null, email: 'dan@example.com', reason: 'spam report', provider: 'sendgrid' },
      ]);
    });

    it('refuses a tampered body, a missing signature and a malformed event', async () => {
      const body = JSON.stringify(events());
      const tampered = body.replace('ada@example.com', 'eve@example.com');
      expect((await post('sendgrid').set('Content-Type', 'application/json').set(signed(body)).send(tampered).expect(403)).body.details[0].field).toBe(
        'X-Twilio-Email-Event-Webhook-Signature',
      );
      await post('sendgrid').set('Content-Type', 'application/json').send(body).expect(403);
      const malformed = JSON.stringify([events()[0], { ...events()[1], email: 42 }]);
      const res = await post('sendgrid').set('Content-Type', 'application/json').set(signed(malformed)).send(malformed).expect(400);
      expect(res.body.details).toEqual([{ field: '[1].email', message: 'Expected string, received number' }]);
      expect(await appended()).toEqual([]);
    });
  });

  describe('postmark', () => {
    const record = () => ({
      RecordType: 'Bounce',
      MessageStream: 'outbound',
      ID: 4323372036854775807,
      Type: 'SoftBounce',
      TypeCode: 4096,
      Name: 'Soft bounce',
      Tag: 'January',
      MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
      Metadata: { 'edm-message-id': ourMessageId },
      ServerID: 23,
      Description: 'Unable to temporarily deliver this email.',
      Details: 'smtp;452 4.2.2 The email account that you tried to reach is over quota.',
      Email: 'erin@example.com',
      From: 'news@news.example.com',
      BouncedAt: '2026-01-31T12:05:00.1234567Z',
      DumpAvailable: false,
      Inactive: false,
      CanActivate: true,
      Subject: 'January',
    });

    it('appends a soft bounce and a spam complaint', async () => {
      expect((await post('postmark').send(record()).expect(200)).body).toEqual({ accepted: 1 });
      const complaint = {
        ...record(),
        RecordType: 'SpamComplaint',
        Type: 'SpamComplaint',
        TypeCode: 512,
        Name: 'Spam complaint',
        Description: 'The subscriber explicitly marked this message as spam.',
        Details: 'Test spam complaint details',
        Metadata: null,
      };
      expect((await post('postmark').send(complaint).expect(200)).body).toEqual({ accepted: 1 });
      expect(
        (
          await post('postmark')
            .send({ RecordType: 'Delivery', MessageID: 'x', Recipient: 'erin@example.com', DeliveredAt: '2026-01-31T12:00:00Z' })
            .expect(200)
        ).body,
      ).toEqual({ accepted: 0 });
      expect(await appended()).toEqual([
        {
          type: 'bounce',
          at: Date.parse('2026-01-31T12:05:00.123Z'),
          ...ref,
          email: 'erin@example.com',
          bounce: 'soft',
          reason: 'SoftBounce: smtp;452 4.2.2 The email account that you tried to reach is over quota.',
          provider: 'postmark',
        },
        {
          type: 'complaint',
          at: Date.parse('2026-01-31T12:05:00.123Z'),
          campaignId: null,
          subscriberId: null,
          email: 'erin@example.com',
          reason: 'Test spam complaint details',
          provider: 'postmark',
        },
      ]);
    });

    it('names a missing field', async () => {
      const noEmail: Partial<ReturnType<typeof record>> = record();
      delete noEmail.Email;
      expect((await post('postmark').send(noEmail).expect(400)).body.details).toEqual([{ field: 'Email', message: 'Required' }]);
    });
  });

  describe('generic', () => {
    it('appends events in our own shape', async () => {
      const res = await post('generic')
        .send({
          events: [
            { type: 'bounce', email: 'Frank@Example.com', bounceType: 'hard', messageId: ourMessageId, at: '2026-01-31T12:00:00Z', reason: '550 no such user' },
            { type: 'complaint', email: 'grace@example.com' },
          ],
        })
        .expect(200);
      expect(res.body).toEqual({ accepted: 2 });
      const [bounce, complaint] = await appended();
      expect(bounce).toEqual({
        type: 'bounce',
        at: Date.UTC(2026, 0, 31, 12),
        ...ref,
        email: 'frank@example.com',
        bounce: 'hard',
        reason: '550 no such user',
        provider: 'generic',
      });
      expect(complaint).toMatchObject({ type: 'complaint', campaignId: null, subscriberId: null, email: 'grace@example.com', provider: 'generic' });
      expect(Math.abs(complaint.at - Date.now())).toBeLessThan(60_000);
    });

    it('answers 400 naming each wrong field, and appends nothing', async () => {
      const res = await post('generic')
        .send({
          events: [
            { type: 'bounce', email: 'ok@example.com', bounceType: 'soft' },
            { type: 'bounce', email: 'nope', bounceType: 'hard' },
            { type: 'bounce', email: 'x@example.com' },
          ],
        })
        .expect(400);
      expect(res.body.details).toEqual([
        { field: 'events[1].email', message: 'must be a valid e-mail address' },
        { field: 'events[2].bounceType', message: 'Required for a bounce: hard or soft' },
      ]);
      await post('generic').set('Content-Type', 'application/json').send('{"events": [').expect(400);
      expect(await appended()).toEqual([]);
    });
  });

  describe('authentication and routing', () => {
    const one = { events: [{ type: 'complaint', email: 'h@example.com' }] };

    it('takes the key as Bearer or as the Basic password, and refuses a wrong or read-only key', async () => {
      await t.http.post('/v1/webhooks/bounces/generic').set('Authorization', `Bearer ${writeKey}`).send(one).expect(200);
      await t.http.post('/v1/webhooks/bounces/generic').auth('any', writeKey).send(one).expect(200);
      const wrong = await t.http
        .post('/v1/webhooks/bounces/generic')
        .auth('any', `${writeKey.slice(0, -1)}x`)
        .send(one)
        .expect(401);
      expect(wrong.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: 'invalid API key' });
      await t.http.post('/v1/webhooks/bounces/generic').send(one).expect(401);
      await t.http.post('/v1/webhooks/bounces/generic').auth('any', readKey).send(one).expect(403);
      expect(await appended()).toHaveLength(2);
      // Basic works elsewhere too, and other 401s do not ask browsers for a password.
      await t.http.get('/v1/lists').auth('any', readKey).expect(200);
      expect((await t.http.get('/v1/lists').expect(401)).headers['www-authenticate']).toBeUndefined();
    });

    it('answers 404 for an unknown provider', async () => {
      const res = await post('mailgun').send(one).expect(404);
      expect(res.body.details).toEqual([{ field: 'provider', message: 'must be one of ses, sendgrid, postmark, generic' }]);
    });

    it('refuses a body over the size limit', async () => {
      const huge = JSON.stringify({ events: [{ type: 'complaint', email: 'h@example.com', reason: 'x'.repeat(1.5 * (1 << 20)) }] });
      const res = await post('generic').set('Content-Type', 'application/json').send(huge).expect(413);
      expect(res.body).toMatchObject({ statusCode: 413, details: [{ field: 'body' }] });
    });

    it('leaves JSON parsing of other routes alone', async () => {
      const res = await t.api('post', '/v1/lists').send({ name: 'Still JSON', optIn: 'single' }).expect(201);
      expect(res.body.name).toBe('Still JSON');
    });
  });
});
