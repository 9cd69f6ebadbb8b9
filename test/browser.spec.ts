import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { freePort } from './support/ports';
import { SmtpCapture } from './support/smtp-capture';
import { eventually, startTestApp, TestApp } from './support/test-app';

/** Debian's package (apt-get install chromium); a browser is never downloaded. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
/** Where the screenshots go (kept by CI as the test's output). */
export const SCREENSHOTS = join(__dirname, '..', 'test-output', 'screenshots');

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

/**
 * The pages people see, in a real browser (headless Chromium driven by playwright-core): the
 * hosted sign-up form with its proof-of-work at desktop and phone width, the double opt-in page,
 * then a campaign mail's unsubscribe page and preference centre, clicked through from the mail.
 */
(CHROMIUM ? describe : describe.skip)('human pages in a browser', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let list: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await smtp.start();
    const port = await freePort();
    // localhost: the widget needs a secure context, which http://localhost is.
    base = `http://localhost:${port}`;
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: base, SMTP_RATE: '1000' });
    await t.app.listen(port, '127.0.0.1');
    list = (
      await t
        .api('post', '/v1/lists')
        .send({
          name: 'Garden club',
          optIn: 'double',
          description: 'Tips for your garden, once a month.',
          consentText: 'Yes, send me the monthly garden tips. I can unsubscribe at any time.',
        })
        .expect(201)
    ).body.id;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await smtp.stop();
  });

  const open = async (viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport, isMobile: viewport.width < 500, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    (page as Page & { problems: string[] }).problems = problems;
    return { context, page };
  };
  const problemsOf = (page: Page): string[] => (page as Page & { problems: string[] }).problems;

  const signUp = async (viewport: { width: number; height: number }, email: string, shot: string): Promise<void> => {
    const { context, page } = await open(viewport);
    try {
      await page.goto(`${base}/subscribe/${list}`);
      await page.screenshot({ path: join(SCREENSHOTS, `${shot}-form.png`), fullPage: true });
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Subscribe to Garden club');
      await page.getByLabel('E-mail address').fill(email); // focus starts the proof-of-work
      await page.getByLabel(/^Name/).fill('Ada Gardener');
      // The widget puts its answer in a hidden field once solved. (Read through Playwright, not with page
      // script run from a string: the page's Content-Security-Policy forbids eval, as it should.)
      await eventually(async () => ((await page.locator('input[name="altcha"]').inputValue()) ? true : undefined), 30_000);
      // Nothing wider than the screen at phone width.
      expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(viewport.width);
      await page.screenshot({ path: join(SCREENSHOTS, `${shot}-form-solved.png`), fullPage: true });
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
      expect(await page.textContent('body')).toContain(email);
      await page.screenshot({ path: join(SCREENSHOTS, `${shot}-thanks.png`), fullPage: true });
      expect(problemsOf(page)).toEqual([]);
    } finally {
      await context.close();
    }
  };

  it('signs up through the hosted form at desktop width, with the proof-of-work solved in the page', async () => {
    await signUp(DESKTOP, 'desk@example.com', 'desktop');
  }, 60_000);

  it('signs up at phone width (390 px)', async () => {
    await signUp(PHONE, 'phone@example.com', 'phone');
  }, 60_000);

  it('confirms from the link in the mail, unsubscribes and manages preferences from a campaign mail', async () => {
    await smtp.waitFor(() => smtp.mailsTo('desk@example.com').length === 1);
    const confirmUrl = /(http:\/\/localhost:\d+\/confirm\/[A-Za-z0-9_.-]+)/.exec(smtp.mailsTo('desk@example.com')[0].parsed.text ?? '')?.[1];
    expect(confirmUrl).toBeDefined();
    const { context, page } = await open(PHONE);
    try {
      await page.goto(confirmUrl!);
      await page.screenshot({ path: join(SCREENSHOTS, 'confirm.png'), fullPage: true });
      await page.getByRole('button', { name: 'Confirm my subscription' }).click();
      await page.getByRole('heading', { name: 'Subscription confirmed' }).waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, 'confirmed.png'), fullPage: true });

      // A campaign to the list reaches the confirmed subscriber; its links lead to the other pages.
      const deals = (await t.api('post', '/v1/lists').send({ name: 'Deals', optIn: 'single' }).expect(201)).body.id;
      const subscriber = (await t.api('get', '/v1/subscribers?email=desk@example.com').expect(200)).body.items[0].id;
      await t.api('post', `/v1/lists/${deals}/subscriptions`).send({ subscriberId: subscriber }).expect(201);
      const [starter] = (await t.api('get', '/v1/templates').expect(200)).body.items.filter((i: { starter: string }) => i.starter === 'newsletter');
      const campaign = (
        await t
          .api('post', '/v1/campaigns')
          .send({
            name: 'June tips',
            subject: 'June in the garden',
            templateId: starter.id,
            fromName: 'Garden club',
            fromEmail: 'tips@garden.example',
            audience: { lists: [list] },
          })
          .expect(201)
      ).body.id;
      await t.api('post', `/v1/campaigns/${campaign}/send`).expect(200);
      await smtp.waitFor(() => smtp.mailsTo('desk@example.com').length === 2, 30_000);
      const mail = smtp.mailsTo('desk@example.com')[1];
      // The header may be folded over several lines.
      const unsubscribe = /^List-Unsubscribe:\s*<([^>]+)>/im.exec(mail.raw.toString())?.[1].replace(/\s+/g, '');
      const preferences = /(http:\/\/localhost:\d+\/p\/[A-Za-z0-9_.-]+)/.exec(mail.parsed.text ?? '')?.[1];
      expect(unsubscribe).toBeDefined();
      expect(preferences).toBeDefined();

      await page.goto(preferences!);
      await page.screenshot({ path: join(SCREENSHOTS, 'preferences.png'), fullPage: true });
      expect(await page.getByLabel('Garden club').isChecked()).toBe(true);
      await page.getByLabel('Deals').uncheck();
      await page.getByRole('button', { name: 'Save my choices' }).click();
      await page.getByRole('heading', { name: 'Saved' }).waitFor();
      expect(await page.textContent('body')).toContain('You left: Deals.');
      await page.screenshot({ path: join(SCREENSHOTS, 'preferences-saved.png'), fullPage: true });

      await page.goto(unsubscribe!);
      await page.screenshot({ path: join(SCREENSHOTS, 'unsubscribe.png'), fullPage: true });
      await page.getByRole('button', { name: 'Unsubscribe' }).click();
      await page.getByRole('heading', { name: 'You are unsubscribed' }).waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, 'unsubscribed.png'), fullPage: true });
      expect(problemsOf(page)).toEqual([]);
    } finally {
      await context.close();
    }
    const statuses = await eventually(async () => {
      const { rows } = await t.db.query(
        `SELECT l.name, s.status FROM subscriptions s JOIN lists l ON l.id = s.list_id JOIN subscribers b ON b.id = s.subscriber_id WHERE b.email = 'desk@example.com' ORDER BY l.name`,
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(statuses).toEqual([
      { name: 'Deals', status: 'unsubscribed' },
      { name: 'Garden club', status: 'unsubscribed' },
    ]);
  }, 90_000);
});

if (!CHROMIUM) {
  it('skips the browser tests: Chromium is not installed (apt-get install chromium)', () => undefined);
}
