import type { CampaignStatsDto } from '../dto/stats.dto';
import { reportPage, ReportData } from './report-page';

const engagement = { unique: 0, total: 0, uniqueHuman: 0, uniqueMachine: 0 };
const stats: CampaignStatsDto = {
  campaignId: 'c',
  status: 'sending',
  sent: 1234567,
  delivered: 1234000,
  failed: 0,
  unknown: 0,
  queued: 10,
  bounces: { hard: 500, soft: 67 },
  complaints: 3,
  unsubscribes: 40,
  opens: { ...engagement, unique: 9, uniqueHuman: 7, uniqueMachine: 2, total: 12 },
  clicks: engagement,
  conversions: { unique: 0, total: 0, revenue: 0, currency: 'EUR', revenueByCurrency: {}, unattributed: 0 },
  rates: { reach: 0.99, open: 0.1, click: 0, ctor: 0, conversion: 0, unsubscribe: 0, bounce: 0, complaint: 0 },
};
const data: ReportData = {
  campaign: { name: '</title><script>x()</script>', subject: '"quoted" & <b>', status: 'sending', startedAt: null, finishedAt: null },
  stats,
  timeseries: { interval: 'hour', timezone: 'UTC', buckets: [] },
  links: [{ slot: 0, url: 'https://shop.example/?a=1&b="><img src=x onerror=alert(1)>', clicks: 1, uniqueClicks: 1, uniqueHumanClicks: 1, clickShare: 1 }],
  mail: { unavailable: 'The click map appears once the campaign has started sending.' },
  providers: null,
  sharedUntil: null,
};

describe('reportPage', () => {
  it('escapes every text it shows, in the page and in the charts', () => {
    const { html } = reportPage(data);
    expect(html).not.toMatch(/<script|<img|onerror=alert\(1\)>/);
    expect(html).toContain('&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;');
    expect(html).toContain('&quot;quoted&quot; &amp; &lt;b&gt;');
  });

  it('allows the charts’ style attributes by hash, not by unsafe-inline', () => {
    const { csp, html } = reportPage(data);
    expect(html).toContain('<svg');
    expect(csp?.['style-src']).toContain("'unsafe-hashes'");
    expect(csp?.['style-src']).not.toContain("'unsafe-inline'");
    expect(html).not.toContain('<style >');
  });

  it('shows a sending campaign’s providers as its audience’s, a finished one’s as its sent messages', () => {
    const slices = [
      { name: 'gmail.com', value: 700000 },
      { name: 'other', value: 534567 },
    ];
    const sending = reportPage({ ...data, providers: { of: 'audience', slices } }).html;
    expect(sending).toContain('Mailbox providers of the audience');
    expect(sending).toContain('data-figure="providers-of">1,234,567<');
    expect(sending).toContain('<th class="n">Recipients</th>');
    expect(sending).toContain('data-figure="sent">1,234,567<');
    const finished = reportPage({ ...data, providers: { of: 'sent', slices } }).html;
    expect(finished).toContain('<th class="n">Sent</th>');
    expect(finished).not.toContain('providers-of');
    expect(finished).toContain('data-figure="provider-0">700,000<');
  });

  it('says when the providers are counted, before the campaign starts', () => {
    expect(reportPage(data).html).toContain('Counted once the campaign has started sending');
  });
});
