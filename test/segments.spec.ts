import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

describe('segments', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let newsletter: string;
  let other: string;
  const ids: Record<string, string> = {};

  const subscriber = async (name: string, attributes: object, lists: string[]) => {
    ids[name] = (
      await t
        .api('post', '/v1/subscribers')
        .send({ email: `${name}@example.com`, name, attributes, lists })
        .expect(201)
    ).body.id;
  };
  const segment = async (name: string, rules: object) => (await t.api('post', '/v1/segments').send({ name, rules }).expect(201)).body.id as string;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ SMTP_URL: smtp.url, SMTP_RATE: '1000', SEGMENT_REFRESH_MINUTES: '0.05' });
    newsletter = (await t.api('post', '/v1/lists').send({ name: 'Newsletter', optIn: 'single' }).expect(201)).body.id;
    other = (await t.api('post', '/v1/lists').send({ name: 'Other', optIn: 'single' }).expect(201)).body.id;
    await subscriber('ann', { plan: 'pro', orders: '3' }, [newsletter]);
    await subscriber('bob', { plan: 'pro', vip: true, orders: 12 }, [newsletter]);
    await subscriber('cat', { plan: 'free' }, [newsletter]);
    await subscriber('dan', { plan: 'pro' }, []); // in the segment, never subscribed
    await subscriber('eve', { plan: 'pro' }, [other]); // in the segment, on another list
    await subscriber('gus', { plan: 'pro' }, [newsletter]); // suppressed below
    await subscriber('hal', { plan: 'Pro', orders: 1 }, [newsletter]);
    await t.api('post', '/v1/suppressions').send({ email: 'gus@example.com' }).expect(201);
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('validates rules into a tree and names the path of a bad node', async () => {
    const bad = await t
      .api('post', '/v1/segments')
      .send({
        name: 'bad',
        rules: {
          and: [
            { attribute: 'plan', op: 'eq', value: 'pro' },
            { engagement: 'opened', withinDays: -1 },
          ],
        },
      })
      .expect(422);
    expect(bad.body.details).toEqual([expect.objectContaining({ path: 'rules.and[1].withinDays', field: 'rules.and[1].withinDays' })]);
    const op = await t
      .api('post', '/v1/segments')
      .send({ name: 'bad', rules: { or: [{ not: { attribute: 'age', op: 'older', value: 3 } }] } })
      .expect(422);
    expect(op.body.details[0].path).toBe('rules.or[0].not.op');
    const typed = await t
      .api('post', '/v1/segments')
      .send({ name: 'bad', rules: { field: 'createdAt', op: 'contains', value: 'x' } })
      .expect(422);
    expect(typed.body.details[0].path).toBe('rules.op');
    const unknown = await t
      .api('post', '/v1/segments/preview')
      .send({ rules: { segment: '00000000-0000-4000-8000-000000000000' } })
      .expect(422);
    expect(unknown.body.details[0]).toMatchObject({ path: 'rules.segment', message: expect.stringContaining('no segment') });
    await t.api('post', '/v1/segments').send({ name: 'bad' }).expect(400);
  });

  it('counts live, previews unsaved rules, compares numbers as numbers', async () => {
    const pro = await segment('Pro plan', { attribute: 'plan', op: 'in', value: ['pro', 'Pro'] });
    expect((await t.api('get', `/v1/segments/${pro}/count`).expect(200)).body).toEqual({ count: 6, ms: expect.any(Number) });
    // "3" (text from a CSV) and 12 (a number from an identify) compare as numbers: 3 < 10 < 12.
    const preview = await t
      .api('post', '/v1/segments/preview')
      .send({ rules: { attribute: 'orders', op: 'lt', value: 10 }, limit: 5 })
      .expect(200);
    expect(preview.body.count).toBe(2);
    expect(preview.body.sample.map((s: { email: string }) => s.email).sort()).toEqual(['ann@example.com', 'hal@example.com']);
    expect(preview.body.sample[0]).toMatchObject({ id: expect.any(String), attributes: expect.any(Object), createdAt: expect.any(String) });
    const page = await t.api('get', '/v1/segments?limit=1').expect(200);
    expect(page.body.items).toHaveLength(1);
  });

  it('refuses cycles between segments and deleting a segment in use', async () => {
    const a = await segment('A', { attribute: 'plan', op: 'exists' });
    const b = await segment('B', { and: [{ segment: a }, { field: 'emailDomain', op: 'eq', value: 'example.com' }] });
    const cycle = await t
      .api('patch', `/v1/segments/${a}`)
      .send({ rules: { or: [{ segment: b }] } })
      .expect(422);
    expect(cycle.body.details[0].path).toBe('rules.or[0].segment');
    const self = await t
      .api('patch', `/v1/segments/${a}`)
      .send({ rules: { segment: a } })
      .expect(422);
    expect(self.body.details[0].path).toBe('rules.segment');
    expect((await t.api('delete', `/v1/segments/${a}`).expect(409)).body.message).toContain('segment "B"');
    await t.api('patch', `/v1/segments/${b}`).send({ name: 'B2' }).expect(200);
    await t.api('delete', `/v1/segments/${b}`).expect(204);
    await t.api('delete', `/v1/segments/${a}`).expect(204);
    await t.api('get', `/v1/segments/${a}`).expect(404);
  });

  it('records who entered and who left at each refresh, on demand and on schedule', async () => {
    const vip = await segment('Big spenders', { attribute: 'orders', op: 'gte', value: 3 });
    expect((await t.api('post', `/v1/segments/${vip}/refresh`).expect(200)).body).toEqual({ entered: 2, exited: 0, members: 2 });
    await t
      .api('patch', `/v1/subscribers/${ids.ann}`)
      .send({ attributes: { plan: 'pro', orders: 1 } })
      .expect(200);
    await t
      .api('patch', `/v1/subscribers/${ids.hal}`)
      .send({ attributes: { plan: 'Pro', orders: 5 } })
      .expect(200);
    expect((await t.api('post', `/v1/segments/${vip}/refresh`).expect(200)).body).toEqual({ entered: 1, exited: 1, members: 2 });
    await t
      .api('patch', `/v1/subscribers/${ids.ann}`)
      .send({ attributes: { plan: 'pro', orders: '3' } })
      .expect(200);
    await t.api('post', `/v1/segments/${vip}/refresh`).expect(200);
    const { rows } = await t.db.query(`SELECT subscriber_id, left_at IS NULL AS open FROM segment_memberships WHERE segment_id = $1 ORDER BY entered_at`, [
      vip,
    ]);
    const stays = (id: string) => rows.filter((r) => r.subscriber_id === id).map((r) => r.open);
    expect(stays(ids.ann)).toEqual([false, true]); // entered, left, came back
    expect(stays(ids.bob)).toEqual([true]);
    expect(stays(ids.hal)).toEqual([true]);
    const members = (await t.api('get', `/v1/segments/${vip}/members`).expect(200)).body.items.map((m: { subscriberId: string }) => m.subscriberId);
    expect(members.sort()).toEqual([ids.ann, ids.bob, ids.hal].sort());

    // The person's stays are in their GDPR export, and an erase forgets them.
    const exported = (await t.api('get', `/v1/subscribers/${ids.bob}/export`).expect(200)).body;
    expect(exported.segments).toEqual([expect.objectContaining({ segmentId: vip, name: 'Big spenders', leftAt: null })]);

    // The scheduled refresh (every 3 s here) picks up a new segment by itself.
    const later = await segment('Free plan', { attribute: 'plan', op: 'eq', value: 'free' });
    await eventually(async () => ((await t.api('get', `/v1/segments/${later}`).expect(200)).body.memberCount === 1 ? true : undefined), 20_000);
  });

  it('segments people by the customer events a product sent: counts, sums, property filters and RFM', async () => {
    const track = (userId: string, event: string, properties: object, daysAgo = 1) =>
      t
        .api('post', '/v1/track')
        .send({ userId, event, properties, timestamp: new Date(Date.now() - daysAgo * 86_400_000).toISOString() })
        .expect(200);
    for (const name of ['ann', 'cat', 'hal']) {
      await t
        .api('post', '/v1/identify')
        .send({ userId: `u-${name}`, traits: { email: `${name}@example.com` } })
        .expect(200);
    }
    await track('u-ann', 'Order Completed', { order_id: 'A1', revenue: 120 }, 3);
    await track('u-ann', 'Order Completed', { order_id: 'A2', revenue: 80 }, 2);
    await track('u-cat', 'Order Completed', { order_id: 'C1', revenue: 15 }, 40);
    await track('u-hal', 'Product Viewed', { category: 'shoes' });
    await track('u-hal', 'Product Viewed', { category: 'Shoes' });
    await track('u-hal', 'Product Viewed', { category: 'hats' }, 60);
    await track('u-nobody', 'Order Completed', { order_id: 'X1', revenue: 999 }); // never identified: in no segment

    const members = async (rules: object) =>
      ((await t.api('post', '/v1/segments/preview').send({ rules, limit: 100 }).expect(200)).body.sample as { name: string }[]).map((s) => s.name).sort();
    expect(await members({ event: 'Order Completed', sum: { property: 'revenue', gte: 100 } })).toEqual(['ann']);
    expect(await members({ event: 'Order Completed', withinDays: 30 })).toEqual(['ann']);
    expect(await members({ event: 'Product Viewed', where: [{ property: 'category', op: 'startsWith', value: 'SHO' }], count: { gte: 2 } })).toEqual(['hal']);
    // Buyers: ann (2 orders, 200, 2 days ago) and cat (1 order, 15, 40 days ago): ann is best on every measure.
    expect(await members({ rfm: { r: [5, 5], f: [5, 5], m: [5, 5] } })).toEqual(['ann']);
    expect(await members({ rfm: { m: [1, 3] } })).toEqual(['cat']);
    expect(await members({ and: [{ attribute: 'plan', op: 'exists' }, { not: { event: 'Order Completed' } }] })).toEqual(['bob', 'dan', 'eve', 'gus', 'hal']);
  });

  it('sends a campaign to lists ∩ segment − excluded − suppressed, exactly those addresses', async () => {
    const template = (
      await t
        .api('post', '/v1/templates')
        .send({ name: 't', mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}}</mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>' })
        .expect(201)
    ).body.id;
    const pro = await segment('Pro (either case)', {
      or: [
        { attribute: 'plan', op: 'eq', value: 'pro' },
        { attribute: 'plan', op: 'eq', value: 'Pro' },
      ],
    });
    const vips = await segment('VIPs', { attribute: 'vip', op: 'eq', value: true });
    const missing = await t
      .api('post', '/v1/campaigns')
      .send({
        name: 'x',
        subject: 'x',
        templateId: template,
        fromName: 'S',
        fromEmail: 's@shop.example',
        audience: { lists: [newsletter], segmentId: newsletter },
      })
      .expect(404);
    expect(missing.body.details[0].field).toBe('audience.segmentId');
    const id = (
      await t
        .api('post', '/v1/campaigns')
        .send({
          name: 'Pro offer',
          subject: 'For you, {{name}}',
          templateId: template,
          fromName: 'Shop',
          fromEmail: 'news@shop.example',
          audience: { lists: [newsletter], segmentId: pro, excludeSegmentIds: [vips] },
        })
        .expect(201)
    ).body.id;
    expect((await t.api('get', `/v1/campaigns/${id}`).expect(200)).body.audience).toEqual({ lists: [newsletter], segmentId: pro, excludeSegmentIds: [vips] });
    expect((await t.api('delete', `/v1/segments/${vips}`).expect(409)).body.message).toContain('campaign "Pro offer"');

    await t.api('post', `/v1/campaigns/${id}/send`).expect(200);
    await eventually(async () => ((await t.api('get', `/v1/campaigns/${id}`).expect(200)).body.status === 'sent' ? true : undefined), 30_000);
    // ann and hal: pro, confirmed on the newsletter. Not bob (VIP), cat (free), dan (no subscription:
    // a segment never grants permission), eve (another list), gus (suppressed).
    expect([...smtp.counts().entries()].sort()).toEqual([
      ['ann@example.com', 1],
      ['hal@example.com', 1],
    ]);
    expect(smtp.mailsTo('hal@example.com')[0].parsed.subject).toBe('For you, hal');

    // An erase forgets the person's stays in segments too.
    await t.api('delete', `/v1/subscribers/${ids.bob}`).expect(204);
    const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM segment_memberships WHERE subscriber_id = $1`, [ids.bob]);
    expect(rows[0].n).toBe(0);
  });
});
