import request from 'supertest';
import { freePort } from './support/ports';
import { ADMIN_KEY, startTestApp, TestApp } from './support/test-app';

/** /metrics and /docs: this machine only by default; an API key or a port of their own by configuration. */
describe('operators’ pages', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));
  const start = async (env: Record<string, string>): Promise<TestApp> => {
    const t = await startTestApp({ ROLE: 'api', ...env });
    apps.push(t);
    return t;
  };

  it('answers clients on this machine only, by default', async () => {
    const t = await start({ TRUST_PROXY: 'true' });
    await t.http.get('/metrics').expect(200);
    await t.http.get('/docs-json').expect(200);
    for (const path of ['/metrics', '/docs', '/docs-json', '/docs/static/index.html']) {
      const res = await t.http.get(path).set('X-Forwarded-For', '203.0.113.9').expect(404);
      expect(res.body.details[0].field).toBe('path');
    }
    await t.http.get('/health').set('X-Forwarded-For', '203.0.113.9').expect(200);
  });

  it('OPS_ACCESS=key asks for an API key', async () => {
    const t = await start({ OPS_ACCESS: 'key' });
    const refused = await t.http.get('/metrics').expect(401);
    expect(refused.body.details[0].field).toBe('Authorization');
    await t.http.get('/metrics').set('Authorization', `Bearer ${ADMIN_KEY}`).expect(200);
    await t.http.get('/docs-json').set('Authorization', `Bearer ${ADMIN_KEY}`).expect(200);
    // A key that may only post customer events (it may be shipped inside an app) reads nothing.
    const events = (
      await t
        .api('post', '/v1/api-keys')
        .send({ name: 'events', scopes: ['events:write'] })
        .expect(201)
    ).body.key;
    const forbidden = await t.http.get('/metrics').set('Authorization', `Bearer ${events}`).expect(403);
    expect(forbidden.body.details[0].field).toBe('Authorization');
  });

  it('OPS_PORT serves them on that port and not on the main one', async () => {
    const [port, opsPort] = [await freePort(), await freePort()];
    const t = await start({ OPS_PORT: String(opsPort), OPS_ACCESS: 'open', HOST: '127.0.0.1' });
    await t.app.listen(port, '127.0.0.1');
    await request(`http://127.0.0.1:${port}`).get('/metrics').expect(404);
    await request(`http://127.0.0.1:${port}`).get('/health').expect(200);
    const metrics = await request(`http://127.0.0.1:${opsPort}`).get('/metrics').expect(200);
    expect(metrics.text).toContain('process_cpu_seconds_total');
    await request(`http://127.0.0.1:${opsPort}`).get('/docs-json').expect(200);
  });
});
