import type { TestApp } from './test-app';

/**
 * Asks for a report's share link (`POST <resource>/report-link`), checks its address and expiry,
 * and opens it without a key: the page's text and the token.
 */
export async function openSharedReport(t: TestApp, resource: string, expiresInHours: number): Promise<{ html: string; token: string }> {
  const before = Date.now();
  const res = await t.api('post', `${resource}/report-link`).send({ expiresInHours }).expect(201);
  const { url, expiresAt } = res.body as { url: string; expiresAt: string };
  expect(url.startsWith(`${t.config.http.publicUrl}/r/`)).toBe(true);
  expect(Math.abs(Date.parse(expiresAt) - before - expiresInHours * 3600_000)).toBeLessThan(5000);
  const page = await t.http.get(new URL(url).pathname).expect(200);
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(page.headers['cache-control']).toContain('no-store');
  expect(page.headers['content-security-policy']).toContain("default-src 'none'");
  expect(page.text).toContain('shared link, valid until');

  const byDefault = (await t.api('post', `${resource}/report-link`).send({}).expect(201)).body as { expiresAt: string };
  expect(Math.abs(Date.parse(byDefault.expiresAt) - Date.now() - 168 * 3600_000)).toBeLessThan(5000);
  return { html: page.text, token: new URL(url).pathname.slice(3) };
}

/** Tampered forms of a genuine token (one character of the signature, one of the payload, cut short) and garbage: each a 404 page with no figure. */
export async function expectForgeriesRefused(t: TestApp, token: string): Promise<void> {
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const bad of [flip(token, token.length - 3), flip(token, 2), token.slice(0, -4), 'garbage', 'a.b']) {
    const r = await t.http.get(`/r/${bad}`).expect(404);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.text).toContain('Link not recognised');
    expect(r.text).not.toContain('data-figure');
  }
}
