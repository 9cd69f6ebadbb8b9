import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Walks every route of `/docs-json` (and the human pages, which the document leaves out) and sends
 * each the malformed inputs clients and attackers send: NUL characters in strings, keys and query
 * strings, JSON nested 10,000 deep, wrong content types, nulls, empty and wrong-typed bodies, huge
 * strings, bad ids. No answer may be a 5xx, and every 4xx of the API names a field or a line.
 */

type Schema = { $ref?: string; type?: string; properties?: Record<string, Schema>; items?: Schema; enum?: unknown[]; required?: string[] };
interface Operation {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string;
  body?: Schema;
  query: string[];
}
interface Case {
  what: string;
  method: Operation['method'];
  url: string;
  contentType?: string;
  body?: string | Buffer;
}
interface Answer {
  case: string;
  status: number;
  body: string;
}

const NUL = 'a\u0000b';
const deep = (n: number, leaf = '1'): string => '{"a":'.repeat(n) + leaf + '}'.repeat(n);
const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);

describe('malformed input on every route', () => {
  let t: TestApp;
  const ids: Record<string, string> = {};
  let ops: Operation[] = [];
  let schemas: Record<string, Schema> = {};

  beforeAll(async () => {
    // Webhook endpoints on loopback (refused otherwise), so that valid bodies reach the database.
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    ids.list = (await t.api('post', '/v1/lists').send({ name: 'Fuzz', optIn: 'double' }).expect(201)).body.id;
    ids.subscriber = (
      await t
        .api('post', '/v1/subscribers')
        .send({ email: 'fuzz@example.com', lists: [ids.list] })
        .expect(201)
    ).body.id;
    const templates = await t.api('get', '/v1/templates').expect(200);
    ids.starter = templates.body.items[0].id;
    ids.template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'Fuzz',
          mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{name}} <a href="https://example.com/x">x</a></mj-text></mj-column></mj-section></mj-body></mjml>',
        })
        .expect(201)
    ).body.id;
    ids.campaign = (await t.api('post', '/v1/campaigns').send(campaignBody(ids)).expect(201)).body.id;
    ids.import = (await t.api('post', `/v1/lists/${ids.list}/imports`).set('Content-Type', 'text/csv').send('email\nimp@example.com\n').expect(202)).body.id;
    ids.key = (
      await t
        .api('post', '/v1/api-keys')
        .send({ name: 'fuzz', scopes: ['read'] })
        .expect(201)
    ).body.id;
    await t.api('post', '/v1/suppressions').send({ email: 'sup@example.com' }).expect(201);
    ids.webhook = (await t.api('post', '/v1/webhooks').send(webhookBody()).expect(201)).body.id;

    const doc = (await t.http.get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
      components: { schemas: Record<string, Schema> };
    };
    schemas = doc.components.schemas;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        ops.push({
          method: method as Operation['method'],
          path,
          body: op.requestBody?.content['application/json']?.schema,
          query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        });
      }
    }
    // Deleting routes last, so that the fixtures the other routes use are still there.
    ops = [...ops.filter((o) => o.method !== 'delete'), ...ops.filter((o) => o.method === 'delete')];
  });
  afterAll(() => t.close());

  it('the document lists the management routes', () => {
    expect(ops.length).toBeGreaterThan(35);
  });

  it('turns away the same inputs on the human pages with HTML, never a 5xx', async () => {
    const long = 'A'.repeat(5000);
    const cases: Case[] = [];
    for (const base of ['/u', '/p', '/confirm']) {
      for (const token of ['x', long, '%00', 'a%00b', '%E0%A4%A', '..%2F..%2Fetc']) {
        cases.push({ what: 'GET bad token', method: 'get', url: `${base}/${token}` });
        cases.push({
          what: 'POST bad token',
          method: 'post',
          url: `${base}/${token}`,
          contentType: 'application/x-www-form-urlencoded',
          body: 'all=on&list=a%00b',
        });
      }
    }
    for (const id of ['x', long, '%00', ids.list]) {
      cases.push({ what: 'GET form', method: 'get', url: `/subscribe/${id}` });
      for (const body of ['email=a%00b%40example.com', 'email=ok%40example.com&name=a%00b', 'email=ok%40example.com&consentText=a%00b', '']) {
        cases.push({ what: `POST form ${body}`, method: 'post', url: `/subscribe/${id}`, contentType: 'application/x-www-form-urlencoded', body });
      }
      cases.push({
        what: 'POST form JSON with NUL',
        method: 'post',
        url: `/subscribe/${id}`,
        contentType: 'application/json',
        body: JSON.stringify({ email: 'ok@example.com', name: NUL }),
      });
      cases.push({ what: 'POST form deep JSON', method: 'post', url: `/subscribe/${id}`, contentType: 'application/json', body: deep(10_000) });
      cases.push({ what: 'POST form CSV', method: 'post', url: `/subscribe/${id}`, contentType: 'text/csv', body: 'email\nx@example.com\n' });
    }
    const bad: Answer[] = [];
    for (const c of cases) {
      const res = await send(t, c);
      const html = /text\/html/.test(res.headers['content-type'] ?? '');
      const json = /application\/json/.test(c.contentType ?? '') && c.url.startsWith('/subscribe/');
      if (res.status >= 500 || (res.status >= 400 && !html && !json))
        bad.push({ case: `${c.method.toUpperCase()} ${c.url.slice(0, 80)} — ${c.what}`, status: res.status, body: res.text.slice(0, 200) });
      expect(res.text).not.toContain(long);
    }
    expect(bad).toEqual([]);
  });

  it('a long token on a human page is the same "link not recognised" page as any bad token', async () => {
    const short = await t.http.get('/u/nonsense');
    const long = await t.http.get('/u/' + 'A'.repeat(5000));
    expect(long.status).toBe(short.status);
    expect(long.headers['content-type']).toMatch(/text\/html/);
    expect(long.text).toBe(short.text);
    const confirm = await t.http.get('/confirm/' + 'A'.repeat(5000));
    expect(confirm.text).toBe(short.text);
    // The tracking routes answer an unreadable path as a token that does not verify.
    const pixel = await t.http.get('/t/o/' + 'A'.repeat(5000)).expect(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    await t.http.get('/t/o/%E0%A4%A').expect(200);
    const click = await t.http.get('/t/c/' + 'A'.repeat(5000)).expect(404);
    expect(click.headers.location).toBeUndefined();
  });

  it('refuses a null for a required field on PATCH, naming it, and keeps the data', async () => {
    const res = await t.api('patch', `/v1/subscribers/${ids.subscriber}`).send({ email: null }).expect(400);
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'email' })]));
    const after = await t.api('get', `/v1/subscribers/${ids.subscriber}`).expect(200);
    expect(after.body.email).toBe('fuzz@example.com');
    for (const field of ['name', 'optIn']) {
      const r = await t
        .api('patch', `/v1/lists/${ids.list}`)
        .send({ [field]: null })
        .expect(400);
      expect(r.body.details[0].field).toBe(field);
    }
    const tpl = await t.api('patch', `/v1/templates/${ids.template}`).send({ name: null }).expect(400);
    expect(tpl.body.details[0].field).toBe('name');
    // A subscriber whose address an earlier version blanked can still be erased.
    const blank = (await t.api('post', '/v1/subscribers').send({ email: 'blanked@example.com' }).expect(201)).body.id;
    await t.db.query(`UPDATE subscribers SET email = NULL WHERE id = $1`, [blank]);
    await t.api('delete', `/v1/subscribers/${blank}`).expect(204);
  });

  it('names the field for NUL characters, deep nesting and an audience that is an array', async () => {
    const nul = await t.api('post', '/v1/lists').send({ name: NUL, optIn: 'single' }).expect(400);
    expect(nul.body.details).toEqual([{ field: 'name', message: expect.stringContaining('NUL') }]);
    const key = await t
      .api('patch', `/v1/subscribers/${ids.subscriber}`)
      .send({ attributes: { ['k\u0000']: 1 } })
      .expect(400);
    expect(key.body.details[0].field).toMatch(/^attributes/);
    const query = await t.api('get', '/v1/subscribers?email=%00').expect(400);
    expect(query.body.details[0].field).toBe('email');
    const nested = await t
      .api('patch', `/v1/subscribers/${ids.subscriber}`)
      .set('Content-Type', 'application/json')
      .send(`{"attributes":${deep(5000)}}`)
      .expect(400);
    expect(nested.body.details[0]).toMatchObject({ field: 'attributes', message: expect.stringContaining('levels') });
    const body = await t.api('post', '/v1/lists').set('Content-Type', 'application/json').send(deep(10_000)).expect(400);
    expect(body.body.details[0].message).toContain('levels');
    const audience = await t
      .api('post', '/v1/campaigns')
      .send({ ...campaignBody(ids), audience: [] })
      .expect(400);
    expect(audience.body.details[0].field).toBe('audience');
    const csv = await t.api('post', '/v1/lists').set('Content-Type', 'text/csv').send('name,optIn\nx,single\n').expect(415);
    expect(csv.body.details[0].field).toBe('Content-Type');
  });

  it('takes POST …/send with a JSON content type and no body', async () => {
    const c = (await t.api('post', '/v1/campaigns').send(campaignBody(ids)).expect(201)).body.id;
    const sent = await t.api('post', `/v1/campaigns/${c}/send`).set('Content-Type', 'application/json').expect(200);
    expect(sent.body.status).toMatch(/sending|sent/);
  });

  // Last: it deletes the fixtures on its way.
  it('answers no 5xx, and names the field in every 4xx of the API', async () => {
    const bad: Answer[] = [];
    let sent = 0;
    for (const op of ops) {
      for (const c of casesFor(op, ids, schemas)) {
        const res = await send(t, c);
        sent++;
        const problem = judge(res.status, res.headers['content-type'] ?? '', res.text);
        if (problem)
          bad.push({ case: `${c.method.toUpperCase()} ${c.url.slice(0, 120)} — ${c.what}: ${problem}`, status: res.status, body: res.text.slice(0, 300) });
      }
    }
    expect(bad).toEqual([]);
    expect(sent).toBeGreaterThan(1500);
  }, 600_000);
});

