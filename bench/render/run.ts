/**
 * Personalised messages built per second — HTML + text + subject + headers + signed tokens, what the
 * send engine does per recipient — next to a bare Handlebars render of the same compiled HTML.
 * Run: npm run bench:render   (MESSAGES=20000 by default)
 */
import 'reflect-metadata';
import { loadConfig } from '../../src/config/config';
import { TemplateCompiler } from '../../src/content/template-compiler';
import { TemplateLibrary } from '../../src/content/template-library';
import { MessageBuilder, Recipient } from '../../src/delivery/message-builder';
import { MessageTokens } from '../../src/tracking/message-tokens';

const N = Number(process.env.MESSAGES ?? 100_000);
const config = loadConfig({
  APP_SECRET: 'b'.repeat(64),
  PUBLIC_URL: 'https://mail.example.com',
  POSTAL_ADDRESS: 'Example Ltd, 1 Main Street',
  LOG_LEVEL: 'silent',
});
const library = new TemplateLibrary(config);
const compiler = new TemplateCompiler(config, library);
const builder = new MessageBuilder(new MessageTokens(config), config);

const recipients: Recipient[] = Array.from({ length: 1000 }, (_, i) => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  email: `reader${i}@example.com`,
  name: `Reader ${i}`,
  attributes: { plan: i % 2 ? 'pro' : 'free', city: 'Lyon' },
  timezone: 'Europe/Paris',
}));
const campaign = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Bench',
  fromName: 'Shop',
  fromEmail: 'news@shop.example',
  replyTo: null,
  data: { title: 'November news', intro: 'What happened this month.' },
  postalAddress: 'Example Ltd, 1 Main Street',
  list: { id: '22222222-2222-4222-8222-222222222222', name: 'Newsletter' },
};

const ROUNDS = Number(process.env.ROUNDS ?? 5);

/** One timed pass of N messages; the string is touched so that lazily joined HTML is really built. */
function pass(work: (i: number) => unknown): { rate: number; bytes: number } {
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const r = work(i);
    bytes += typeof r === 'string' ? r.length + r.charCodeAt(r.length >> 1) * 0 : 1;
  }
  return { rate: N / (Number(process.hrtime.bigint() - start) / 1e9), bytes };
}

/**
 * Each side warmed up, then ROUNDS rounds in which every side runs one pass in turn; each side's
 * best pass counts. Taking turns gives the sides the same machine — heap, JIT tiers, a busy moment
 * on the host — instead of measuring one side early and the other late.
 */
function timeSides(sides: { label: string; work: (i: number) => unknown }[]): number[] {
  for (const side of sides) for (let i = 0; i < 20_000; i++) side.work(i);
  const best = sides.map(() => ({ rate: 0, bytes: 0 }));
  for (let r = 0; r < ROUNDS; r++) {
    sides.forEach((side, k) => {
      const p = pass(side.work);
      if (p.rate > best[k].rate) best[k] = p;
    });
  }
  return sides.map((side, k) => {
    const kib = best[k].bytes > N ? `, ${(best[k].bytes / N / 1024).toFixed(1)} KiB html each` : '';
    console.log(`${side.label.padEnd(52)} ${best[k].rate.toFixed(0).padStart(8)} msg/s  (best of ${ROUNDS} × ${N}${kib})`);
    return best[k].rate;
  });
}

async function main(): Promise<void> {
  const starter = library.starters.find((s) => s.key === 'newsletter')!;
  const compiled = await compiler.compile('bench', starter.mjml, starter.subject);
  // The bare baseline gets the same helpers and the per-recipient URLs precomputed, so it measures rendering only.
  const bare = compiler.handlebars.compile(compiled.sources.html);
  const contexts = recipients.map((r) => ({
    email: r.email,
    attributes: r.attributes,
    name: r.name,
    subscriber: r,
    data: campaign.data,
    unsubscribeUrl: 'https://mail.example.com/u/x',
    preferencesUrl: 'https://mail.example.com/p/x',
    postalAddress: campaign.postalAddress,
    __links: compiled.links.map((_, i) => `https://mail.example.com/t/c/${i}`),
    __pixel: 'https://mail.example.com/t/o/x',
  }));

  console.log(`render: newsletter starter, ${compiled.links.length} tracked links, MJML compiled ${compiler.mjmlRuns}×`);
  const [baseline, withContext, platform] = timeSides([
    { label: 'bare Handlebars render of the compiled HTML', work: (i) => bare(contexts[i % 1000]) },
    {
      // The same, building each recipient's context as any per-recipient render must.
      label: 'bare render, context built per recipient',
      work: (i) => {
        const r = recipients[i % 1000];
        const { unsubscribeUrl, preferencesUrl, __links, __pixel } = contexts[i % 1000];
        return bare({
          email: r.email,
          attributes: r.attributes,
          name: r.name,
          subscriber: r,
          data: campaign.data,
          unsubscribeUrl,
          preferencesUrl,
          postalAddress: campaign.postalAddress,
          __links,
          __pixel,
        });
      },
    },
    { label: 'platform: html + text + subject + headers + tokens', work: (i) => builder.build(compiled, campaign, recipients[i % 1000]).html },
  ]);
  const ratio = platform / baseline;
  console.log(`ratio platform / bare render: ${ratio.toFixed(2)} (target ≥ 0.50) ${ratio >= 0.5 ? 'PASS' : 'FAIL'}`);
  console.log(`ratio platform / bare render with per-recipient context: ${(platform / withContext).toFixed(2)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
