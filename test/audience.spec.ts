import { startTestApp, TestApp } from './support/test-app';

describe('audience: lists, subscribers, consent, suppression, GDPR', () => {
  let t: TestApp;
  let single: string;
  let double: string;
  beforeAll(async () => {
    t = await startTestApp();
    single = (await t.api('post', '/v1/lists').send({ name: 'Newsletter', optIn: 'single' }).expect(201)).body.id;
    double = (await t.api('post', '/v1/lists').send({ name: 'Offers', description: 'Weekly deals', optIn: 'double' }).expect(201)).body.id;
  });
  afterAll(() => t.close());

  describe('lists', () => {
    it('creates a list with zero counts and reads it back', async () => {
      const res = await t.api('get', `/v1/lists/${double}`).expect(200);
      expect(res.body).toMatchObject({
        id: double,
        name: 'Offers',
        description: 'Weekly deals',
        optIn: 'double',
        counts: { confirmed: 0, pending: 0, unsubscribed: 0 },
      });
    });

    it('validates the opt-in mode and names the field', async () => {
      const res = await t.api('post', '/v1/lists').send({ name: 'x', optIn: 'triple' }).expect(400);
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'optIn' })]);
    });

    it('updates, pages and deletes lists', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(
          (
            await t
              .api('post', '/v1/lists')
              .send({ name: `page ${i}`, optIn: 'single' })
              .expect(201)
          ).body.id,
        );
      await t.api('patch', `/v1/lists/${ids[0]}`).send({ name: 'renamed' }).expect(200);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { items: { id: string; name: string }[]; nextCursor: string | null } } = await t
          .api('get', `/v1/lists?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((l) => l.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(expect.arrayContaining([single, double, ...ids]));
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of ids) await t.api('delete', `/v1/lists/${id}`).expect(204);
      await t.api('get', `/v1/lists/${ids[0]}`).expect(404);
      await t.api('delete', `/v1/lists/${ids[0]}`).expect(404);
    });

    it('deletes a list with its subscriptions, and refuses new ones for it', async () => {
      const gone = (await t.api('post', '/v1/lists').send({ name: 'Gone', optIn: 'single' }).expect(201)).body.id;
      const sub = (
        await t
          .api('post', '/v1/subscribers')
          .send({ email: 'gone@example.com', lists: [gone] })
          .expect(201)
      ).body.id;
      await t.api('delete', `/v1/lists/${gone}`).expect(204);
      const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM subscriptions WHERE list_id = $1`, [gone]);
      expect(rows[0].n).toBe(0);
      await t.api('post', `/v1/lists/${gone}/subscriptions`).send({ subscriberId: sub }).expect(404);
    });

    it('answers 404 for unknown or malformed ids and 400 for a bad cursor or limit', async () => {
      await t.api('get', '/v1/lists/00000000-0000-4000-8000-000000000000').expect(404);
      await t.api('get', '/v1/lists/not-an-id').expect(404);
      await t.api('get', '/v1/lists?cursor=garbage').expect(400);
      const res = await t.api('get', '/v1/lists?limit=5000').expect(400);
      expect(res.body.details[0].field).toBe('limit');
    });
  });

  describe('subscribers', () => {
    it('creates a subscriber, lower-casing the email and confirming a single opt-in list at once', async () => {
      const res = await t
        .api('post', '/v1/subscribers')
        .send({
          email: '  Ada.Lovelace@Example.COM ',
          name: 'Ada',
          attributes: { plan: 'pro', seats: 3 },
          timezone: 'europe/london',
          lists: [single],
          consent: { source: 'form', text: 'Yes, send me the newsletter', ip: '203.0.113.7', userAgent: 'Mozilla/5.0' },
        })
        .expect(201);
      expect(res.body).toMatchObject({ email: 'ada.lovelace@example.com', name: 'Ada', timezone: 'Europe/London', attributes: { plan: 'pro', seats: 3 } });
      expect(res.body.subscriptions).toEqual([expect.objectContaining({ listId: single, status: 'confirmed' })]);
      expect(res.body.consentLog).toEqual([
        expect.objectContaining({
          action: 'subscribe',
          source: 'form',
          listId: single,
          status: 'confirmed',
          consentText: 'Yes, send me the newsletter',
          ip: '203.0.113.7',
          userAgent: 'Mozilla/5.0',
        }),
      ]);
      const list = await t.api('get', `/v1/lists/${single}`).expect(200);
      expect(list.body.counts.confirmed).toBe(1);
    });

    it('answers 409 with the existing id for a known email, whatever its case', async () => {
      const first = await t.api('post', '/v1/subscribers').send({ email: 'dup@example.com' }).expect(201);
      const again = await t.api('post', '/v1/subscribers').send({ email: 'DUP@example.com' }).expect(409);
      expect(again.body.details[0]).toMatchObject({ field: 'email', id: first.body.id });
    });

    it('rejects bad emails, bad time zones, unknown lists and bad consent sources, naming each field', async () => {
      const bad = await t.api('post', '/v1/subscribers').send({ email: 'not-an-email' }).expect(400);
      expect(bad.body.details[0].field).toBe('email');
      const noDot = await t.api('post', '/v1/subscribers').send({ email: 'a@localhost' }).expect(400);
      expect(noDot.body.details[0].field).toBe('email');
      const tz = await t.api('post', '/v1/subscribers').send({ email: 'tz@example.com', timezone: 'Mars/Olympus' }).expect(400);
      expect(tz.body.details[0]).toMatchObject({ field: 'timezone' });
      const unknown = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'nolist@example.com', lists: ['00000000-0000-4000-8000-000000000000'] })
        .expect(404);
      expect(unknown.body.details[0].field).toBe('lists[0]');
      const src = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'src@example.com', consent: { source: 'telepathy' } })
        .expect(400);
      expect(src.body.details[0].field).toBe('consent.source');
      // Nothing of the refused requests was stored.
      const { rows } = await t.db.query(
        `SELECT count(*)::int AS n FROM subscribers WHERE email IN ('tz@example.com', 'nolist@example.com', 'src@example.com')`,
      );
      expect(rows[0].n).toBe(0);
    });

    it('puts double opt-in subscriptions in pending and never demotes a confirmed one', async () => {
      const res = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'pending@example.com', lists: [double, single] })
        .expect(201);
      const byList = Object.fromEntries(res.body.subscriptions.map((s: { listId: string; status: string }) => [s.listId, s.status]));
      expect(byList).toEqual({ [double]: 'pending', [single]: 'confirmed' });
      const again = await t.api('post', `/v1/lists/${single}/subscriptions`).send({ email: 'pending@example.com' }).expect(201);
      expect(again.body.status).toBe('confirmed');
    });

    it('filters by list, status and email, and pages with a cursor', async () => {
      const byStatus = await t.api('get', `/v1/subscribers?list=${double}&status=pending`).expect(200);
      expect(byStatus.body.items.map((s: { email: string }) => s.email)).toEqual(['pending@example.com']);
      const byEmail = await t.api('get', '/v1/subscribers?email=ADA.lovelace@example.com').expect(200);
      expect(byEmail.body.items).toHaveLength(1);
      const page1 = await t.api('get', '/v1/subscribers?limit=1').expect(200);
      expect(page1.body.items).toHaveLength(1);
      const page2 = await t.api('get', `/v1/subscribers?limit=1&cursor=${page1.body.nextCursor}`).expect(200);
      expect(page2.body.items[0].id).not.toBe(page1.body.items[0].id);
      await t.api('get', '/v1/subscribers?status=gone').expect(400);
    });

    it('patches profile fields, merging attributes (null removes a key)', async () => {
      const created = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'patch@example.com', attributes: { a: 1, b: 2 } })
        .expect(201);
      const res = await t
        .api('patch', `/v1/subscribers/${created.body.id}`)
        .send({ name: 'Pat', attributes: { b: null, c: 3 }, timezone: 'America/New_York' })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'Pat', attributes: { a: 1, c: 3 }, timezone: 'America/New_York' });
      await t.api('patch', `/v1/subscribers/${created.body.id}`).send({ email: 'ada.lovelace@example.com' }).expect(409);
      await t.api('patch', `/v1/subscribers/${created.body.id}`).send({ timezone: 'Nowhere/City' }).expect(400);
    });

    it('unsubscribes from one list and records it; the ledger refuses edits', async () => {
      const created = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'leaver@example.com', lists: [single] })
        .expect(201);
      await t.api('delete', `/v1/lists/${single}/subscriptions/${created.body.id}`).expect(204);
      const res = await t.api('get', `/v1/subscribers/${created.body.id}`).expect(200);
      expect(res.body.subscriptions[0]).toMatchObject({ status: 'unsubscribed', unsubscribedAt: expect.any(String) });
      expect(res.body.consentLog.map((c: { action: string }) => c.action)).toEqual(['subscribe', 'unsubscribe']);
      await expect(t.db.query(`UPDATE consent_events SET source = 'admin' WHERE subscriber_id = $1`, [created.body.id])).rejects.toThrow(/append-only/);
      await expect(t.db.query(`DELETE FROM consent_events WHERE subscriber_id = $1`, [created.body.id])).rejects.toThrow(/append-only/);
      await t.api('delete', `/v1/lists/${double}/subscriptions/${created.body.id}`).expect(404);
    });
  });

  describe('suppression', () => {
    it('adds, lists and removes suppressions; a suppressed address cannot be subscribed', async () => {
      await t.api('post', '/v1/suppressions').send({ email: 'Blocked@Example.com', reason: 'complaint', note: 'FBL' }).expect(201);
      const list = await t.api('get', '/v1/suppressions').expect(200);
      expect(list.body.items).toEqual([expect.objectContaining({ email: 'blocked@example.com', reason: 'complaint', note: 'FBL' })]);
      const refused = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'blocked@example.com', lists: [single] })
        .expect(422);
      expect(refused.body.details[0]).toMatchObject({ field: 'email', message: 'suppressed: complaint' });
      await t.api('post', `/v1/lists/${single}/subscriptions`).send({ email: 'blocked@example.com' }).expect(422);
      await t.api('post', '/v1/suppressions').send({ email: 'x', reason: 'manual' }).expect(400);
      await t.api('post', '/v1/suppressions').send({ email: 'y@example.com', reason: 'erased' }).expect(400);
      await t.api('delete', '/v1/suppressions/blocked@example.com').expect(204);
      await t.api('delete', '/v1/suppressions/blocked@example.com').expect(404);
      await t.api('post', `/v1/lists/${single}/subscriptions`).send({ email: 'blocked@example.com' }).expect(201);
    });
  });

  describe('GDPR', () => {
    it('exports everything held about a subscriber', async () => {
      const created = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'export@example.com', name: 'Ex', lists: [single], consent: { ip: '198.51.100.1' } })
        .expect(201);
      const res = await t.api('get', `/v1/subscribers/${created.body.id}/export`).expect(200);
      expect(res.body).toMatchObject({
        format: 'edm-subscriber-export/1',
        subscriber: { email: 'export@example.com', name: 'Ex' },
        subscriptions: [expect.objectContaining({ listId: single, status: 'confirmed' })],
        consentLog: [expect.objectContaining({ ip: '198.51.100.1', action: 'subscribe' })],
        suppression: null,
      });
    });

    it('erases PII, keeps a hashed suppression so the address cannot come back, keeps the row for aggregates', async () => {
      const created = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'Erase.Me@example.com', name: 'Eve', attributes: { city: 'Oslo' }, lists: [single], consent: { ip: '198.51.100.2', userAgent: 'UA' } })
        .expect(201);
      const id = created.body.id;
      await t.api('delete', `/v1/subscribers/${id}`).expect(204);
      await t.api('get', `/v1/subscribers/${id}`).expect(404);
      await t.api('delete', `/v1/subscribers/${id}`).expect(404);

      const {
        rows: [row],
      } = await t.db.query(`SELECT email, name, attributes, erased_at FROM subscribers WHERE id = $1`, [id]);
      expect(row).toMatchObject({ email: null, name: null, attributes: {} });
      expect(row.erased_at).not.toBeNull();
      const { rows: ledger } = await t.db.query(`SELECT action, ip, user_agent FROM consent_events WHERE subscriber_id = $1 ORDER BY id`, [id]);
      expect(ledger).toEqual([
        { action: 'subscribe', ip: null, user_agent: null },
        { action: 'erase', ip: null, user_agent: null },
      ]);
      const { rows: anywhere } = await t.db.query(`SELECT count(*)::int AS n FROM suppressions WHERE email LIKE '%erase.me%'`);
      expect(anywhere[0].n).toBe(0);
      const list = await t.api('get', '/v1/suppressions').expect(200);
      expect(list.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ email: null, reason: 'erased' })]));

      const back = await t
        .api('post', '/v1/subscribers')
        .send({ email: 'erase.me@example.com', lists: [single] })
        .expect(422);
      expect(back.body.details[0].message).toBe('suppressed: erased');
    });
  });
});
