import { withPreheader } from './template-compiler';

describe('withPreheader', () => {
  it('adds a head with the preview to a template without one', () => {
    expect(withPreheader('<mjml><mj-body></mj-body></mjml>', 'Only until midnight')).toBe(
      '<mjml><mj-head><mj-preview>Only until midnight</mj-preview></mj-head><mj-body></mj-body></mjml>',
    );
  });

  it('replaces the template’s own preview, keeping the rest of its head', () => {
    const mjml = '<mjml><mj-head><mj-title>T</mj-title><mj-preview>old</mj-preview></mj-head><mj-body></mj-body></mjml>';
    expect(withPreheader(mjml, 'new')).toBe('<mjml><mj-head><mj-preview>new</mj-preview><mj-title>T</mj-title></mj-head><mj-body></mj-body></mjml>');
  });

  it('escapes markup, and leaves Handlebars to render per recipient', () => {
    expect(withPreheader('<mjml lang="en"><mj-body/></mjml>', '<b>Hi</b> & {{name}}')).toBe(
      '<mjml lang="en"><mj-head><mj-preview>&lt;b&gt;Hi&lt;/b&gt; &amp; {{name}}</mj-preview></mj-head><mj-body/></mjml>',
    );
  });
});
