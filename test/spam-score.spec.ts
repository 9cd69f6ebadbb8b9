import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import MailComposer from 'nodemailer/lib/mail-composer';
import { CampaignsService } from '../src/campaigns/campaigns.service';
import { MessageBuilder } from '../src/delivery/message-builder';
import { startTestApp, TestApp } from './support/test-app';

const SPAMASSASSIN = ['/usr/bin/spamassassin', '/usr/local/bin/spamassassin'].find((p) => existsSync(p));
const LIMIT = 2.0;

function score(raw: Buffer): Promise<{ score: number; report: string }> {
  return new Promise((resolve, reject) => {
    // -L: local tests only (no DNS or network lookups), -t: report even below the threshold.
    const child = execFile(SPAMASSASSIN!, ['-L', '-t'], { maxBuffer: 10 << 20, timeout: 120_000 }, (err, stdout) => {
      if (err && !stdout) return reject(new Error(`spamassassin failed: ${err.message}`));
      const m = /^X-Spam-Status: \w+, score=(-?[\d.]+)/m.exec(stdout);
      if (!m) return reject(new Error(`no X-Spam-Status in SpamAssassin's output`));
      resolve({ score: Number(m[1]), report: stdout.slice(stdout.indexOf('Content analysis details')) });
    });
    child.stdin!.end(raw);
  });
}

(SPAMASSASSIN ? describe : describe.skip)('starter templates under SpamAssassin', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POSTAL_ADDRESS: 'Example Ltd, 1 Main Street, Springfield, IL 62701, USA' });
  });
  afterAll(() => t.close());

  it(`scores every starter below ${LIMIT}`, async () => {
    const list = (await t.api('post', '/v1/lists').send({ name: 'Customers', optIn: 'single' }).expect(201)).body.id;
    const starters = (await t.api('get', '/v1/templates').expect(200)).body.items.filter((i: { starter: string | null }) => i.starter);
    expect(starters).toHaveLength(3);
    const results = await Promise.all(
      starters.map(async (s: { id: string; starter: string; subject: string }) => {
        const campaign = await t
          .api('post', '/v1/campaigns')
          .send({
            name: s.starter,
            subject: s.subject,
            templateId: s.id,
            fromName: 'Example Shop',
            fromEmail: 'news@example.com',
            audience: { lists: [list] },
            data: { title: 'Our November letter', headline: 'Meet the new collection', launchDate: '2026-12-01' },
          })
          .expect(201);
        const campaigns = t.app.get(CampaignsService);
        const row = await campaigns.row(campaign.body.id);
        const message = t.app.get(MessageBuilder).build((await campaigns.compiled(row))[0].template, await campaigns.messageContext(row), {
          id: '5b0f0a43-1d7c-4e51-9a57-6a4f3c2e1d00',
          email: 'jane.doe@example.org',
          name: 'Jane Doe',
          attributes: {},
          timezone: 'America/Chicago',
        });
        const raw = await new MailComposer(message).compile().build();
        return { starter: s.starter, ...(await score(raw)) };
      }),
    );
    for (const r of results) {
      if (r.score >= LIMIT) console.log(`${r.starter}: ${r.score}\n${r.report}`);
      expect({ starter: r.starter, score: r.score, below: r.score < LIMIT }).toEqual({ starter: r.starter, score: r.score, below: true });
    }
    console.log(`SpamAssassin scores: ${results.map((r) => `${r.starter} ${r.score}`).join(', ')}`);
  }, 180_000);
});

if (!SPAMASSASSIN) {
  it('skips the SpamAssassin check: spamassassin is not installed (apt-get install spamassassin)', () => undefined);
}
