import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { WorkerProcess } from './support/worker-process';

const PEOPLE = 2_000;

/**
 * Exactly once per step across SIGKILL: 2,000 people move through trigger → send → wait → send
 * while the only worker process is killed several times and started again. Afterwards every
 * enrolment has finished, and no one got a mail twice. A mail whose SMTP transaction was cut by a
 * kill is `unknown` (maybe delivered): never sent again, and counted apart.
 */
describe('journeys: a worker killed with SIGKILL mid-journey', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    await smtp.start();
    // The API only: the engine and the sends run in a separate worker process, killed as in a crash.
    t = await startTestApp({ ROLE: 'api', SMTP_URL: smtp.url, SMTP_RATE: '2000', SMTP_POOL_SIZE: '10', JOURNEY_BATCH_SIZE: '200' });
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

  it('gives zero duplicate sends and finishes every enrolment', async () => {
    const template = (
      await t
        .api('post', '/v1/templates')
        .send({
          name: 'c',
          subject: 'x',
          mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>{{trigger.properties.n}}</mj-text></mj-column></mj-section></mj-body></mjml>',
        })
        .expect(201)
    ).body.id;
    const step = (id: string, subject: string, next?: string) => ({
      id,
      type: 'send',
      templateId: template,
      subject,
      fromName: 'Shop',
      fromEmail: 'orders@shop.example',
      transactional: true,
      ...(next ? { next } : {}),
    });
    const journey = (
      await t
        .api('post', '/v1/journeys')
        .send({
          name: 'crash',
          trigger: { type: 'event', event: 'Order Placed' },
          steps: [
            step('confirm', 'Order {{trigger.properties.n}} placed', 'later'),
            { id: 'later', type: 'wait', duration: 'PT2S', next: 'review' },
            step('review', 'How was order {{trigger.properties.n}}?'),
          ],
        })
        .expect(201)
    ).body.id;
    await t.api('post', `/v1/journeys/${journey}/publish`).expect(200);

    let w = await worker();
    smtp.dataDelayMs = 20; // SMTP takes a while: kills land inside transactions too
    for (let from = 0; from < PEOPLE; from += 250) {
      const batch = [];
      for (let i = from; i < from + 250; i++) {
        batch.push({ type: 'identify', userId: `u${i}`, traits: { email: `p${i}@example.com` }, messageId: `id-${i}` });
        batch.push({ type: 'track', userId: `u${i}`, event: 'Order Placed', properties: { n: i }, messageId: `ev-${i}` });
      }
      await t.api('post', '/v1/batch').send({ batch }).expect(200);
    }
    // Killed four times while the enrolments move, each time started again.
    for (let k = 0; k < 4; k++) {
      await new Promise((r) => setTimeout(r, 1_500 + k * 500));
      await w.kill();
      w = await worker();
    }
    smtp.dataDelayMs = 0;

    const left = async () =>
      Number((await t.db.query(`SELECT count(*) AS n FROM journey_enrolments WHERE journey_id = $1 AND status = 'active'`, [journey])).rows[0].n);
    await eventually(async () => ((await left()) === 0 ? true : undefined), 120_000);
    const { rows: enrolled } = await t.db.query(`SELECT status, count(*)::int AS n FROM journey_enrolments WHERE journey_id = $1 GROUP BY status`, [journey]);
    expect(enrolled).toEqual([{ status: 'completed', n: PEOPLE }]);
    // The mail: settled (none left queued or in flight), and no address got the same mail twice.
    await eventually(async () => {
      const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM journey_messages WHERE status IN ('queued', 'sending', 'submitting')`);
      return rows[0].n === 0 ? true : undefined;
    }, 60_000);
    const { rows: statuses } = await t.db.query(
      `SELECT status, count(*)::int AS n FROM journey_messages WHERE journey_id = $1 GROUP BY status ORDER BY status`,
      [journey],
    );
    const count = (s: string) => statuses.find((r: { status: string }) => r.status === s)?.n ?? 0;
    expect(count('sent') + count('unknown')).toBe(2 * PEOPLE);
    const seen = new Map<string, number>();
    for (const m of smtp.mails) {
      const key = `${m.to.join()}|${m.parsed.subject}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    expect(duplicates).toBe(0);
    // Every mail recorded as sent reached the capture, and only unknown ones may be missing.
    expect(smtp.mails.length).toBeGreaterThanOrEqual(count('sent'));
    expect(smtp.mails.length).toBeLessThanOrEqual(2 * PEOPLE);
    console.log(
      `journey crash test: ${PEOPLE} enrolments, 4 SIGKILLs, mails ${smtp.mails.length}, sent ${count('sent')}, unknown ${count('unknown')}, duplicates ${duplicates}`,
    );
  }, 240_000);
});
