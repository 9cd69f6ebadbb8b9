import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { WorkerProcess } from './support/worker-process';

describe('transactional mail: worker crashes and lost jobs', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let template: string;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    await smtp.start();
    // The API only: sends are done by separate worker processes, killed as in a crash.
    t = await startTestApp({ ROLE: 'api', SMTP_URL: smtp.url, SMTP_RATE: '1000' });
    template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'r',
          subject: 'Receipt {{data.n}}',
          mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>n {{data.n}}</mj-text></mj-column></mj-section></mj-body></mjml>',
        })
        .expect(201)
    ).body.id;
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await t.close();
    await smtp.stop();
  });
  const worker = async () => {
    const w = await new WorkerProcess(t.env).start();
    workers.push(w);
    return w;
  };
  const status = async (id: string) => (await t.api('get', `/v1/transactional/${id}`).expect(200)).body.status as string;

  it('a worker killed during SMTP leaves the message unknown, never sent twice', async () => {
    const first = await worker();
    smtp.dataDelayMs = 3_000; // the SMTP transaction stays open while the worker is killed
    const id = (
      await t
        .api('post', '/v1/transactional')
        .send({ templateId: template, to: 'crash@example.com', data: { n: 1 } })
        .expect(202)
    ).body.messageId;
    await eventually(async () => ((await status(id)) === 'submitting' ? true : undefined), 15_000);
    await smtp.waitFor(() => smtp.attempts.get('crash@example.com') === 1, 15_000); // inside the SMTP transaction
    await first.kill();
    smtp.dataDelayMs = 0;
    await worker();
    // The dead worker's key expires, then the reconciler of the new one settles its claim.
    await eventually(async () => ((await status(id)) === 'unknown' ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(smtp.attempts.get('crash@example.com')).toBe(1);
    expect(smtp.mailsTo('crash@example.com').length).toBeLessThanOrEqual(1);
  }, 60_000);

  it('a queued message whose job was lost is enqueued again and sent once', async () => {
    const id = (
      await t
        .api('post', '/v1/transactional')
        .send({ templateId: template, to: 'lost@example.com', data: { n: 2 } })
        .expect(202)
    ).body.messageId;
    await eventually(async () => ((await status(id)) === 'sent' ? true : undefined), 15_000);
    // As if the API had crashed between its commit and the enqueue: a row with no job.
    const { rows } = await t.db.query(
      `INSERT INTO transactional_messages (mailing_id, template_id, template_version, subscriber_id, to_email, data, request_hash, next_attempt_at)
       SELECT mailing_id, template_id, template_version, subscriber_id, 'lost@example.com', '{"n": 3}', 'x', now() - interval '1 minute'
       FROM transactional_messages WHERE id = $1 RETURNING id`,
      [id],
    );
    await eventually(async () => ((await status(rows[0].id)) === 'sent' ? true : undefined), 20_000);
    expect(smtp.mailsTo('lost@example.com').map((m) => m.parsed.subject)).toEqual(['Receipt 2', 'Receipt 3']);
  }, 60_000);
});
