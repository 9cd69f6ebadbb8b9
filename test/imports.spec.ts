import { DataSource } from 'typeorm';
import { ImportRunner } from '../src/audience/import-runner';
import { ImportsRepository } from '../src/audience/imports.repository';
import { ListsRepository } from '../src/audience/lists.repository';
import { ACTIVITY_SIGNALS } from '../src/activity/activity-signals';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox';
import { eventually, startTestApp, TestApp } from './support/test-app';

interface ImportView {
  status: string;
  failure: string | null;
  total: number;
  processed: number;
  encoding: string;
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
    const kept = await t
      .api('post', '/v1/subscribers')
      .send({ email: 'existing@example.com', name: 'Old Name', attributes: { tier: 'gold' } })
      .expect(201);
    const leaver = await t
      .api('post', '/v1/subscribers')
      .send({ email: 'leaver@example.com', lists: [list] })
      .expect(201);
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
    const res = await t
      .api('post', `/v1/lists/${list}/imports?consentText=Signed+up+at+the+2026+fair`)
      .set('Content-Type', 'text/csv')
      .send(lines.join('\n') + '\n')
      .expect(202);
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

    const {
      rows: [user],
    } = await t.db.query(`SELECT name, timezone, attributes FROM subscribers WHERE email = 'user5@example.com'`);
    expect(user).toEqual({ name: 'User 5', timezone: 'Europe/Paris', attributes: { City: 'Paris', plan: 'free' } });
    const {
      rows: [last],
    } = await t.db.query(`SELECT name, attributes FROM subscribers WHERE email = 'last@example.com'`);
    expect(last).toEqual({ name: 'Last, Person', attributes: { City: 'Multi word', plan: 'pro' } });
    const {
      rows: [existing],
    } = await t.db.query(`SELECT name, attributes FROM subscribers WHERE id = $1`, [kept.body.id]);
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
    const res = await t
      .api('post', `/v1/lists/${list}/imports`)
      .attach('file', Buffer.from(csv), { filename: 'people.csv', contentType: 'text/csv' })
      .expect(202);
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

  it('rejects a line with a NUL byte by its number and keeps every other row', async () => {
    const csv = 'email,name,city\nnul1@example.com,A,X\nnul2@example.com,B\u0000ad,Y\nnul3@example.com,C,Z\u0000\nnul4@example.com,D,W\n';
    const res = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send(Buffer.from(csv)).expect(202);
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'completed', total: 4, processed: 4, created: 2, skipped: 2 });
    expect(done.errors).toEqual([
      { line: 3, reason: 'column 2 contains a NUL character (\\0)' },
      { line: 4, reason: 'column 3 contains a NUL character (\\0)' },
    ]);
    const header = await t
      .api('post', `/v1/lists/${list}/imports`)
      .set('Content-Type', 'text/csv')
      .send(Buffer.from('email,ci\u0000ty\na@example.com,x\n'))
      .expect(422);
    expect(header.body.details[0]).toMatchObject({ line: 1, field: 'header' });
  });

  it('reads a Latin-1 (Windows-1252) file as such, and refuses it when told it is UTF-8', async () => {
    const latin1 = Buffer.from('email,name,city\nmueller@example.com,J\u00fcrgen M\u00fcller,K\u00f6ln\nrenee@example.com,Ren\u00e9e,\u00c9vry\n', 'latin1');
    latin1[latin1.length - 2] = 0x80; // € in Windows-1252: "Évr€"
    const res = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send(latin1).expect(202);
    expect(res.body.encoding).toBe('windows-1252');
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'completed', created: 2, encoding: 'windows-1252' });
    const { rows } = await t.db.query(
      `SELECT email, name, attributes FROM subscribers WHERE email IN ('mueller@example.com', 'renee@example.com') ORDER BY email`,
    );
    expect(rows).toEqual([
      { email: 'mueller@example.com', name: 'Jürgen Müller', attributes: { city: 'Köln' } },
      { email: 'renee@example.com', name: 'Renée', attributes: { city: 'Évr€' } },
    ]);

    const strict = await t.api('post', `/v1/lists/${list}/imports?encoding=utf-8`).set('Content-Type', 'text/csv').send(latin1).expect(422);
    expect(strict.body.details[0]).toMatchObject({ line: 2, field: 'file' });
    expect(strict.body.message).toContain('encoding=windows-1252');
    const utf16 = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send(Buffer.from('\ufeffemail\n', 'utf16le')).expect(422);
    expect(utf16.body.message).toContain('UTF-16');
    await t.api('post', `/v1/lists/${list}/imports?encoding=ebcdic`).set('Content-Type', 'text/csv').send('email\n').expect(400);
    const utf8 = await t
      .api('post', `/v1/lists/${list}/imports`)
      .set('Content-Type', 'text/csv')
      .send(Buffer.from('email,name\nzoe@example.com,Zoë\n'))
      .expect(202);
    expect((await finished(utf8.body.id)).encoding).toBe('utf-8');
  });

  it('keeps total as counted on upload: lines of data, which processed reaches at the end', async () => {
    // A quoted value over two lines, a blank line, a CRLF, and an unclosed quote that makes the rest unreadable.
    const csv = 'email,note\nt1@example.com,"two\nlines"\n\nt2@example.com,x\r\nt3@example.com,y\nt4@example.com,"open\nt5@example.com,z\n';
    const res = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send(csv).expect(202);
    expect(res.body.total).toBe(7);
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'completed', total: 7, processed: 7, created: 3, skipped: 1 });
    // Old Mac line ends (a lone CR) are lines too.
    const cr = await t.api('post', `/v1/lists/${list}/imports`).set('Content-Type', 'text/csv').send('email\rcr1@example.com\rcr2@example.com').expect(202);
    expect(cr.body.total).toBe(2);
    expect(await finished(cr.body.id)).toMatchObject({ status: 'completed', total: 2, processed: 2, created: 2 });
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
      const runner = new ImportRunner(
        api.app.get(DataSource),
        api.config,
        api.app.get(ImportsRepository),
        api.app.get(ListsRepository),
        api.app.get(WebhookOutbox),
        api.app.get(ACTIVITY_SIGNALS),
      );
      await expect(runner.run(res.body.id)).rejects.toThrow('simulated crash');
      const mid = (await api.api('get', `/v1/imports/${res.body.id}`).expect(200)).body;
      expect(mid).toMatchObject({ status: 'running', total: 301, created: 150 });
      expect(mid.processed).toBeGreaterThanOrEqual(150); // lines read: the two partitions' batches interleave in the file
      expect(mid.processed).toBeLessThan(301);

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
