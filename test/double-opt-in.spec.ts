import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

const confirmLink = (text: string): string => {
  const m = /https:\/\/edm\.test(\/confirm\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(text);
  if (!m) throw new Error(`no confirmation link in: ${text}`);
  return m[1];
};

describe('double opt-in', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let list: string;
  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Offers <offers@edm.test>' });
    // The proof-of-work challenge has tests of its own (test/public-forms.spec.ts); here the form goes without it.
    list = (
      await t
        .api('post', '/v1/lists')
        .send({ name: 'Weekly offers', optIn: 'double', consentText: 'I agree to the weekly offers', publicForm: { challenge: false } })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  const statusOf = async (email: string): Promise<string | undefined> => {
    const { rows } = await t.db.query(
      `SELECT sub.status FROM subscriptions sub JOIN subscribers s ON s.id = sub.subscriber_id WHERE s.email = $1 AND sub.list_id = $2`,
      [email, list],
    );
    return rows[0]?.status;
  };

  it('mails a signed link; GET shows a button and changes nothing; POST confirms and is recorded', async () => {
    const res = await t
      .api('post', `/v1/lists/${list}/subscriptions`)
      .send({ email: 'grace@example.com', consent: { text: 'Offers by mail' } })
      .expect(201);
    expect(res.body.status).toBe('pending');
    await smtp.waitFor((m) => m.length > 0 && smtp.mailsTo('grace@example.com').length === 1);
    const [mail] = smtp.mailsTo('grace@example.com');
    expect(mail.parsed.subject).toBe('Please confirm your subscription to Weekly offers');
    expect(mail.parsed.from?.text).toContain('offers@edm.test');
    const path = confirmLink(mail.parsed.text ?? '');
    expect(mail.parsed.html).toContain(path);

    // A link scanner, or the person just looking: still pending.
    for (let i = 0; i < 3; i++) {
      const page = await t.http.get(path).set('User-Agent', 'Mozilla/5.0 (SafeLinks scanner)').expect(200);
      expect(page.text).toContain('<form method="post"');
    }
    await t.http.head(path);
    expect(await statusOf('grace@example.com')).toBe('pending');

    await t.http.post(path).set('User-Agent', 'Firefox/130').set('X-Forwarded-For', '192.0.2.1').expect(200);
    expect(await statusOf('grace@example.com')).toBe('confirmed');
    await t.http.post(path).expect(200); // idempotent

    const { body } = await t.api('get', `/v1/subscribers/${res.body.subscriberId}`).expect(200);
    expect(body.consentLog.map((c: { action: string; status: string }) => `${c.action}:${c.status}`)).toEqual(['subscribe:pending', 'confirm:confirmed']);
    expect(body.consentLog[1]).toMatchObject({ source: 'form', userAgent: 'Firefox/130', ip: expect.any(String) });
  });

  it('never sends a confirmed subscriber back to pending, and sends no new mail', async () => {
    const before = smtp.mailsTo('grace@example.com').length;
    const again = await t.api('post', `/v1/lists/${list}/subscriptions`).send({ email: 'grace@example.com' }).expect(201);
    expect(again.body.status).toBe('confirmed');
    await t.http.post(`/subscribe/${list}`).send({ email: 'grace@example.com' }).expect(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusOf('grace@example.com')).toBe('confirmed');
    expect(smtp.mailsTo('grace@example.com')).toHaveLength(before);
  });

  it("takes the public form (urlencoded and JSON) with consent evidence: the list's own wording, not the post's", async () => {
    const page = await t.http
      .post(`/subscribe/${list}`)
      .type('form')
      .set('User-Agent', 'Safari/17')
      .send({ email: 'Form.User@example.com', name: 'Form User', consentText: 'I agreed to nothing' })
      .expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('form.user@example.com');
    expect(await statusOf('form.user@example.com')).toBe('pending');
    const { rows } = await t.db.query(
      `SELECT c.source, c.consent_text, c.consent_version, c.user_agent, host(c.ip) AS ip FROM consent_events c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = 'form.user@example.com'`,
    );
    expect(rows).toEqual([{ source: 'form', consent_text: 'I agree to the weekly offers', consent_version: 1, user_agent: 'Safari/17', ip: '127.0.0.1' }]);
    await smtp.waitFor(() => smtp.mailsTo('form.user@example.com').length === 1);

    const json = await t.http.post(`/subscribe/${list}`).send({ email: 'json@example.com' }).expect(200);
    expect(json.body).toEqual({ ok: true, confirmationRequired: true });
    const bad = await t.http.post(`/subscribe/${list}`).send({ email: 'nope' }).expect(400);
    expect(bad.body.details[0].field).toBe('email');
    await t.http.post(`/subscribe/${list}`).type('form').send({ email: 'nope' }).expect(400);
    await t.http.post('/subscribe/00000000-0000-4000-8000-000000000000').send({ email: 'a@example.com' }).expect(404);
  });

  it('answers a suppressed address on the form like any other, and stores and sends nothing', async () => {
    await t.api('post', '/v1/suppressions').send({ email: 'quiet@example.com' }).expect(201);
    const res = await t.http.post(`/subscribe/${list}`).send({ email: 'quiet@example.com' }).expect(200);
    expect(res.body).toEqual({ ok: true, confirmationRequired: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusOf('quiet@example.com')).toBeUndefined();
    expect(smtp.mailsTo('quiet@example.com')).toHaveLength(0);
  });

  it('refuses forged, altered and expired links without changing anything', async () => {
    await t.http.post(`/subscribe/${list}`).send({ email: 'mallory@example.com' }).expect(200);
    await smtp.waitFor(() => smtp.mailsTo('mallory@example.com').length === 1);
    const path = confirmLink(smtp.mailsTo('mallory@example.com')[0].parsed.text ?? '');
    const [payload, mac] = path.slice('/confirm/'.length).split('.');
    const flipped = payload.slice(0, 5) + (payload[5] === 'A' ? 'B' : 'A') + payload.slice(6);
    await t.http.post(`/confirm/${flipped}.${mac}`).expect(404);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    await t.http.post(`/confirm/${payload}.${flip(mac, 10)}`).expect(404);
    await t.http.post(`/confirm/${payload}.${flip(mac, mac.length - 1)}`).expect(404); // only spare bits differ: still refused
    await t.http.post(`/confirm/${payload}`).expect(404);
    await t.http.get('/confirm/%00%00').expect(404);
    expect(await statusOf('mallory@example.com')).toBe('pending');

    const { ConfirmationMailer } = await import('../src/audience/confirmation-mailer');
    const mailer = t.app.get(ConfirmationMailer);
    const { rows } = await t.db.query(`SELECT id FROM subscribers WHERE email = 'mallory@example.com'`);
    const old = mailer.token(rows[0].id, list, new Date(Date.now() - 15 * 24 * 3600 * 1000));
    await t.http.get(`/confirm/${old}`).expect(410);
    await t.http.post(`/confirm/${old}`).expect(410);
    expect(await statusOf('mallory@example.com')).toBe('pending');
  });

  it('does not let an old link re-subscribe someone who unsubscribed', async () => {
    await t.http.post(`/subscribe/${list}`).send({ email: 'changed.mind@example.com' }).expect(200);
    await smtp.waitFor(() => smtp.mailsTo('changed.mind@example.com').length === 1);
    const path = confirmLink(smtp.mailsTo('changed.mind@example.com')[0].parsed.text ?? '');
    const id = await eventually(
      async () => (await t.db.query(`SELECT id FROM subscribers WHERE email = 'changed.mind@example.com'`)).rows[0]?.id as string | undefined,
    );
    await t.api('delete', `/v1/lists/${list}/subscriptions/${id}`).expect(204);
    await t.http.post(path).expect(409);
    expect(await statusOf('changed.mind@example.com')).toBe('unsubscribed');
  });
});
