import { DataSource } from 'typeorm';
import { ImportRunner } from '../src/audience/import-runner';
import { eventually, startTestApp, TestApp } from './support/test-app';

interface ImportView {
  status: string;
  failure: string | null;
  total: number;
  processed: number;
  created: number;
  updated: number;
  skipped: number;
  errorCount: number;
  errors: { line: number; reason: string }[];
}

describe('CSV import', () => {
  let t: TestApp;
  let list: string;
  beforeAll(async () => {
    t = await startTestApp({ IMPORT_BATCH_SIZE: '100' });
    list = (await t.api('post', '/v1/lists').send({ name: 'Imported', optIn: 'double' }).expect(201)).body.id;
  });
  afterAll(() => t.close());

  const finished = (id: string) =>
    eventually(async () => {
      const { body } = await t.api('get', `/v1/imports/${id}`).expect(200);
      return ['completed', 'failed'].includes(body.status) ? (body as ImportView) : undefined;
    }, 30_000);

  it('keeps every valid row and reports each bad line, across batches', async () => {
    // Existing people: one to update, one who left this list and must stay unsubscribed.
    const kept = await t.api('post', '/v1/subscribers').send({ email: 'existing@example.com', name: 'Old Name', attributes: { tier: 'gold' } }).expect(201);
    const leaver = await t.api('post', '/v1/subscribers').send({ email: 'leaver@example.com', lists: [list] }).expect(201);
    await t.api('delete', `/v1/lists/${list}/subscriptions/${leaver.body.id}`).expect(204);
    await t.api('post', '/v1/suppressions').send({ email: 'suppressed@example.com', reason: 'hard_bounce' }).expect(201);

    const lines = ['email,name,timezone,City,plan'];
    for (let i = 0; i < 250; i++) lines.push(`user${i}@example.com,User ${i},Europe/Paris,Paris,free`);
    lines.push('not-an-email,Bad,,,'); // line 252
    lines.push('tz@example.com,Tz,Moon/Base,,'); // 253
    lines.push('cols@example.com,Too,Many,Columns,Here,Extra'); // 254
    lines.push('USER5@example.com,Dup Late,,,'); // 255: duplicate of line 7, in another batch
    lines.push('suppressed@example.com,S,,,'); // 256
    lines.push('Existing@Example.com,New Name,,Berlin,'); // 257
    lines.push('leaver@example.com,Leaver,,,'); // 258
    lines.push(',Empty,,,'); // 259
    lines.push('"quoted, name"@example.com,Q,,,'); // 260: invalid (quotes are not allowed here)
    lines.push('last@example.com,"Last, Person",UTC,"Multi word",pro'); // 261
    const res = await t.api('post', `/v1/lists/${list}/imports?consentText=Signed+up+at+the+2026+fair`).set('Content-Type', 'text/csv').send(lines.join('\n') + '\n').expect(202);
    expect(res.body).toMatchObject({ id: expect.any(String), listId: list, total: 260 });

    const done = await finished(res.body.id);
    expect(done.failure).toBeNull();
    expect(done).toMatchObject({ status: 'completed', total: 260, processed: 260, created: 251, updated: 2, skipped: 7, errorCount: 7 });
    expect(done.errors).toEqual([
      { line: 252, reason: 'invalid email "not-an-email"' },
      { line: 253, reason: expect.stringContaining('invalid timezone "Moon/Base"') },
      { line: 254, reason: 'expected 5 columns, found 6' },
      { line: 255, reason: 'duplicate of an earlier line' },
      { line: 256, reason: 'address is on the suppression list' },
      { line: 259, reason: 'email is empty' },
      { line: 260, reason: expect.stringContaining('invalid email') },
    ]);

    const { rows: [user] } = await t.db.query(`SELECT name, timezone, attributes FROM subscribers WHERE email = 'user5@example.com'`);
    expect(user).toEqual({ name: 'User 5', timezone: 'Europe/Paris', attributes: { City: 'Paris', plan: 'free' } });
    const { rows: [last] } = await t.db.query(`SELECT name, attributes FROM subscribers WHERE email = 'last@example.com'`);
    expect(last).toEqual({ name: 'Last, Person', attributes: { City: 'Multi word', plan: 'pro' } });
    const { rows: [existing] } = await t.db.query(`SELECT name, attributes FROM subscribers WHERE id = $1`, [kept.body.id]);
    expect(existing).toEqual({ name: 'New Name', attributes: { tier: 'gold', City: 'Berlin' } });

    const counts = await t.api('get', `/v1/lists/${list}`).expect(200);
    expect(counts.body.counts).toEqual({ confirmed: 252, pending: 0, unsubscribed: 1 });
    const { rows: consent } = await t.db.query(
      `SELECT count(*)::int AS n, min(consent_text) AS text FROM consent_events WHERE import_id = $1 AND source = 'import'`,
      [res.body.id],
    );
    expect(consent[0]).toEqual({ n: 252, text: 'Signed up at the 2026 fair' });
    const { rows: scratch } = await t.db.query(`SELECT count(*)::int AS chunks FROM import_chunks WHERE import_id = $1`, [res.body.id]);
    expect(scratch[0]).toEqual({ chunks: 0 });
  });

  it('takes a multipart upload with a BOM, CRLF line ends and a header in any case', async () => {
    const csv = '\uFEFFEMAIL,Name\r\nmp1@example.com,One\r\nmp2@example.com,Two\r\n';
    const res = await t.api('post', `/v1/lists/${list}/imports`).attach('file', Buffer.from(csv), { filename: 'people.csv', contentType: 'text/csv' }).expect(202);
    expect(res.body.filename).toBe('people.csv');
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'completed', processed: 2, created: 2, errorCount: 0 });
  });

  it('reports the line of an unclosed quote and keeps the rows before it', async () => {
    const csv = 'email,name\nq1@example.com,A\nq2@example.com,"unclosed\nq3@example.com,C\n';
    const res = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send(csv).expect(202);
    const done = await finished(res.body.id);
    expect(done.status).toBe('completed');
    expect(done.created).toBe(1);
    expect(done.errors).toEqual([{ line: expect.any(Number), reason: expect.stringContaining('unreadable CSV') }]);
  });

  it('refuses an unusable file before queueing it', async () => {
    const noEmail = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send('name,city\nA,B\n').expect(422);
    expect(noEmail.body.details[0]).toMatchObject({ line: 1, field: 'header' });
    expect(noEmail.body.message).toContain('no "email" column');
    const dupCol = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send('email,Email\na@example.com,b\n').expect(422);
    expect(dupCol.body.message).toContain('appears twice');
    await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send('').expect(422);
    const json = await t.api('post', `/v1/lists/${list}/imports`).send({ email: 'a@example.com' }).expect(415);
    expect(json.body.details[0].field).toBe('Content-Type');
    await t.api('post', '/v1/lists/00000000-0000-4000-8000-000000000000/imports').set('Content-Type', 'text/csv').send('email\na@example.com\n').expect(404);
    await t.api('get', '/v1/imports/00000000-0000-4000-8000-000000000000').expect(404);
    const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM imports WHERE status <> 'completed'`);
    expect(rows[0].n).toBe(0);
  });

  it('resumes after a failure mid-import without losing or repeating a row', async () => {
    const api = await startTestApp({ ROLE: 'api', IMPORT_BATCH_SIZE: '50' });
    try {
      const listId = (await api.api('post', '/v1/lists').send({ name: 'resume', optIn: 'single' }).expect(201)).body.id;
      const lines = ['email'];
      for (let i = 0; i < 300; i++) lines.push(`r${i}@example.com`);
      lines.push('r10@example.com'); // a duplicate of a row applied before the failure
      const res = await api.api('post', `/v1/lists/${listId}/imports`).set('Content-Type', 'text/csv').send(lines.join('\n')).expect(202);
      expect(res.body.status).toBe('queued'); // no worker in an api-only process

      // The database refuses the batch that would pass row 150, as if the worker died there.
      await api.db.query(`CREATE FUNCTION stop_at_150() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.rows_processed > 150 THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$`);
      await api.db.query(`CREATE TRIGGER stop_at_150 BEFORE UPDATE ON imports FOR EACH ROW EXECUTE FUNCTION stop_at_150()`);
      const runner = new ImportRunner(api.app.get(DataSource), api.config);
      await expect(runner.run(res.body.id)).rejects.toThrow('simulated crash');
      const mid = (await api.api('get', `/v1/imports/${res.body.id}`).expect(200)).body;
      expect(mid).toMatchObject({ status: 'running', processed: 150, created: 150 });

      await api.db.query(`DROP TRIGGER stop_at_150 ON imports`);
      await runner.run(res.body.id);
      const done = (await api.api('get', `/v1/imports/${res.body.id}`).expect(200)).body;
      expect(done).toMatchObject({ status: 'completed', processed: 301, created: 300, updated: 0, errorCount: 1 });
      expect(done.errors).toEqual([{ line: 302, reason: 'duplicate of an earlier line' }]);
      const { rows } = await api.db.query(`SELECT count(*)::int AS subs, (SELECT count(*)::int FROM consent_events) AS consent FROM subscribers`);
      expect(rows[0]).toEqual({ subs: 300, consent: 300 });
    } finally {
      await api.close();
    }
  });
});