/** Nothing listens on port 9 (discard): deliveries fail quietly. */
function webhookBody(): Record<string, unknown> {
  return { url: 'http://127.0.0.1:9/hook', events: ['subscriber.created', 'message.opened'] };
}

function campaignBody(ids: Record<string, string>): Record<string, unknown> {
  return { name: 'Fuzz', subject: 'Hi {{name}}', templateId: ids.template, fromName: 'Fuzz', fromEmail: 'news@example.com', audience: { lists: [ids.list] } };
}

async function send(t: TestApp, c: Case): Promise<request.Response> {
  let r = t.api(c.method, c.url);
  if (c.contentType) r = r.set('Content-Type', c.contentType);
  return c.body === undefined ? r : r.send(c.body);
}

/** What is wrong with an answer, or null. */
function judge(status: number, contentType: string, text: string): string | null {
  if (status >= 500) return `status ${status}`;
  if (status < 400) return null;
  if (!contentType.includes('application/json')) return `a ${status} as ${contentType}`;
  let body: { statusCode?: number; details?: { field?: string; line?: number; message?: string }[] };
  try {
    body = JSON.parse(text);
  } catch {
    return 'a body that is not JSON';
  }
  if (body.statusCode !== status) return 'statusCode differs from the status';
  if (!body.details?.length || !body.details.every((d) => (d.field || d.line !== undefined) && d.message)) return 'details name no field';
  return null;
}

