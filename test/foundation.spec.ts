import { ADMIN_KEY, startTestApp, TestApp } from './support/test-app';

describe('foundation: health, docs, metrics, API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('reports Postgres and Redis in /health', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', db: 'up', redis: 'up' });
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const res = await t.http.get('/docs-json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/v1/lists', '/v1/subscribers', '/v1/imports/{id}']));
    await t.http.get('/docs').expect(200);
  });

  it('exposes Prometheus metrics', async () => {
    await t.http.get('/health');
    const res = await t.http.get('/metrics').expect(200);
    expect(res.text).toContain('edm_http_request_duration_seconds');
    expect(res.text).toContain('process_cpu_seconds_total');
  });

  it('refuses a request without a key (401) or with a wrong one (401), in the error shape', async () => {
    const none = await t.http.get('/v1/lists').expect(401);
    expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: 'missing API key' });
    expect(none.body.details[0].field).toBe('Authorization');
    await t.http
      .get('/v1/lists')
      .set('Authorization', `Bearer ${ADMIN_KEY.slice(0, -1)}b`)
      .expect(401);
    await t.http.get('/v1/lists').set('Authorization', 'Bearer nonsense').expect(401);
  });

  it('creates, lists and revokes keys; stores only a hash; enforces scopes', async () => {
    const created = await t
      .api('post', '/v1/api-keys')
      .send({ name: 'reporting', scopes: ['read'] })
      .expect(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^edm_[A-Za-z0-9]{8}_[A-Za-z0-9]{40}$/);
    const { rows } = await t.db.query(`SELECT secret_hash, prefix FROM api_keys WHERE id = $1`, [created.body.id]);
    expect(rows[0].secret_hash).toHaveLength(32);
    expect(JSON.stringify(rows)).not.toContain(key.split('_')[2]);

    const listed = await t.api('get', '/v1/api-keys').expect(200);
    expect(listed.body.items.map((k: { name: string }) => k.name)).toContain('reporting');
    expect(JSON.stringify(listed.body)).not.toContain(key);

    await t.http.get('/v1/lists').set('Authorization', `Bearer ${key}`).expect(200);
    const denied = await t.http.post('/v1/lists').set('Authorization', `Bearer ${key}`).send({ name: 'x', optIn: 'single' }).expect(403);
    expect(denied.body.message).toContain('write');
    await t.http.get('/v1/api-keys').set('Authorization', `Bearer ${key}`).expect(403);

    const writer = await t
      .api('post', '/v1/api-keys')
      .send({ name: 'app', scopes: ['write'] })
      .expect(201);
    await t.http.post('/v1/lists').set('Authorization', `Bearer ${writer.body.key}`).send({ name: 'x', optIn: 'single' }).expect(201);
    await t.http
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${writer.body.key}`)
      .send({ name: 'y', scopes: ['admin'] })
      .expect(403);

    await t.api('delete', `/v1/api-keys/${created.body.id}`).expect(204);
    await t.http.get('/v1/lists').set('Authorization', `Bearer ${key}`).expect(401);
  });

  it('names the field in validation errors and refuses unknown fields', async () => {
    const res = await t
      .api('post', '/v1/api-keys')
      .send({ name: 'x', scopes: ['root'], extra: 1 })
      .expect(400);
    expect(res.body.statusCode).toBe(400);
    const fields = res.body.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['scopes', 'extra']));
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await t.api('post', '/v1/lists').set('Content-Type', 'application/json').send('{"name": ').expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('answers an unknown route with 404 in the error shape', async () => {
    const res = await t.api('get', '/v1/nothing-here').expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});
