import { loadConfig } from '../config/config';
import { TemplateCompiler } from '../content/template-compiler';
import { TemplateLibrary } from '../content/template-library';
import { MessageTokens } from '../tracking/message-tokens';
import { MessageBuilder } from './message-builder';

const MJML = (text: string) => `<mjml><mj-body><mj-section><mj-column><mj-text>${text}</mj-text></mj-column></mj-section></mj-body></mjml>`;

describe('MessageBuilder', () => {
  const campaign = {
    id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    name: 'Winter',
    fromName: 'Shop',
    fromEmail: 'news@shop.example',
    replyTo: null,
    data: {},
    postalAddress: 'Example Ltd, 1 Main Street',
    list: null,
  };
  const to = { id: '9b2f1c3e-2d4a-4b5c-8d6e-7f8091a2b3c4', email: 'ann@example.com', name: 'Ann & <Co>', attributes: {}, timezone: null };

  it('puts the tracked URLs into html and text alike, whichever renderer the template gets', async () => {
    for (const publicUrl of ['https://mail.example.com', 'https://mail.example.com/edm=1']) {
      const config = loadConfig({ APP_SECRET: 'm'.repeat(40), PUBLIC_URL: publicUrl, POSTAL_ADDRESS: campaign.postalAddress });
      const compiler = new TemplateCompiler(config, new TemplateLibrary(config));
      const tokens = new MessageTokens(config);
      const builder = new MessageBuilder(tokens, config);
      const urls = tokens.forMessage({ campaignId: campaign.id, subscriberId: to.id }, 1);
      const escaped = (u: string) => u.replace(/=/g, '&#x3D;');
      // Text, values and helper calls get the fast renderer; a block sends the template to Handlebars.
      for (const body of [
        'Hi {{name}} <a href="https://shop.example/a?x=1&amp;y=2">Shop</a>',
        '{{#if name}}Hi {{name}} <a href="https://shop.example/a?x=1&amp;y=2">Shop</a>{{/if}}',
      ]) {
        const m = builder.build(await compiler.compile(body, MJML(body), 'For {{name}}'), campaign, to);
        expect(m.html).toContain(`href="${escaped(urls.clicks[0])}"`);
        expect(m.html).toContain(`src="${escaped(urls.open)}"`);
        expect(m.html).toContain('Hi Ann &amp; &lt;Co&gt;');
        expect(m.text).toContain(urls.clicks[0]);
        expect(m.subject).toBe('For Ann & <Co>');
      }
    }
  });

  it('builds a transactional message: tracked like a campaign mail, without the list headers, with a Message-ID of its own', async () => {
    const config = loadConfig({ APP_SECRET: 'm'.repeat(40), PUBLIC_URL: 'https://mail.example.com', POSTAL_ADDRESS: campaign.postalAddress });
    const compiler = new TemplateCompiler(config, new TemplateLibrary(config));
    const tokens = new MessageTokens(config);
    const builder = new MessageBuilder(tokens, config);
    const body = 'Order {{data.order}} <a href="https://shop.example/o">Order</a>';
    const compiled = await compiler.compile('tx', MJML(body), 'Receipt');
    const withList = { ...campaign, data: { order: 7 }, list: { id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', name: 'News' } };
    const urls = tokens.forMessage({ campaignId: campaign.id, subscriberId: to.id }, 1);
    const a = builder.build(compiled, withList, to, { transactional: { tag: 'aaaa' } });
    const b = builder.build(compiled, withList, to, { transactional: { tag: 'bbbb' } });
    expect(Object.keys(a.headers as object)).toEqual(['X-EDM-Campaign']);
    expect(a.html).toContain('Order 7');
    expect(a.html).toContain(urls.open);
    expect(a.messageId).toBe(`<${urls.messageIdToken}@aaaa.shop.example>`);
    expect(b.messageId).not.toBe(a.messageId);
    expect(Object.keys(builder.build(compiled, withList, to).headers as object)).toEqual(
      expect.arrayContaining(['List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Id']),
    );
  });
});