let unique = 0;
const fresh = (): string => `fuzz${++unique}@example.com`;

/** A valid body per operation, so that one malformed field at a time gets as far as the database. */
const VALID_BODIES: Record<string, (ids: Record<string, string>) => Record<string, unknown>> = {
  'post /v1/lists': () => ({ name: 'L', optIn: 'single' }),
  'post /v1/subscribers': () => ({ email: fresh(), name: 'N', attributes: { a: 1 } }),
  'patch /v1/subscribers/{id}': () => ({ name: 'N' }),
  'post /v1/lists/{id}/subscriptions': () => ({ email: fresh(), consent: { source: 'api', text: 'yes' } }),
  'post /v1/suppressions': () => ({ email: fresh() }),
  'post /v1/templates': () => ({ name: 'T', mjml: '<mjml><mj-body></mj-body></mjml>' }),
  'post /v1/templates/{id}/preview': () => ({ data: { a: 1 } }),
  'post /v1/campaigns': (ids) => campaignBody(ids),
  'post /v1/campaigns/{id}/test': () => ({ emails: [fresh()] }),
  'post /v1/campaigns/{id}/schedule': () => ({ at: new Date(Date.now() + 86_400_000).toISOString() }),
  'post /v1/api-keys': () => ({ name: 'k', scopes: ['read'] }),
  'post /v1/conversions': () => ({ token: 'x', orderId: 'o1' }),
  'post /v1/identify': () => ({ userId: 'fuzz-user', traits: { email: fresh(), plan: 'x' } }),
  'post /v1/track': () => ({ userId: 'fuzz-user', event: 'Fuzzed', properties: { a: 1 } }),
  'post /v1/batch': () => ({ batch: [{ type: 'track', userId: 'fuzz-user', event: 'Fuzzed' }] }),
  'post /v1/webhooks': () => webhookBody(),
  'post /v1/transactional': (ids) => ({ templateId: ids.template, to: fresh(), subject: 'Order {{data.order}}', data: { order: 1 }, idempotencyKey: fresh() }),
};

