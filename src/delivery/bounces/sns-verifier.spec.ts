import { Logger } from '@nestjs/common';
import { rejectionOf } from '../../../test/support/app-error';
import { makeSnsCertificate, signSnsEnvelope, SNS_CERT_URL } from '../../../test/support/sns';
import { parseSnsEnvelope } from './ses.parser';
import { isSnsUrl, SnsHttp, SnsVerifier, snsStringToSign } from './sns-verifier';

describe('SnsVerifier', () => {
  beforeAll(() => Logger.overrideLogger(false));
  const { cert, key } = makeSnsCertificate();
  const fetched: string[] = [];
  const confirmed: string[] = [];
  const http: SnsHttp = {
    fetchCertificate: (url) => {
      fetched.push(url);
      return Promise.resolve(cert);
    },
    confirmSubscription: (url) => {
      confirmed.push(url);
      return Promise.resolve();
    },
  };
  const verifier = new SnsVerifier(http);
  const notification = {
    Type: 'Notification',
    MessageId: 'da41e39f-ea4d-435a-b922-c6aae3915ebe',
    TopicArn: 'arn:aws:sns:eu-west-1:123456789012:edm-bounces',
    Message: '{"notificationType":"Delivery"}',
    Timestamp: '2026-01-31T12:00:00.000Z',
    UnsubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x',
  };

  it('spells the canonical string as AWS documents it, with Subject only when present', () => {
    const e = parseSnsEnvelope({ ...notification, SignatureVersion: '1', Signature: 'x', SigningCertURL: SNS_CERT_URL });
    expect(snsStringToSign(e)).toBe(
      'Message\n{"notificationType":"Delivery"}\nMessageId\nda41e39f-ea4d-435a-b922-c6aae3915ebe\nTimestamp\n2026-01-31T12:00:00.000Z\nTopicArn\narn:aws:sns:eu-west-1:123456789012:edm-bounces\nType\nNotification\n',
    );
    expect(snsStringToSign({ ...e, Subject: 'Hi' })).toContain('MessageId\nda41e39f-ea4d-435a-b922-c6aae3915ebe\nSubject\nHi\nTimestamp\n');
  });

  it('accepts version 1 and 2 signatures and fetches the certificate once', async () => {
    await verifier.verify(signSnsEnvelope(notification, key, '1'));
    await verifier.verify(signSnsEnvelope({ ...notification, Subject: 'Amazon SES Email Event Notification' }, key, '2'));
    expect(fetched).toEqual([SNS_CERT_URL]);
  });

  it('refuses an altered field, a signature of the other version, and a foreign certificate URL (without fetching it)', async () => {
    const e = signSnsEnvelope(notification, key, '2');
    expect((await rejectionOf(verifier.verify({ ...e, Message: '{"notificationType":"Bounce"}' }))).details[0].field).toBe('Signature');
    expect((await rejectionOf(verifier.verify({ ...e, SignatureVersion: '1' }))).code).toBe('forbidden');
    for (const url of [
      'http://sns.eu-west-1.amazonaws.com/cert.pem',
      'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem',
      'https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem',
      'https://sns.eu-west-1.amazonaws.com/cert.txt',
    ]) {
      const err = await rejectionOf(verifier.verify(signSnsEnvelope({ ...notification, SigningCertURL: url }, key)));
      expect(err.details[0]).toMatchObject({ field: 'SigningCertURL' });
    }
    expect(fetched).toEqual([SNS_CERT_URL]);
  });

  it('confirms a subscription only at an SNS URL', async () => {
    const confirmation = {
      Type: 'SubscriptionConfirmation',
      MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
      Token:
        '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
      TopicArn: notification.TopicArn,
      Message:
        'You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:edm-bounces.\nTo confirm the subscription, visit the SubscribeURL included in this message.',
      SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:edm-bounces&Token=2336412f37',
      Timestamp: '2026-01-31T12:00:00.000Z',
    };
    const e = signSnsEnvelope(confirmation, key);
    await verifier.verify(e);
    await verifier.confirm(e);
    expect(confirmed).toEqual([confirmation.SubscribeURL]);
    expect((await rejectionOf(verifier.confirm({ ...e, SubscribeURL: 'https://evil.example/?Action=ConfirmSubscription' }))).details[0].field).toBe(
      'SubscribeURL',
    );
    expect(confirmed).toHaveLength(1);
  });

  it('tells SNS URLs from look-alikes', () => {
    expect(isSnsUrl('https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', true)).toBe(true);
    expect(isSnsUrl('https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem', true)).toBe(true);
    expect(isSnsUrl('https://sns.us-east-1.amazonaws.com:8443/x.pem', true)).toBe(false);
    expect(isSnsUrl('https://user@sns.us-east-1.amazonaws.com/x.pem', true)).toBe(false);
    expect(isSnsUrl('https://sqs.us-east-1.amazonaws.com/x.pem', true)).toBe(false);
    expect(isSnsUrl('not a url', false)).toBe(false);
  });
});
