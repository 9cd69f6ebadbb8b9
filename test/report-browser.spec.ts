import Redis from 'ioredis';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import type { CampaignStatsDto, LinkStatsDto } from '../src/analytics/dto/stats.dto';
import { REDIS_URL } from './support/databases';
import { freePort } from './support/ports';
import { campaignWithEvents, expectedFigures } from './support/report-campaign';
import { SmtpCapture } from './support/smtp-capture';
import { ADMIN_KEY, startTestApp, TestApp } from './support/test-app';

/** Debian's package (apt-get install chromium); a browser is never downloaded. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SCREENSHOTS = join(__dirname, '..', 'test-output', 'screenshots');

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

/**
 * A campaign's report in headless Chromium: opened with an API key and through its shared link, at
 * desktop and phone width, with screenshots in test-output/screenshots/report-*.png.
 */
(CHROMIUM ? describe : describe.skip)('campaign report in a browser', () => {
  const smtp = new SmtpCapture();
  let t: TestApp;
  let redis: Redis;
  let browser: Browser;
  let base: string;
  let campaign: string;
  let stats: CampaignStatsDto;
  let links: LinkStatsDto[];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await smtp.start();
    redis = new Redis(REDIS_URL);
    const port = await freePort();
    base = `http://localhost:${port}`;
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL: base, SMTP_RATE: '5000' });
    await t.app.listen(port, '127.0.0.1');
    campaign = await campaignWithEvents(t, smtp, redis);
    stats = (await t.api('get', `/v1/campaigns/${campaign}/stats`).expect(200)).body;
    links = (await t.api('get', `/v1/campaigns/${campaign}/links`).expect(200)).body;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    redis?.disconnect();
    await smtp.stop();
  });

  const view = async (url: string, viewport: { width: number; height: number }, shot: string, headers: Record<string, string> = {}): Promise<void> => {
    const phone = viewport.width < 500;
    const context = await browser.newContext({ viewport, isMobile: phone, deviceScaleFactor: phone ? 2 : 1, extraHTTPHeaders: headers });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(e.message));
      const res = await page.goto(url);
      expect(res?.status()).toBe(200);
      await checkReport(page, viewport.width);
      await checkClickMap(page, viewport.width);
      await page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
      await page.locator('#click-map').screenshot({ path: join(SCREENSHOTS, `${shot}-click-map.png`) });
      // Nothing the Content-Security-Policy refused (the charts' inline styles are allowed by hash).
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  };

  const checkReport = async (page: Page, width: number): Promise<void> => {
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('<script>alert("name")</script> & winter');
    for (const id of ['funnel', 'over-time', 'human-machine', 'links', 'providers']) {
      const svg = page.locator(`#${id} svg`).first();
      const box = await svg.boundingBox();
      expect(box && box.width > 0 && box.height > 0 && box.width <= width).toBe(true);
    }
    const figures = await page
      .locator('[data-figure]')
      .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-figure'), Number((e.textContent ?? '').replace(/,/g, ''))])));
    expect(figures).toMatchObject(expectedFigures(stats));
    // Nothing wider than the screen.
    expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(width);
  };

  /** The mail in its frame, a badge on every occurrence of each tracked link with the link's stats; its links lead nowhere. */
  const checkClickMap = async (page: Page, width: number): Promise<void> => {
    const frame = page.locator('#click-map iframe');
    const box = await frame.boundingBox();
    expect(box && box.width > 0.8 * Math.min(width, 736) && box.width <= width && box.height >= 300).toBe(true);
    const mail = page.frameLocator('#click-map iframe');
    await mail.getByText('Shop the sale').waitFor({ state: 'visible', timeout: 5000 });
    const badges = mail.locator('.edm-badge');
    expect(await badges.count()).toBe(3);
    for (const badge of await badges.all()) {
      expect(await badge.isVisible()).toBe(true);
      const slot = Number(await badge.getAttribute('data-slot'));
      const link = links.find((l) => l.slot === slot)!;
      expect(await badge.textContent()).toBe(`${link.uniqueHumanClicks} · ${(link.clickShare * 100).toFixed(1)} %`);
    }
    // A click on a link stays in the copy: no navigation, no request, no click counted.
    await mail.getByText('Shop the sale').click();
    expect(page.frames().map((f) => f.url())).toEqual([page.url(), 'about:srcdoc']);
    expect(await page.locator('table.print-only').isVisible()).toBe(false);
  };

  it('shows the report with its charts at desktop width, with an API key', async () => {
    await view(`${base}/v1/campaigns/${campaign}/report`, DESKTOP, 'report-desktop', { Authorization: `Bearer ${ADMIN_KEY}` });
  }, 60_000);

  it('shows the shared report at phone width (390 px), without a key', async () => {
    const { url } = (await t.api('post', `/v1/campaigns/${campaign}/report-link`).send({}).expect(201)).body as { url: string };
    await view(url, PHONE, 'report-phone');
    await view(url, DESKTOP, 'report-shared-desktop');
  }, 60_000);

  it('prints the report without the page background', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${ADMIN_KEY}` } });
    try {
      const page = await context.newPage();
      await page.goto(`${base}/v1/campaigns/${campaign}/report`);
      await page.emulateMedia({ media: 'print' });
      expect(
        await page
          .locator('body')
          .evaluate((b) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { backgroundColor: string } }).getComputedStyle(b).backgroundColor),
      ).toBe('rgb(255, 255, 255)');
      // The frame would print cut off: the click map prints as its table.
      expect(await page.locator('#click-map iframe').isVisible()).toBe(false);
      expect(await page.locator('#click-map table.print-only').isVisible()).toBe(true);
      expect(await page.locator('#click-map table.print-only tbody tr').count()).toBe(3);
      expect((await page.pdf({ format: 'A4' })).length).toBeGreaterThan(1000);
    } finally {
      await context.close();
    }
  }, 60_000);
});

if (!CHROMIUM) {
  it('skips the report browser tests: Chromium is not installed (apt-get install chromium)', () => undefined);
}