const PARAM_VALUES: Record<string, (ids: Record<string, string>) => string> = {
  lists: (ids) => ids.list,
  subscribers: (ids) => ids.subscriber,
  templates: (ids) => ids.template,
  campaigns: (ids) => ids.campaign,
  imports: (ids) => ids.import,
  'api-keys': (ids) => ids.key,
  suppressions: () => 'sup@example.com',
  subscriptions: (ids) => ids.subscriber,
  bounces: () => 'generic',
  webhooks: (ids) => ids.webhook,
};

function fillPath(path: string, ids: Record<string, string>, override?: { index: number; value: string }): string {
  let i = 0;
  return path.replace(/\{[^}]+\}/g, (_m, offset: number) => {
    const before = path.slice(0, offset).split('/').filter(Boolean).at(-1) ?? '';
    const value = override && override.index === i ? override.value : (PARAM_VALUES[before]?.(ids) ?? 'x');
    i++;
    return value;
  });
}

function resolve(s: Schema | undefined, schemas: Record<string, Schema>): Schema | undefined {
  if (!s) return undefined;
  if (s.$ref) return resolve(schemas[s.$ref.split('/').at(-1)!], schemas);
  return s;
}

function wrongValue(s: Schema | undefined): unknown {
  switch (s?.type) {
    case 'string':
      return 12345;
    case 'array':
      return { a: 1 };
    case 'object':
      return [];
    case undefined:
    default:
      return 'not-a-number';
  }
}

