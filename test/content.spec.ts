import { generateKeyPairSync } from 'node:crypto';
import { CampaignsService } from '../src/campaigns/campaigns.service';
import { TemplateCompiler } from '../src/content/template-compiler';
import { MessageBuilder, Recipient } from '../src/delivery/message-builder';
import { SmtpCapture } from './support/smtp-capture';
import { startTestApp, TestApp } from './support/test-app';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { authenticate } = require('mailauth') as {
  authenticate: (m: Buffer, o: object) => Promise<{ dkim: { results: { status: { result: string }; signingDomain: string }[] } }>;
};

const MJML = (body: string) => `<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
${body}
      </mj-column>
    </mj-section>
    {{> footer}}
  </mj-body>
</mjml>`;

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

describe('content: templates, compile once, standards-correct messages', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let list: string;
  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      POSTAL_ADDRESS: 'Example Ltd, 1 Main Street, Springfield',
      DKIM_DOMAIN: 'shop.example',
      DKIM_SELECTOR: 'edm2026',
      DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    list = (await t.api('post', '/v1/lists').send({ name: 'Shop news', optIn: 'single' }).expect(201)).body.id;
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  const createTemplate = async (body: string, subject = 'Hi {{default name "there"}}') =>
    (
      await t
        .api('post', '/v1/templates')
        .send({ name: 'T', mjml: MJML(body), subject })
        .expect(201)
    ).body as { id: string; version: number };

  const createCampaign = async (templateId: string, extra: object = {}) =>
    (
      await t
        .api('post', '/v1/campaigns')
        .send({
          name: 'Spring sale',
          subject: 'Spring sale for {{default name "you"}}',
          templateId,
          fromName: 'Shop',
          fromEmail: 'news@shop.example',
          audience: { lists: [list] },
          data: { discount: 20 },
          ...extra,
        })
        .expect(201)
    ).body as { id: string };

  describe('templates', () => {
    it('lists the shipped starters, usable as they are and read-only', async () => {
      const res = await t.api('get', '/v1/templates').expect(200);
      const starters = res.body.items.filter((i: { starter: string | null }) => i.starter);
      expect(starters.map((s: { starter: string }) => s.starter).sort()).toEqual(['announcement', 'newsletter', 'welcome']);
      for (const s of starters) {
        const preview = await t
          .api('post', `/v1/templates/${s.id}/preview`)
          .send({ subscriber: { name: 'Ann', email: 'ann@example.com' }, data: { title: 'May news', launchDate: '2026-05-01' } })
          .expect(200);
        expect(preview.body.html).toContain('Unsubscribe');
        expect(preview.body.html).toContain('Manage your preferences');
        expect(preview.body.text).toMatch(/Unsubscribe/);
        expect(preview.body.subject).not.toContain('{{');
      }
      await t.api('patch', `/v1/templates/${starters[0].id}`).send({ name: 'mine' }).expect(409);
      await t.api('delete', `/v1/templates/${starters[0].id}`).expect(409);
    });

    it('refuses invalid MJML with 422, MJML messages and line numbers', async () => {
      const res = await t
        .api('post', '/v1/templates')
        .send({
          name: 'bad',
          mjml: '<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text colour="red">x</mj-text>\n<mj-bogus />\n</mj-column>\n</mj-section>\n</mj-body>\n</mjml>',
        })
        .expect(422);
      expect(res.body.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: 'mjml', line: 5, message: expect.stringContaining('colour') }),
          expect.objectContaining({ field: 'mjml', line: 6, message: expect.stringContaining('mj-bogus') }),
        ]),
      );
    });

    it('names unknown partials, Handlebars syntax errors and unknown helpers with their lines', async () => {
      const partial = await t.api('post', '/v1/templates').send({ name: 'p', mjml: '<mjml>\n<mj-body>\n{{> sidebar}}\n</mj-body>\n</mjml>' }).expect(422);
      expect(partial.body.details[0]).toMatchObject({ line: 3, message: expect.stringContaining('unknown partial "sidebar"') });
      const syntax = await t
        .api('post', '/v1/templates')
        .send({ name: 's', mjml: MJML('<mj-text>{{#if name}}hi</mj-text>') })
        .expect(422);
      expect(syntax.body.details[0].message).toContain('Handlebars');
      const helper = await t
        .api('post', '/v1/templates')
        .send({ name: 'h', mjml: MJML('<mj-text>{{shout name}}</mj-text>') })
        .expect(422);
      expect(helper.body.details[0]).toMatchObject({ field: 'mjml', line: 5, message: 'unknown helper "shout"' });
      const subject = await t
        .api('post', '/v1/templates')
        .send({ name: 'x', mjml: MJML('<mj-text>ok</mj-text>'), subject: '{{#each}}' })
        .expect(422);
      expect(subject.body.details[0].field).toBe('subject');
    });

    it('versions every edit and keeps old versions', async () => {
      const tpl = await createTemplate('<mj-text>v1</mj-text>');
      expect(tpl.version).toBe(1);
      const renamed = await t.api('patch', `/v1/templates/${tpl.id}`).send({ name: 'renamed' }).expect(200);
      expect(renamed.body.version).toBe(1);
      const edited = await t
        .api('patch', `/v1/templates/${tpl.id}`)
        .send({ mjml: MJML('<mj-text>v2</mj-text>') })
        .expect(200);
      expect(edited.body.version).toBe(2);
      const { rows } = await t.db.query(`SELECT version, mjml FROM template_versions WHERE template_id = $1 ORDER BY version`, [tpl.id]);
      expect(rows.map((r: { mjml: string }) => r.mjml.includes('v1'))).toEqual([true, false]);
      await t.api('patch', `/v1/templates/${tpl.id}`).send({ mjml: '<mjml><mj-body><mj-nope/></mj-body></mjml>' }).expect(422);
      expect((await t.api('get', `/v1/templates/${tpl.id}`).expect(200)).body.version).toBe(2);
    });

    it('previews with helpers, escaping and the subscriber time zone', async () => {
      const tpl = await createTemplate(
        '<mj-text>Hello {{default name "friend"}}! {{currency data.price "EUR"}} · {{number data.count}} · {{date data.when "long"}} · {{{data.raw}}}</mj-text>',
      );
      const res = await t
        .api('post', `/v1/templates/${tpl.id}/preview`)
        .send({
          data: { price: 1234.5, count: 1234567, when: '2026-03-01T02:00:00Z', raw: '<b>bold</b>' },
          subscriber: { name: '<i>Eve</i> & co', timezone: 'America/Los_Angeles' },
        })
        .expect(200);
      expect(res.body.html).toContain('Hello &lt;i&gt;Eve&lt;/i&gt; &amp; co!');
      expect(res.body.html).toContain('€1,234.50');
      expect(res.body.html).toContain('1,234,567');
      expect(res.body.html).toContain('February 28, 2026'); // 02:00 UTC is still the 28th in Los Angeles
      expect(res.body.html).toContain('<b>bold</b>');
      expect(res.body.text).toContain('Hello <i>Eve</i> & co!');
      expect(res.body.subject).toBe('Hi <i>Eve</i> & co');
      const fallback = await t
        .api('post', `/v1/templates/${tpl.id}/preview`)
        .send({ subscriber: { name: '' } })
        .expect(200);
      expect(fallback.body.html).toContain('Hello friend!');
    });
  });

  describe('compile once, render per recipient', () => {
    it('runs MJML once for a 1,000-recipient render and personalises every message', async () => {
      const tpl = await createTemplate(
        [
          '<mj-text>Dear {{name}}, take {{data.discount}}% off. <a href="https://shop.example/sale?utm=x&amp;a=1">Shop now</a></mj-text>',
          '<mj-button href="https://shop.example/sale?utm=x&amp;a=1">Again</mj-button>',
          '<mj-text><a href="https://shop.example/terms">Terms</a> <a href="mailto:help@shop.example">Mail us</a> <a href="https://shop.example/raw" data-no-track>Raw</a> <a href="#top">Top</a></mj-text>',
        ].join('\n'),
      );
      const campaign = await createCampaign(tpl.id);
      const campaigns = t.app.get(CampaignsService);
      const compiler = t.app.get(TemplateCompiler);
      const builder = t.app.get(MessageBuilder);
      const row = await campaigns.row(campaign.id);
      const context = await campaigns.messageContext(row);
      const before = compiler.mjmlRuns;
      const messages = [];
      for (let i = 0; i < 1000; i++) {
        const [{ template: compiled }] = await campaigns.compiled(row);
        const to: Recipient = {
          id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          email: `r${i}@example.com`,
          name: `Reader ${i}`,
          attributes: {},
          timezone: null,
        };
        messages.push(builder.build(compiled, context, to));
      }
      expect(compiler.mjmlRuns - before).toBe(1);

      const { rows: links } = await t.db.query(`SELECT slot, url FROM campaign_links WHERE campaign_id = $1 ORDER BY slot`, [campaign.id]);
      expect(links).toEqual([
        { slot: 0, url: 'https://shop.example/sale?utm=x&a=1' },
        { slot: 1, url: 'https://shop.example/terms' },
      ]);
      const m = messages[42];
      const html = m.html as string;
      expect(html).toContain('Dear Reader 42, take 20% off.');
      expect(m.subject).toBe('Spring sale for Reader 42');
      expect(html.match(/https:\/\/edm\.test\/t\/c\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g)).toHaveLength(3); // two anchors to slot 0, one to slot 1
      expect(html).not.toContain('shop.example/sale');
      expect(html).toContain('href="mailto:help@shop.example"');
      expect(html).toContain('href="https://shop.example/raw"');
      expect(html).not.toContain('data-no-track');
      expect(html).toContain('href="#top"');
      expect(html).toMatch(/<img src="https:\/\/edm\.test\/t\/o\/[A-Za-z0-9_.-]+"/);
      expect(html).toContain('href="https://edm.test/u/');
      expect(html).toContain('Example Ltd, 1 Main Street, Springfield');
      expect(m.text as string).toContain('Dear Reader 42');
      expect(m.text as string).toMatch(/Shop now \[https:\/\/edm\.test\/t\/c\//);
      expect(messages[7].html as string).not.toBe(html.replace(/42/g, '7')); // tokens differ per recipient
      expect(messages[42].messageId).toBe(
        builder.build((await campaigns.compiled(row))[0].template, context, {
          id: '00000000-0000-4000-8000-000000000042',
          email: 'x@example.com',
          name: null,
          attributes: {},
          timezone: null,
        }).messageId,
      );
      expect(messages[41].messageId).not.toBe(messages[42].messageId);
    });
  });

  describe('messages on the wire', () => {
    it('sends test copies with every standard header, DKIM-signed and verifiable', async () => {
      const [starter] = (await t.api('get', '/v1/templates').expect(200)).body.items.filter((i: { starter: string }) => i.starter === 'welcome');
      const campaign = await createCampaign(starter.id, { replyTo: 'care@shop.example' });
      await t.api('post', '/v1/subscribers').send({ email: 'known@example.com', name: 'Kim' }).expect(201);
      await t
        .api('post', `/v1/campaigns/${campaign.id}/test`)
        .send({ emails: ['known@example.com', 'someone@example.com'] })
        .expect(200);
      await smtp.waitFor(() => smtp.mailsTo('known@example.com').length === 1 && smtp.mailsTo('someone@example.com').length === 1);

      const mail = smtp.mailsTo('known@example.com')[0];
      const h = mail.parsed.headers;
      expect(mail.parsed.subject).toBe('[TEST] Spring sale for Kim');
      expect(mail.parsed.from?.value[0]).toEqual({ name: 'Shop', address: 'news@shop.example' });
      expect(mail.parsed.replyTo?.value[0].address).toBe('care@shop.example');
      expect(h.get('x-edm-test')).toBe('yes');
      const listUnsubscribe = String(mail.raw.toString().match(/^List-Unsubscribe:\s*(.*(?:\r\n\s.*)*)/m)?.[1]).replace(/\r\n\s+/g, ' ');
      expect(listUnsubscribe).toMatch(
        /^<https:\/\/edm\.test\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+>, <mailto:unsubscribe@shop\.example\?subject=unsubscribe%20[A-Za-z0-9_.-]+>$/,
      );
      expect(mail.raw.toString()).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
      expect(String(mail.raw)).toMatch(/^List-I[dD]: "Shop news" <[0-9a-f-]+\.list-id\.shop\.example>\r$/m);
      expect(mail.parsed.html).toContain('Welcome, Kim!');
      expect(mail.parsed.text).toContain('Welcome, Kim!');
      expect(mail.parsed.html).toContain('href="https://edm.test/u/');

      const result = await authenticate(mail.raw, {
        ip: '127.0.0.1',
        helo: 'localhost',
        sender: 'news@shop.example',
        mta: 'capture.test',
        resolver: (name: string, type: string) =>
          type === 'TXT' && name === 'edm2026._domainkey.shop.example'
            ? Promise.resolve([[DKIM_TXT]])
            : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })),
      });
      expect(result.dkim.results[0]).toMatchObject({ status: { result: 'pass' }, signingDomain: 'shop.example' });
      const signed = /DKIM-Signature:[\s\S]*?[;\s]h=([^;]+);/.exec(mail.raw.toString())?.[1].replace(/\s+/g, '').toLowerCase().split(':') ?? [];
      expect(signed).toEqual(expect.arrayContaining(['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));

      expect(smtp.mailsTo('someone@example.com')[0].parsed.subject).toBe('[TEST] Spring sale for you');

      // The test copies stored the draft's link slots; deleting the draft removes them with it.
      const slots = async () => (await t.db.query(`SELECT count(*)::int AS n FROM campaign_links WHERE campaign_id = $1`, [campaign.id])).rows[0].n as number;
      expect(await slots()).toBeGreaterThan(0);
      await t.api('delete', `/v1/campaigns/${campaign.id}`).expect(204);
      expect(await slots()).toBe(0);
    });

    it('validates campaigns: unknown template, lists and transport; bad subject; only drafts change', async () => {
      const tpl = await createTemplate('<mj-text>x</mj-text>');
      const base = { name: 'c', subject: 's', templateId: tpl.id, fromName: 'S', fromEmail: 'a@shop.example', audience: { lists: [list] } };
      await t
        .api('post', '/v1/campaigns')
        .send({ ...base, templateId: '00000000-0000-4000-8000-000000000000' })
        .expect(404);
      const noList = await t
        .api('post', '/v1/campaigns')
        .send({ ...base, audience: { lists: ['00000000-0000-4000-8000-000000000000'] } })
        .expect(404);
      expect(noList.body.details[0].field).toBe('audience.lists[0]');
      const transport = await t
        .api('post', '/v1/campaigns')
        .send({ ...base, transport: 'nope' })
        .expect(400);
      expect(transport.body.details[0].field).toBe('transport');
      const subject = await t
        .api('post', '/v1/campaigns')
        .send({ ...base, subject: '{{#if}}' })
        .expect(422);
      expect(subject.body.details[0].field).toBe('subject');
      const from = await t
        .api('post', '/v1/campaigns')
        .send({ ...base, fromEmail: 'nope' })
        .expect(400);
      expect(from.body.details[0].field).toBe('fromEmail');
      const ok = await t.api('post', '/v1/campaigns').send(base).expect(201);
      expect(ok.body).toMatchObject({ status: 'draft', progress: { total: 0, queued: 0, sent: 0, failed: 0, unknown: 0 } });
      await t.api('patch', `/v1/campaigns/${ok.body.id}`).send({ name: 'renamed' }).expect(200);
      await t.db.query(`UPDATE campaigns SET status = 'sent' WHERE id = $1`, [ok.body.id]);
      const locked = await t.api('patch', `/v1/campaigns/${ok.body.id}`).send({ name: 'again' }).expect(409);
      expect(locked.body.message).toContain('is sent');
      await t.api('delete', `/v1/campaigns/${ok.body.id}`).expect(409);
      await t
        .api('post', `/v1/campaigns/${ok.body.id}/test`)
        .send({ emails: ['bad'] })
        .expect(400);
    });
  });
});
