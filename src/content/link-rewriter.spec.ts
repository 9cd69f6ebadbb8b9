import { rewriteLinks } from './link-rewriter';

describe('rewriteLinks', () => {
  it('gives each distinct http(s) URL one slot and decodes entities in the stored URL', () => {
    const html = `<a href="https://example.com/a?x=1&amp;y=2">A</a>
      <a
         href='http://example.com/b' style="color:red">B</a>
      <a href="https://example.com/a?x=1&amp;y=2" target="_blank">A again</a>`;
    const r = rewriteLinks(html);
    expect(r.links).toEqual(['https://example.com/a?x=1&y=2', 'http://example.com/b']);
    expect(r.html).toContain('<a href="{{__link 0}}">A</a>');
    expect(r.html).toContain(`href="{{__link 1}}" style="color:red">B`);
    expect(r.html).toContain('<a href="{{__link 0}}" target="_blank">A again');
  });

  it('leaves mailto, tel, anchors, Handlebars URLs and data-no-track links alone', () => {
    const html = [
      '<a href="mailto:hi@example.com">m</a>',
      '<a href="tel:+331234">t</a>',
      '<a href="#top">top</a>',
      '<a href="{{unsubscribeUrl}}">u</a>',
      '<a href="https://example.com/u/{{id}}">personal</a>',
      '<a data-no-track href="https://example.com/raw">raw</a>',
      '<a href="https://example.com/raw2" data-no-track="true">raw2</a>',
      '<a name="x">no href</a>',
      '<a href="javascript:alert(1)">js</a>',
    ].join('\n');
    const r = rewriteLinks(html);
    expect(r.links).toEqual([]);
    expect(r.html).toContain('<a href="https://example.com/raw">raw</a>');
    expect(r.html).toContain('<a href="https://example.com/raw2">raw2</a>');
    expect(r.html).not.toContain('data-no-track');
    expect(r.html).toContain('<a href="{{unsubscribeUrl}}">u</a>');
  });
});