/** Every malformed variant for one operation. */
function casesFor(op: Operation, ids: Record<string, string>, schemas: Record<string, Schema>): Case[] {
  const url = fillPath(op.path, ids);
  const out: Case[] = [];
  const json = (what: string, body: string, at = url, contentType = 'application/json'): void =>
    void out.push({ what, method: op.method, url: at, contentType, body });

  // Path parameters: bad ids, NUL, over-long.
  const params = op.path.match(/\{[^}]+\}/g) ?? [];
  params.forEach((_p, index) => {
    for (const value of ['not-an-id', '%00', 'a%00b', '00000000-0000-0000-0000-000000000000', 'A'.repeat(5000), '%E0%A4%A']) {
      out.push({ what: `path param ${index} = ${value.slice(0, 20)}`, method: op.method, url: fillPath(op.path, ids, { index, value }) });
    }
  });

  // Query strings: NUL, huge, wrong type, unknown, repeated.
  for (const q of [...op.query, 'unknown']) {
    for (const value of ['%00', 'a%00b', 'x'.repeat(10_000), '-1', '%E0%A4%A'])
      out.push({ what: `query ${q}=${value.slice(0, 10)}`, method: op.method, url: `${url}?${q}=${value}` });
    out.push({ what: `query ${q} twice`, method: op.method, url: `${url}?${q}=1&${q}=2` });
  }

  if (op.method === 'get' || op.method === 'delete') {
    json('a body on a GET/DELETE', deep(10_000));
    out.push({ what: 'a CSV body', method: op.method, url, contentType: 'text/csv', body: 'a,b\n1,2\n' });
    return out;
  }

  // Whole bodies.
  json('JSON nested 10,000 deep', deep(10_000));
  json('an array nested 10,000 deep', deepArray(10_000));
  json('an array', '[]');
  json('a string', '"x"');
  json('a number', '12');
  json('null', 'null');
  json('empty', '');
  json('not JSON', '{"a":');
  json('a NUL key', JSON.stringify({ ['k\u0000']: 1 }));
  json('a lone surrogate', '{"name":"\\ud800"}');
  json('a huge string', JSON.stringify({ name: 'x'.repeat(2_000_000) }));
  for (const ct of ['text/csv', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
    json(`as ${ct}`, ct === 'application/x-www-form-urlencoded' ? 'name=a%00b&optIn=single' : deep(10_000), url, ct);
  }
  out.push({
    what: 'multipart',
    method: op.method,
    url,
    contentType: 'multipart/form-data; boundary=XX',
    body: '--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\na\u0000b\r\n--XX--\r\n',
  });
  out.push({ what: 'multipart without boundary', method: op.method, url, contentType: 'multipart/form-data', body: 'x' });

  // Each field of the body's schema, set in an otherwise valid body (so that the value reaches the
  // database): NUL, null, the wrong type, huge; objects get a NUL key and value and deep nesting.
  const schema = resolve(op.body, schemas);
  const valid = (): Record<string, unknown> => VALID_BODIES[`${op.method} ${op.path}`]?.(ids) ?? {};
  const withField = (name: string, value: unknown): string => JSON.stringify({ ...valid(), [name]: value });
  for (const [name, raw] of Object.entries(schema?.properties ?? {})) {
    const prop = resolve(raw, schemas);
    json(`${name}: NUL`, withField(name, NUL));
    json(`${name}: null`, withField(name, null));
    json(`${name}: wrong type`, withField(name, wrongValue(prop)));
    json(`${name}: huge`, withField(name, 'x'.repeat(200_000)));
    json(`${name}: [NUL]`, withField(name, [NUL]));
    json(`${name}: {NUL key}`, withField(name, { ['k\u0000']: 'v' }));
    json(`${name}: {NUL value}`, withField(name, { k: NUL }));
    json(`${name}: 5,000 deep`, withField(name, '__DEEP__').replace('"__DEEP__"', deep(5000)));
    for (const [inner] of Object.entries(prop?.properties ?? {})) {
      json(`${name}.${inner}: NUL`, withField(name, { [inner]: NUL }));
      json(`${name}.${inner}: null`, withField(name, { [inner]: null }));
      json(`${name}.${inner}: []`, withField(name, { [inner]: [] }));
    }
  }
  return out;
}
