import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

const PERSON = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';

describe('transactional mail', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let receipt: string;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      SMTP_POOL_SIZE: '5',
      SMTP_RATE: '5000',
      SEND_RETRY_BASE_MS: '100',
      SEND_MAX_ATTEMPTS: '3',
    });
    receipt = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'receipt',
          subject: 'Your order {{data.order}}',
          mjml: `<mjml><mj-body><mj-section><mj-column>
            <mj-text>Thanks {{subscriber.email}}, order {{data.order}} costs {{data.total}}. <a href="https://shop.example/orders">Orders</a></mj-text>
          </mj-column></mj-section></mj-body></mjml>`,
        })
        .expect(201)
    ).body.id;
  }, 60_000);
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });
  beforeEach(() => {
    smtp.policy = () => null;
  });

  const send = (body: object) => t.api('post', '/v1/transactional').send({ templateId: receipt, ...body });
  const message = (id: string) => t.api('get', `/v1/transactional/${id}`).expect(200);
  const settled = (id: string, ms = 20_000) =>
    eventually(async () => {
      const m = (await message(id)).body;
      return ['sent', 'failed', 'skipped', 'unknown'].includes(m.status) ? m : undefined;
    }, ms);

  it('sends a receipt to an address in no list, once, with its data, without List-Unsubscribe, subscribing nobody', async () => {
    const res = await send({ to: ' Buyer@Example.com ', data: { order: 'A-17', total: '€42' }, fromName: 'Shop', fromEmail: 'orders@shop.example' }).expect(
      202,
    );
    const m = await settled(res.body.messageId);
    expect(m).toMatchObject({ status: 'sent', to: 'buyer@example.com', templateId: receipt, smtpResponse: expect.stringMatching(/^250/) });
    expect(m.sentAt).not.toBeNull();
    const mails = smtp.mailsTo('buyer@example.com');
    expect(mails).toHaveLength(1);
    expect(mails[0].parsed.subject).toBe('Your order A-17');
    expect(String(mails[0].parsed.html)).toContain('order A-17 costs €42');
    expect(String(mails[0].parsed.html)).toContain('Thanks buyer@example.com');
    expect(mails[0].parsed.from?.value[0]).toMatchObject({ name: 'Shop', address: 'orders@shop.example' });
    const raw = mails[0].raw.toString();
    expect(raw).not.toMatch(/^List-Unsubscribe/im);
    expect(raw).not.toMatch(/^Precedence/im);
    const sub = (await t.api('get', '/v1/subscribers?email=buyer@example.com').expect(200)).body.items[0];
    expect((await t.api('get', `/v1/subscribers/${sub.id}`).expect(200)).body.subscriptions).toEqual([]);
  });

  it('sends once per idempotency key, also when the requests race', async () => {
    const body = { to: 'twice@example.com', data: { order: 'B-1' }, idempotencyKey: 'order-B-1' };
    const first = await send(body).expect(202);
    const again = await send({ ...body, data: { order: 'B-1' } }).expect(202);
    expect(again.body.messageId).toBe(first.body.messageId);
    const racing = await Promise.all(Array.from({ length: 8 }, () => send({ ...body, to: 'race@example.com', idempotencyKey: 'order-R' }).expect(202)));
    expect(new Set(racing.map((r) => r.body.messageId)).size).toBe(1);
    await settled(first.body.messageId);
    await settled(racing[0].body.messageId);
    // The same JSON with keys in another order is the same request.
    const k1 = await send({ to: 'keys@example.com', data: { order: 'K', total: 1 }, idempotencyKey: 'order-K' }).expect(202);
    const k2 = await send({ idempotencyKey: 'order-K', data: { total: 1, order: 'K' }, to: 'keys@example.com' }).expect(202);
    expect(k2.body.messageId).toBe(k1.body.messageId);
    // Another body under a used key is refused, naming the key.
    const other = await send({ ...body, data: { order: 'B-2' } }).expect(409);
    expect(other.body.details[0].field).toBe('idempotencyKey');
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.mailsTo('twice@example.com')).toHaveLength(1);
    expect(smtp.mailsTo('race@example.com')).toHaveLength(1);
  });

  it('refuses hard-bounced and complained addresses, naming `to`; an unsubscribed address still gets its receipt', async () => {
    await t.api('post', '/v1/suppressions').send({ email: 'bounced@example.com', reason: 'hard_bounce' }).expect(201);
    await t.api('post', '/v1/suppressions').send({ email: 'angry@example.com', reason: 'complaint' }).expect(201);
    // A manual suppression (an operator's "no mail at all") refuses too; see TransactionalService.
    await t.api('post', '/v1/suppressions').send({ email: 'blocked@example.com' }).expect(201);
    for (const to of ['bounced@example.com', 'angry@example.com', 'blocked@example.com']) {
      const r = await send({ to, data: { order: 'X' } }).expect(422);
      expect(r.body.details[0].field).toBe('to');
    }
    const list = (await t.api('post', '/v1/lists').send({ name: 'news', optIn: 'single' }).expect(201)).body.id;
    const sub = (
      await t
        .api('post', '/v1/subscribers')
        .send({ email: 'leaver@example.com', lists: [list], consent: { source: 'api' } })
        .expect(201)
    ).body.id;
    await t.api('delete', `/v1/lists/${list}/subscriptions/${sub}`).expect(204);
    await t.api('post', '/v1/suppressions').send({ email: 'leaver@example.com', reason: 'unsubscribed' }).expect(201);
    const m = await settled((await send({ to: 'leaver@example.com', data: { order: 'L-1' } }).expect(202)).body.messageId);
    expect(m.status).toBe('sent');
    expect(smtp.mailsTo('leaver@example.com')).toHaveLength(1);
  });

  it('answers 4xx naming the field for bad input', async () => {
    const cases: [object, number, string][] = [
      [{ to: 'not-an-address' }, 400, 'to'],
      [{ to: 'a@example.com', templateId: '00000000-0000-4000-8000-000000000000' }, 404, 'templateId'],
      [{ to: 'a@example.com', data: [1, 2] }, 400, 'data'],
      [{ to: 'a@example.com', subject: 'Hi {{#if}}' }, 422, 'subject'],
    ];
    for (const [body, status, field] of cases) {
      const r = await send(body).expect(status);
      expect(r.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    await t.api('get', '/v1/transactional/00000000-0000-4000-8000-000000000000').expect(404);
    await t.api('get', '/v1/transactional/stats?templateId=nope').expect(400);
  });

  it('fails on a 5xx and suppresses the address as a hard bounce', async () => {
    smtp.policy = (to) => (to === 'gone@example.com' ? { code: 550, message: 'no such user' } : null);
    const m = await settled((await send({ to: 'gone@example.com', data: { order: 'G' } }).expect(202)).body.messageId);
    expect(m).toMatchObject({ status: 'failed', smtpResponse: expect.stringContaining('550') });
    const suppressed = (await t.api('get', '/v1/suppressions?limit=1000').expect(200)).body.items.map(
      (s: { email: string; reason: string }) => `${s.email}:${s.reason}`,
    );
    expect(suppressed).toContain('gone@example.com:hard_bounce');
    expect((await send({ to: 'gone@example.com' }).expect(422)).body.details[0].field).toBe('to');
  });

  it('retries a 4xx with backoff', async () => {
    let refusals = 0;
    smtp.policy = (to) => (to === 'later@example.com' && refusals++ < 1 ? { code: 451, message: 'try later' } : null);
    const id = (await send({ to: 'later@example.com', data: { order: 'R' } }).expect(202)).body.messageId;
    expect((await settled(id)).status).toBe('sent');
    const { rows } = await t.db.query(`SELECT attempts FROM transactional_messages WHERE id = $1`, [id]);
    expect(rows[0].attempts).toBe(2);
  });

  it('counts an open and a click of a transactional mail in its template stats', async () => {
    const id = (await send({ to: 'tracked@example.com', data: { order: 'T' } }).expect(202)).body.messageId;
    await settled(id);
    const html = String(smtp.mailsTo('tracked@example.com')[0].parsed.html);
    const open = /https:\/\/edm\.test(\/t\/o\/[A-Za-z0-9_.-]+)/.exec(html)![1];
    const click = /https:\/\/edm\.test(\/t\/c\/[A-Za-z0-9_.-]+)/.exec(html)![1];
    await t.http.get(open).set('User-Agent', PERSON).expect(200);
    const c = await t.http.get(click).set('User-Agent', PERSON).expect(302);
    expect(c.headers.location).toMatch(/^https:\/\/shop\.example\/orders/);
    const stats = await eventually(async () => {
      const s = (await t.api('get', `/v1/transactional/stats?templateId=${receipt}`).expect(200)).body;
      return s.opens.unique >= 1 && s.clicks.unique >= 1 ? s : undefined;
    }, 20_000);
    expect(stats.messages.sent).toBeGreaterThanOrEqual(1);
    expect(stats.clicks.total).toBe(1);
  });

  it('overtakes a big throttled campaign', async () => {
    const list = (await t.api('post', '/v1/lists').send({ name: 'big', optIn: 'single' }).expect(201)).body.id;
    const imp = await t
      .api('post', `/v1/lists/${list}/imports`)
      .set('Content-Type', 'text/csv')
      .send(['email', ...Array.from({ length: 2000 }, (_, i) => `c${i}@example.com`)].join('\n'))
      .expect(202);
    await eventually(async () => ((await t.api('get', `/v1/imports/${imp.body.id}`)).body.status === 'completed' ? true : undefined), 30_000);
    const campaign = (
      await t
        .api('post', '/v1/campaigns')
        .send({
          name: 'big',
          subject: 'News',
          templateId: receipt,
          fromName: 'Shop',
          fromEmail: 'news@shop.example',
          audience: { lists: [list] },
          sendRate: 200,
        })
        .expect(201)
    ).body.id;
    await t.api('post', `/v1/campaigns/${campaign}/send`).expect(200);
    await smtp.waitFor((mails) => mails.some((m) => m.to[0].startsWith('c')), 20_000);
    const id = (await send({ to: 'urgent@example.com', data: { order: 'U' } }).expect(202)).body.messageId;
    await smtp.waitFor(() => smtp.mailsTo('urgent@example.com').length === 1, 5_000);
    expect((await settled(id)).status).toBe('sent');
    const c = (await t.api('get', `/v1/campaigns/${campaign}`).expect(200)).body;
    expect(c.status).toBe('sending');
    expect(c.progress.sent).toBeLessThan(2000);
    await t.api('post', `/v1/campaigns/${campaign}/cancel`).expect(200);
  }, 90_000);
});
