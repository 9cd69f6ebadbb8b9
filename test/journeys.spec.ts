import { startTestApp, TestApp } from './support/test-app';

describe('journeys: definitions, versions and lifecycle', () => {
  let t: TestApp;
  let template: string;
  let list: string;
  let segment: string;
  const send = (id: string, next?: string) => ({
    id,
    type: 'send',
    templateId: template,
    subject: 'Hi {{name}}',
    fromName: 'Shop',
    fromEmail: 'news@shop.example',
    next,
  });
  const welcome = () => ({
    name: 'Welcome series',
    trigger: { type: 'listJoined', listId: list },
    steps: [send('hello', 'pause'), { id: 'pause', type: 'wait', duration: 'P2D', next: 'tips' }, send('tips')],
    settings: { lists: [list] },
  });

  beforeAll(async () => {
    t = await startTestApp();
    template = (
      await t
        .api('post', '/v1/templates')
        .send({ name: 't', mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}}</mj-text></mj-column></mj-section>{{> footer}}</mj-body></mjml>' })
        .expect(201)
    ).body.id;
    list = (await t.api('post', '/v1/lists').send({ name: 'Newsletter', optIn: 'single' }).expect(201)).body.id;
    segment = (
      await t
        .api('post', '/v1/segments')
        .send({ name: 'VIPs', rules: { attribute: 'vip', op: 'eq', value: true } })
        .expect(201)
    ).body.id;
  });
  afterAll(() => t.close());

  it('keeps a draft, freezes versions on publish, and moves through its lifecycle', async () => {
    const created = (await t.api('post', '/v1/journeys').send(welcome()).expect(201)).body;
    expect(created).toMatchObject({ status: 'draft', version: null, versions: [], settings: { lists: [list], reentry: 'never' } });
    const id = created.id as string;
    await t.api('post', `/v1/journeys/${id}/pause`).expect(409);

    expect((await t.api('post', `/v1/journeys/${id}/publish`).expect(200)).body).toMatchObject({ status: 'active', version: 1 });
    // Editing the draft leaves the active version as it is until the next publish.
    const edited = { ...welcome(), steps: [send('hello', 'pause'), { id: 'pause', type: 'wait', duration: 'P1D', next: 'tips' }, send('tips')] };
    expect((await t.api('put', `/v1/journeys/${id}`).send(edited).expect(200)).body).toMatchObject({ status: 'active', version: 1 });
    const second = (await t.api('post', `/v1/journeys/${id}/publish`).expect(200)).body;
    expect(second).toMatchObject({ version: 2, versions: [{ version: 1 }, { version: 2 }] });
    const { rows } = await t.db.query(`SELECT version, definition->'steps'->1->>'duration' AS d FROM journey_versions WHERE journey_id = $1 ORDER BY version`, [
      id,
    ]);
    expect(rows).toEqual([
      { version: 1, d: 'P2D' },
      { version: 2, d: 'P1D' },
    ]);

    const listed = (await t.api('get', '/v1/journeys').expect(200)).body.items as { id: string; versions: unknown[] }[];
    expect(listed.find((j) => j.id === id)!.versions).toHaveLength(2);
    expect((await t.api('post', `/v1/journeys/${id}/pause`).expect(200)).body.status).toBe('paused');
    expect((await t.api('post', `/v1/journeys/${id}/pause`).expect(409)).body.details[0]).toMatchObject({ field: 'status' });
    expect((await t.api('post', `/v1/journeys/${id}/resume`).expect(200)).body.status).toBe('active');
    await t.api('delete', `/v1/journeys/${id}`).expect(409);
    expect((await t.api('post', `/v1/journeys/${id}/archive`).expect(200)).body.status).toBe('archived');
    await t.api('post', `/v1/journeys/${id}/publish`).expect(409);
    await t.api('put', `/v1/journeys/${id}`).send(welcome()).expect(409);

    const draft = (await t.api('post', '/v1/journeys').send(welcome()).expect(201)).body.id;
    await t.api('delete', `/v1/journeys/${draft}`).expect(204);
    await t.api('get', `/v1/journeys/${draft}`).expect(404);
    expect((await t.api('get', '/v1/journeys?limit=1').expect(200)).body.items).toHaveLength(1);
  });

  it('answers 422 naming the step and the field of a bad definition', async () => {
    const problems = async (body: object) => (await t.api('post', '/v1/journeys').send(body).expect(422)).body.details as { field: string; step?: string }[];
    const ghost = '00000000-0000-4000-8000-000000000000';
    expect(await problems({ ...welcome(), steps: [{ ...send('hello'), templateId: ghost }] })).toEqual([
      expect.objectContaining({ field: 'steps[0].templateId', step: 'hello' }),
    ]);
    expect(await problems({ ...welcome(), steps: [{ ...send('hello'), subject: 'Hi {{#if}}' }] })).toEqual([
      expect.objectContaining({ field: 'steps[0].subject', step: 'hello' }),
    ]);
    expect(await problems({ ...welcome(), trigger: { type: 'listJoined', listId: ghost } })).toEqual([expect.objectContaining({ field: 'trigger.listId' })]);
    expect(await problems({ ...welcome(), trigger: { type: 'segmentEntered', segmentId: ghost } })).toEqual([
      expect.objectContaining({ field: 'trigger.segmentId' }),
    ]);
    expect(await problems({ ...welcome(), steps: [send('hello', 'nowhere')] })).toEqual([expect.objectContaining({ field: 'steps[0].next', step: 'hello' })]);
    expect(await problems({ ...welcome(), steps: [send('hello'), send('lost')] })).toEqual([expect.objectContaining({ field: 'steps[1].id', step: 'lost' })]);
    const loop = [{ id: 'check', type: 'branch', rules: { segment: segment }, yes: 'mail' }, send('mail', 'check')];
    expect(await problems({ ...welcome(), steps: loop })).toEqual([
      expect.objectContaining({ field: 'steps[0]', step: 'check', message: expect.stringContaining('cycle') }),
    ]);
    const branch = [{ id: 'check', type: 'branch', rules: { and: [{ segment: ghost }] }, yes: 'mail' }, send('mail')];
    expect(await problems({ ...welcome(), steps: branch })).toEqual([expect.objectContaining({ field: 'steps[0].rules.and[0].segment', step: 'check' })]);
    await t
      .api('post', '/v1/journeys')
      .send({ ...welcome(), steps: 'many' })
      .expect(400);
  });

  it('keeps a segment a journey names from being deleted until the journey is archived', async () => {
    const body = { ...welcome(), trigger: { type: 'segmentEntered', segmentId: segment } };
    const id = (await t.api('post', '/v1/journeys').send(body).expect(201)).body.id;
    expect((await t.api('delete', `/v1/segments/${segment}`).expect(409)).body.message).toContain('journey "Welcome series"');
    await t.api('post', `/v1/journeys/${id}/archive`).expect(200);
    await t.api('delete', `/v1/segments/${segment}`).expect(204);
  });
});
