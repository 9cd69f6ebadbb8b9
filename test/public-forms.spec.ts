import { solveAltcha } from './support/altcha';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

/** The public sign-up form: the hosted page, its proof-of-work, honeypot, rate limits, CORS and embeds. */
describe('public sign-up forms', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let guarded: string; // double opt-in, challenge on (the defaults), framed by one shop
  let open: string; // double opt-in, challenge off
  let ips = 0;
  /** Each test posts from an address of its own, so that the per-IP limit of one does not meet another's posts. */
  const newIp = (): string => `198.51.100.${++ips}`;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ SMTP_URL: smtp.url, TRUST_PROXY: 'true' });
    guarded = (
      await t
        .api('post', '/v1/lists')
        .send({
          name: 'Garden club',
          optIn: 'double',
          description: 'Monthly tips',
          consentText: 'Send me the monthly garden tips.',
          publicForm: { allowedOrigins: ['https://shop.example.com'] },
        })
        .expect(201)
    ).body.id;
    open = (
      await t
        .api('post', '/v1/lists')
        .send({ name: 'Open list', optIn: 'double', publicForm: { challenge: false } })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  const subscribersNamed = async (email: string): Promise<number> =>
    Number((await t.db.query(`SELECT count(*) FROM subscribers WHERE email = $1`, [email])).rows[0].count);

  it('has defaults per opt-in: on for double, off for single', async () => {
    const list = (await t.api('get', `/v1/lists/${guarded}`).expect(200)).body;
    expect(list.publicForm).toEqual({
      enabled: true,
      challenge: true,
      allowedOrigins: ['https://shop.example.com'],
      url: `https://edm.test/subscribe/${guarded}`,
    });
    expect(list.consentVersion).toBe(1);
    const single = (await t.api('post', '/v1/lists').send({ name: 'Single', optIn: 'single' }).expect(201)).body;
    expect(single.publicForm.enabled).toBe(false);
    const page = await t.http.get(`/subscribe/${single.id}`).expect(404);
    expect(page.text).toContain('Link not recognised');
    await t.http.post(`/subscribe/${single.id}`).set('X-Forwarded-For', newIp()).send({ email: 'x@example.com' }).expect(404);
    expect(await subscribersNamed('x@example.com')).toBe(0);
    const bad = await t
      .api('post', '/v1/lists')
      .send({ name: 'x', optIn: 'double', publicForm: { allowedOrigins: ['https://a.example.com/path'] } })
      .expect(400);
    expect(bad.body.details[0].field).toBe('publicForm.allowedOrigins');
  });

  it("serves an accessible hosted page with the list's wording, the widget and strict headers", async () => {
    const res = await t.http.get(`/subscribe/${guarded}`).expect(200);
    expect(res.text).toMatch(/<html lang="en">/);
    expect(res.text).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    expect(res.text).toContain('Subscribe to Garden club');
    expect(res.text).toContain('Send me the monthly garden tips.');
    expect(res.text).toMatch(/<label for="email">[^<]+<\/label><input id="email" name="email" type="email"/);
    expect(res.text).toContain(`<altcha-widget challenge="/subscribe/${guarded}/challenge"`);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('frame-ancestors https://shop.example.com');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const script = await t.http.get('/subscribe/assets/altcha-form.js').expect(200);
    expect(script.headers['content-type']).toContain('javascript');
    await t.http.get('/subscribe/assets/..%2Fpackage.json').expect(404);
  });

  it('requires a solved, fresh, single-use challenge by default', async () => {
    const ip = newIp();
    const missing = await t.http.post(`/subscribe/${guarded}`).set('X-Forwarded-For', ip).send({ email: 'pow@example.com' }).expect(400);
    expect(missing.body.details).toEqual([{ field: 'altcha', message: expect.stringContaining('challenge') }]);
    const page = await t.http
      .post(`/subscribe/${guarded}`)
      .set('X-Forwarded-For', ip)
      .type('form')
      .send({ email: 'pow@example.com', altcha: 'garbage' })
      .expect(400);
    expect(page.headers['content-type']).toContain('text/html');
    expect(await subscribersNamed('pow@example.com')).toBe(0);

    const challenge = (await t.http.get(`/subscribe/${guarded}/challenge`).expect(200)).body;
    const altcha = await solveAltcha(challenge);
    const ok = await t.http
      .post(`/subscribe/${guarded}`)
      .set('X-Forwarded-For', ip)
      .set('User-Agent', 'Firefox/140')
      .send({ email: 'pow@example.com', altcha, consentText: 'something else' })
      .expect(200);
    expect(ok.body).toEqual({ ok: true, confirmationRequired: true });
    await smtp.waitFor(() => smtp.mailsTo('pow@example.com').length === 1);
    const again = await t.http.post(`/subscribe/${guarded}`).set('X-Forwarded-For', ip).send({ email: 'pow2@example.com', altcha }).expect(400);
    expect(again.body.details[0].message).toContain('already used');

    // Recorded with the list's own wording and its version, not what the post said.
    const { rows } = await t.db.query(
      `SELECT c.consent_text, c.consent_version, host(c.ip) AS ip FROM consent_events c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = 'pow@example.com'`,
    );
    expect(rows).toEqual([{ consent_text: 'Send me the monthly garden tips.', consent_version: 1, ip }]);

    // A challenge for one list is worthless on another.
    const other = await solveAltcha((await t.http.get(`/subscribe/${guarded}/challenge`).expect(200)).body);
    const elsewhere = (await t.api('post', '/v1/lists').send({ name: 'Elsewhere', optIn: 'double' }).expect(201)).body.id;
    await t.http.post(`/subscribe/${elsewhere}`).set('X-Forwarded-For', ip).send({ email: 'pow3@example.com', altcha: other }).expect(400);
  });

  it('records the wording version in force when someone signs up', async () => {
    await t.api('patch', `/v1/lists/${open}`).send({ consentText: 'Version one' }).expect(200);
    const v2 = await t.api('patch', `/v1/lists/${open}`).send({ consentText: 'Version two' }).expect(200);
    expect(v2.body.consentVersion).toBe(2);
    await t.api('patch', `/v1/lists/${open}`).send({ consentText: 'Version two', name: 'Open list' }).expect(200);
    await t.http.post(`/subscribe/${open}`).set('X-Forwarded-For', newIp()).send({ email: 'versioned@example.com' }).expect(200);
    const { rows } = await t.db.query(
      `SELECT c.consent_text, c.consent_version FROM consent_events c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email = 'versioned@example.com'`,
    );
    expect(rows).toEqual([{ consent_text: 'Version two', consent_version: 2 }]);
  });

  it('answers a filled honeypot as a success and does nothing', async () => {
    const res = await t.http
      .post(`/subscribe/${open}`)
      .set('X-Forwarded-For', newIp())
      .type('form')
      .send({ email: 'bot@example.com', website: 'http://spam.example' })
      .expect(200);
    expect(res.text).toContain('Check your inbox');
    await new Promise((r) => setTimeout(r, 300));
    expect(await subscribersNamed('bot@example.com')).toBe(0);
    expect(smtp.mailsTo('bot@example.com')).toHaveLength(0);
  });

  it("allows CORS JSON posts from the list's allowed origins only", async () => {
    const pre = await t.http
      .options(`/subscribe/${guarded}`)
      .set('Origin', 'https://shop.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(pre.headers['access-control-allow-headers']).toBe('content-type');
    const other = await t.http
      .options(`/subscribe/${guarded}`)
      .set('Origin', 'https://evil.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const challenge = await t.http.get(`/subscribe/${guarded}/challenge`).set('Origin', 'https://shop.example.com').expect(200);
    expect(challenge.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(challenge.headers['cache-control']).toBe('no-store');
    const post = await t.http
      .post(`/subscribe/${guarded}`)
      .set('Origin', 'https://shop.example.com')
      .set('X-Forwarded-For', newIp())
      .send({ email: 'cors@example.com', altcha: await solveAltcha(challenge.body) })
      .expect(200);
    expect(post.headers['access-control-allow-origin']).toBe('https://shop.example.com');
  });

  it('gives a snippet to paste: the framed page, or a plain form for a list without the challenge', async () => {
    const frame = await t.api('get', `/v1/lists/${guarded}/form`).expect(200);
    expect(frame.headers['content-type']).toContain('text/html');
    expect(frame.text).toContain(`<iframe src="https://edm.test/subscribe/${guarded}"`);
    const refused = await t.api('get', `/v1/lists/${guarded}/form?kind=form`).expect(409);
    expect(refused.body.details[0].field).toBe('publicForm.challenge');
    const form = await t.api('get', `/v1/lists/${open}/form?kind=form`).expect(200);
    expect(form.text).toContain(`<form method="post" action="https://edm.test/subscribe/${open}">`);
    expect(form.text).toContain('name="website"');
  });

  it('limits sign-ups per address: the sixth within the window is a 429 with Retry-After', async () => {
    for (let i = 0; i < 5; i++) await t.http.post(`/subscribe/${open}`).set('X-Forwarded-For', newIp()).send({ email: 'often@example.com' }).expect(200);
    const res = await t.http.post(`/subscribe/${open}`).set('X-Forwarded-For', newIp()).send({ email: 'Often@Example.com' }).expect(429);
    expect(res.body.details[0].field).toBe('email');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('limits sign-ups per IP: the 201st from one address within the window gets 429 and no mail', async () => {
    const ip = newIp();
    const posts = Array.from({ length: 200 }, (_, i) => `bomb${i}@example.com`);
    for (let i = 0; i < posts.length; i += 20) {
      await Promise.all(posts.slice(i, i + 20).map((email) => t.http.post(`/subscribe/${open}`).set('X-Forwarded-For', ip).send({ email }).expect(200)));
    }
    const refused = await t.http.post(`/subscribe/${open}`).set('X-Forwarded-For', ip).type('form').send({ email: 'victim@example.com' }).expect(429);
    expect(refused.headers['content-type']).toContain('text/html');
    expect(refused.text).toContain('Too many');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    await t.http.post(`/subscribe/${open}`).set('X-Forwarded-For', newIp()).send({ email: 'neighbour@example.com' }).expect(200);
    await smtp.waitFor(() => smtp.mailsTo('neighbour@example.com').length === 1, 30_000);
    await eventually(() => (smtp.mailsTo('bomb199@example.com').length ? true : undefined), 30_000);
    expect(smtp.mailsTo('victim@example.com')).toHaveLength(0);
    expect(await subscribersNamed('victim@example.com')).toBe(0);
  });
});
