import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import Redis from 'ioredis';
import type { Response } from 'supertest';
import { QUEUES } from '../src/queue/queue.module';
import { MessageTokens, TEST_RECIPIENT } from '../src/tracking/message-tokens';
import { REDIS_URL } from './support/databases';
import { startTestApp, TestApp } from './support/test-app';

interface Ledger {
  list_id: string | null;
  action: string;
  source: string;
  status: string;
  consent_text: string;
  ip: string;
  user_agent: string;
}

/**
 * The HTTP role alone: what these endpoints promise is a change in Postgres before the answer and
 * an event in the Redis stream, and with no worker in the process no ingestor drains that stream
 * while the test reads it. The confirmation mail is asserted as the job queued for the worker.
 */
describe('unsubscribe link and preference centre', () => {
  const redis = new Redis(REDIS_URL);
  let t: TestApp;
  let tokens: MessageTokens;
  let news: string;
  let deals: string;
  let offers: string;
  let other: string;
  let campaign: string;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api' });
    tokens = t.app.get(MessageTokens);
    const list = async (name: string, optIn: string) => (await t.api('post', '/v1/lists').send({ name, optIn }).expect(201)).body.id as string;
    news = await list('News & <Views>', 'single');
    deals = await list('Deals', 'single');
    offers = await list('Offers', 'double');
    other = await list('Someone else’s list', 'single');
    const [starter] = (await t.api('get', '/v1/templates').expect(200)).body.items.filter((i: { starter: string }) => i.starter === 'welcome');
    campaign = (
      await t
        .api('post', '/v1/campaigns')
        .send({ name: 'May', subject: 'Hello', templateId: starter.id, fromName: 'Shop', fromEmail: 'news@shop.example', audience: { lists: [news, deals] } })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    redis.disconnect();
  });

  /** A subscriber on `lists` who got the campaign through `via`: its message row, and the paths of its links. */
  const recipient = async (email: string, lists: string[], via: string) => {
    const id = (await t.api('post', '/v1/subscribers').send({ email, lists }).expect(201)).body.id as string;
    await t.db.query(`INSERT INTO messages (campaign_id, subscriber_id, list_id, status, send_at, sent_at) VALUES ($1, $2, $3, 'sent', now(), now())`, [
      campaign,
      id,
      via,
    ]);
    const urls = tokens.forMessage({ campaignId: campaign, subscriberId: id }, 0);
    return { id, u: new URL(urls.unsubscribe).pathname, p: new URL(urls.preferences).pathname };
  };
  const statuses = async (subscriberId: string): Promise<Record<string, string>> => {
    const { rows } = await t.db.query(`SELECT list_id, status FROM subscriptions WHERE subscriber_id = $1`, [subscriberId]);
    return Object.fromEntries(rows.map((r) => [r.list_id, r.status]));
  };
  const ledger = async (subscriberId: string): Promise<Ledger[]> =>
    (
      await t.db.query(
        `SELECT list_id, action, source, status, consent_text, host(ip) AS ip, user_agent FROM consent_events WHERE subscriber_id = $1 AND source = 'link' ORDER BY id`,
        [subscriberId],
      )
    ).rows;
  const events = async (subscriberId?: string) => {
    const entries = await redis.xrange(`${t.config.redis.prefix}:events`, '-', '+');
    return entries
      .map(([, fields]) => JSON.parse(fields[1]) as { type: string; campaignId: string; subscriberId: string; ip?: string; userAgent?: string })
      .filter((e) => e.type === 'unsubscribe' && (subscriberId === undefined || e.subscriberId === subscriberId));
  };
  const expectPrivatePage = (res: Response) => {
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-robots-tag']).toBe('noindex');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(res.headers.location).toBeUndefined();
  };

  describe('GET /u/:token', () => {
    it('shows the list and the address, escaped, with a form, and changes nothing', async () => {
      const r = await recipient('look.only@example.com', [news, deals], news);
      for (let i = 0; i < 3; i++) {
        const res = await t.http.get(r.u).set('User-Agent', 'Mozilla/5.0 (SafeLinks scanner)').expect(200);
        expectPrivatePage(res);
        expect(res.text).toContain('News &amp; &lt;Views&gt;');
        expect(res.text).not.toContain('<Views>');
        expect(res.text).toContain('look.only@example.com');
        expect(res.text).toContain(`<form method="post" action="${r.u}">`);
        expect(res.text).toContain('name="all"');
        expect(res.text).toContain('Unsubscribe me from all mail (global opt-out)');
        expect(res.text).toContain('>Unsubscribe</button>');
      }
      await t.http.head(r.u).expect(200);
      expect(await statuses(r.id)).toEqual({ [news]: 'confirmed', [deals]: 'confirmed' });
      expect(await ledger(r.id)).toEqual([]);
      expect(await events(r.id)).toEqual([]);
    });
  });

  describe('POST /u/:token', () => {
    it('one-click (urlencoded): 200, unsubscribed at once with IP and user agent on record, idempotent', async () => {
      const r = await recipient('one.click@example.com', [news, deals], news);
      const res = await t.http.post(r.u).type('form').set('User-Agent', 'GoogleOneClick/1.0').send('List-Unsubscribe=One-Click').expect(200);
      expectPrivatePage(res);
      expect(res.text).toContain('one.click@example.com');
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed', [deals]: 'confirmed' });
      const [record, ...rest] = await ledger(r.id);
      expect(rest).toEqual([]);
      expect(record).toMatchObject({
        list_id: news,
        action: 'unsubscribe',
        source: 'link',
        status: 'unsubscribed',
        ip: '127.0.0.1',
        user_agent: 'GoogleOneClick/1.0',
      });
      expect(record.consent_text).toContain('one-click unsubscribe (RFC 8058)');

      const again = await t.http.post(r.u).type('form').send('List-Unsubscribe=One-Click').expect(200);
      expectPrivatePage(again);
      expect(await ledger(r.id)).toHaveLength(1);
      expect(await events(r.id)).toEqual([
        { type: 'unsubscribe', at: expect.any(Number), campaignId: campaign, subscriberId: r.id, ip: '127.0.0.1', userAgent: 'GoogleOneClick/1.0' },
      ]);
    });

    it('one-click (multipart/form-data) works the same', async () => {
      const r = await recipient('multi.part@example.com', [news], news);
      const res = await t.http.post(r.u).set('User-Agent', 'Yahoo/1').field('List-Unsubscribe', 'One-Click').expect(200);
      expectPrivatePage(res);
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed' });
      const records = await ledger(r.id);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ source: 'link', user_agent: 'Yahoo/1', ip: '127.0.0.1' });
      expect(records[0].consent_text).toContain('one-click unsubscribe (RFC 8058)');
      await t.http.post(r.u).field('List-Unsubscribe', 'One-Click').expect(200);
      expect(await ledger(r.id)).toHaveLength(1);
      expect(await events(r.id)).toHaveLength(1);
    });

    it('the page form without the box leaves only that list', async () => {
      const r = await recipient('page.form@example.com', [news, deals], deals);
      await t.http.post(r.u).type('form').send('').expect(200);
      expect(await statuses(r.id)).toEqual({ [news]: 'confirmed', [deals]: 'unsubscribed' });
      const [record] = await ledger(r.id);
      expect(record.consent_text).toContain('unsubscribe page');
      expect(record.consent_text).not.toContain('RFC 8058');
    });

    it('global opt-out: suppressed as unsubscribed, every subscription ends, each on record; a repeat changes nothing', async () => {
      const r = await recipient('all.gone@example.com', [news, deals, offers], news);
      await t.http.post(r.u).type('form').send({ all: 'on' }).expect(200);
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed', [deals]: 'unsubscribed', [offers]: 'unsubscribed' });
      const { rows } = await t.db.query(`SELECT email, reason FROM suppressions WHERE email_hash = email_hash('all.gone@example.com')`);
      expect(rows).toEqual([{ email: 'all.gone@example.com', reason: 'unsubscribed' }]);
      const records = await ledger(r.id);
      expect(records.map((c) => c.list_id).sort()).toEqual([news, deals, offers, null].sort());
      expect(records.every((c) => c.action === 'unsubscribe' && c.consent_text.includes('global opt-out'))).toBe(true);

      await t.http.post(r.u).type('form').send({ all: 'on' }).expect(200);
      await t.http.post(r.u).type('form').send('List-Unsubscribe=One-Click').expect(200);
      expect(await ledger(r.id)).toHaveLength(4);
      expect(await events(r.id)).toHaveLength(1);
      // The suppression holds: the API refuses to put the address back on a list.
      await t.api('post', `/v1/lists/${news}/subscriptions`).send({ subscriberId: r.id }).expect(422);
    });
  });

  it('leaves the management API unsubscribe as it was: 204, a repeat 204, no subscription 404', async () => {
    const r = await recipient('api.user@example.com', [news], news);
    await t.api('delete', `/v1/lists/${news}/subscriptions/${r.id}`).expect(204);
    await t.api('delete', `/v1/lists/${news}/subscriptions/${r.id}`).expect(204);
    await t.api('delete', `/v1/lists/${deals}/subscriptions/${r.id}`).expect(404);
    const { rows } = await t.db.query(`SELECT list_id, source FROM consent_events WHERE subscriber_id = $1 AND action = 'unsubscribe'`, [r.id]);
    expect(rows).toEqual([{ list_id: news, source: 'api' }]);
    // Then the link: already done, so nothing more is recorded or counted.
    await t.http.post(r.u).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(await ledger(r.id)).toEqual([]);
    expect(await events(r.id)).toEqual([]);
  });

  describe('bad links and bad bodies', () => {
    it('refuses altered, foreign-kind and message-less tokens with a 404 page and changes nothing', async () => {
      const r = await recipient('mallory@example.com', [news], news);
      const token = r.u.slice('/u/'.length);
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      const nobody = tokens.forMessage({ campaignId: campaign, subscriberId: '0191a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b' }, 0);
      const bad = [
        `/u/${flip(token, 3)}`,
        `/u/${flip(token, token.length - 2)}`,
        `/u/${token.split('.')[0]}`,
        r.p.replace('/p/', '/u/'),
        '/u/x',
        `/u/${'A'.repeat(60)}.${'B'.repeat(30)}`,
        new URL(nobody.unsubscribe).pathname,
        `/p/${flip(r.p.slice(3), 5)}`,
        r.u.replace('/u/', '/p/'),
      ];
      for (const path of bad) {
        const get = await t.http.get(path).expect(404);
        expectPrivatePage(get);
        expect(get.text).toContain('Link not recognised');
        await t.http
          .post(path)
          .type('form')
          .send({ 'List-Unsubscribe': 'One-Click', all: 'on', list: [news] })
          .expect(404);
      }
      expect(await statuses(r.id)).toEqual({ [news]: 'confirmed' });
      expect(await ledger(r.id)).toEqual([]);
      const { rows } = await t.db.query(`SELECT 1 FROM suppressions WHERE email_hash = email_hash('mallory@example.com')`);
      expect(rows).toEqual([]);
      expect(await events(r.id)).toEqual([]);
    });

    it('answers weird bodies with a 400 page, never a 500, and changes nothing', async () => {
      const r = await recipient('weird@example.com', [news, deals], news);
      const boundary = '----edm';
      const cases = [
        t.http.post(r.u).set('Content-Type', 'application/json').send('[1,2]'),
        t.http.post(r.u).set('Content-Type', 'application/json').send('"One-Click"'),
        t.http
          .post(r.p)
          .set('Content-Type', 'application/json')
          .send({ list: { $in: [news] } }),
        t.http.post(r.u).attach('file', Buffer.from('List-Unsubscribe=One-Click'), 'x.txt'),
        t.http
          .post(r.u)
          .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
          .send(`--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Cl`),
      ];
      for (const c of cases) {
        const res = await c;
        expect(res.status).toBe(400);
        expectPrivatePage(res);
      }
      for (const body of ['', '%%%', 'a=%ZZ&list=%']) {
        const res = await t.http.post(r.p).type('form').send(body);
        expect(res.status).toBeLessThan(500);
      }
      // A body of a type the page does not take never reaches it: a 415 page (a script posting JSON gets JSON).
      expectPrivatePage(await t.http.post(r.u).set('Content-Type', 'text/plain').send('List-Unsubscribe=One-Click').expect(415));
      expectPrivatePage(await t.http.post(r.u).set('Content-Type', 'application/xml').send('<x/>').expect(415));
      await t.http.post(r.u).set('Content-Type', 'application/json').send('{').expect(400);
      // The preference posts above named no list: they left both lists, which is what an empty form says.
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed', [deals]: 'unsubscribed' });
      expect((await ledger(r.id)).map((c) => c.list_id).sort()).toEqual([news, deals].sort());
    });

    it('a test send’s links show a test page and record nothing', async () => {
      const test = tokens.forMessage({ campaignId: campaign, subscriberId: TEST_RECIPIENT }, 0);
      const before = (await events()).length;
      const consent = (await t.db.query(`SELECT count(*)::int AS n FROM consent_events`)).rows[0].n;
      for (const path of [new URL(test.unsubscribe).pathname, new URL(test.preferences).pathname]) {
        const get = await t.http.get(path).expect(200);
        expectPrivatePage(get);
        expect(get.text).toContain('test');
        const post = await t.http.post(path).type('form').send({ 'List-Unsubscribe': 'One-Click', all: 'on' }).expect(200);
        expect(post.text).toContain('This is a test message');
      }
      expect((await events()).length).toBe(before);
      expect((await t.db.query(`SELECT count(*)::int AS n FROM consent_events`)).rows[0].n).toBe(consent);
    });

    it('an erased subscriber’s link has nothing to do', async () => {
      const r = await recipient('forget.me@example.com', [news], news);
      await t.api('delete', `/v1/subscribers/${r.id}`).expect(204);
      for (const path of [r.u, r.p]) {
        expect((await t.http.get(path).expect(200)).text).toContain('Nothing to do');
        expect((await t.http.post(path).type('form').send('List-Unsubscribe=One-Click').expect(200)).text).toContain('Nothing to do');
      }
      expect(await ledger(r.id)).toEqual([]);
      expect(await events(r.id)).toEqual([]);
    });
  });

  describe('preference centre', () => {
    it('lists every list the subscriber has, leaves one, re-joins a double opt-in list and ignores lists they never had', async () => {
      const r = await recipient('prefs@example.com', [news, deals], deals);
      // They once left Offers.
      await t.db.query(`INSERT INTO subscriptions (subscriber_id, list_id, status, unsubscribed_at) VALUES ($1, $2, 'unsubscribed', now())`, [r.id, offers]);

      const page = await t.http.get(r.p).expect(200);
      expectPrivatePage(page);
      expect(page.text).toContain('prefs@example.com');
      expect(page.text).toContain(`<input type="checkbox" name="list" value="${news}" checked> News &amp; &lt;Views&gt;`);
      expect(page.text).toContain(`<input type="checkbox" name="list" value="${deals}" checked> Deals`);
      expect(page.text).toContain(`<input type="checkbox" name="list" value="${offers}"> Offers`);
      expect(page.text).not.toContain(other);
      expect(page.text).toContain('Unsubscribe me from everything');
      expect(await ledger(r.id)).toEqual([]);

      const res = await t.http
        .post(r.p)
        .type('form')
        .set('User-Agent', 'Firefox/130')
        .send(`list=${news}&list=${offers}&list=${other}&list=not-an-id`)
        .expect(200);
      expectPrivatePage(res);
      expect(res.text).toContain('You left: Deals.');
      expect(res.text).toContain('Check your inbox: we sent a link to confirm Offers.');
      expect(await statuses(r.id)).toEqual({ [news]: 'confirmed', [deals]: 'unsubscribed', [offers]: 'pending' });
      const records = await ledger(r.id);
      expect(records.map((c) => `${c.list_id}:${c.action}:${c.status}`)).toEqual([`${deals}:unsubscribe:unsubscribed`, `${offers}:subscribe:pending`]);
      expect(records.every((c) => c.user_agent === 'Firefox/130' && c.ip === '127.0.0.1' && c.consent_text.startsWith('preference centre'))).toBe(true);
      const mail = t.app.get<Queue>(getQueueToken(QUEUES.mail));
      expect((await mail.getJob(`confirm-${r.id}-${offers}`))?.data).toEqual({ subscriberId: r.id, listId: offers });
      expect((await mail.getJob(`confirm-${r.id}-${news}`))?.data).toBeUndefined();
      // Deals is the list this mail came through: the campaign counts the unsubscribe.
      expect(await events(r.id)).toHaveLength(1);

      // Leaving a list the mail did not come through is recorded, but is not this campaign's unsubscribe.
      await t.http.post(r.p).type('form').send(`list=${offers}`).expect(200);
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed', [deals]: 'unsubscribed', [offers]: 'pending' });
      expect(await events(r.id)).toHaveLength(1);
      // The same choices again change nothing.
      await t.http.post(r.p).type('form').send(`list=${offers}`).expect(200);
      expect(await ledger(r.id)).toHaveLength(3);
    });

    it('a suppressed address cannot re-join, and the page says so', async () => {
      const r = await recipient('opted.out@example.com', [news, deals], news);
      await t.http.post(r.p).type('form').send({ all: 'on' }).expect(200);
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed', [deals]: 'unsubscribed' });
      expect(await events(r.id)).toHaveLength(1);

      const page = await t.http.get(r.p).expect(200);
      expect(page.text).toContain('opted out of all mail');
      const res = await t.http
        .post(r.p)
        .type('form')
        .send({ list: [news] })
        .expect(200);
      expect(res.text).toContain('could not be re-joined');
      expect(await statuses(r.id)).toEqual({ [news]: 'unsubscribed', [deals]: 'unsubscribed' });
      expect((await ledger(r.id)).filter((c) => c.action === 'subscribe')).toEqual([]);
    });
  });
});
