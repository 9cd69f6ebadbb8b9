/*
 * Browser files for the ALTCHA widget (altcha@3), served from our own origin at /subscribe/assets/<name>.
 *
 * Which build, and what a strict Content-Security-Policy must allow for it:
 * - The default build (dist/main) injects its CSS as a <style> element in <head> (needs style-src
 *   'unsafe-inline', or a nonce it can only find through <meta name="csp-nonce">, since
 *   document.currentScript is null in module scripts) and starts its solver Web Workers from blob: URLs,
 *   falling back to data: URLs (needs worker-src blob: data:).
 * - The "external" build (dist/external), used here, does neither: the CSS is a file we link, and the
 *   solver is dist/workers/pbkdf2.js, a classic worker script registered by our small bootstrap module
 *   (altcha-form.js) from our own origin. Its DOM code only sets styles through CSSOM
 *   (element.style.cssText / setProperty), which CSP does not govern, and its templates carry no
 *   style="" attributes; no eval, no WebAssembly for PBKDF2, no images or fonts (the logo is inline SVG).
 * So the widget needs no 'unsafe-inline' and no blob:. WIDGET_CSP lists exactly what it needs:
 *   script-src 'self'   altcha-form.js and altcha.min.js, both <script type="module"> from /subscribe/assets
 *   worker-src 'self'   new Worker('/subscribe/assets/pbkdf2.js')
 *   connect-src 'self'  the fetch of the challenge URL (the widget's only network request)
 *   style-src 'self'    <link rel="stylesheet" href="/subscribe/assets/altcha.css">
 * The page itself may need more: page() in common/html.ts has an inline <style> (give it a hash, or
 * serve it as a file) and the form posts to us (form-action 'self').
 * The widget refuses to run outside a secure context: HTTPS, or http://localhost in development.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { escapeHtml } from '../../common/html';

/** The one script the page loads, as <script type="module">; it imports the widget and registers the worker. */
export const WIDGET_SCRIPT = 'altcha-form.js';
export const WIDGET_STYLESHEET = 'altcha.css';

/** Directive → sources the widget needs on the sign-up page (merge into the page's own policy). */
export const WIDGET_CSP: Record<'script-src' | 'worker-src' | 'connect-src' | 'style-src', string[]> = {
  'script-src': ["'self'"],
  'worker-src': ["'self'"],
  'connect-src': ["'self'"],
  'style-src': ["'self'"],
};

/**
 * The external build registers no solvers. The worker URL is taken relative to this module, so the
 * assets can move without editing it. pbkdf2.js serves every PBKDF2 variant (FormChallenge uses SHA-256).
 */
const BOOTSTRAP = `import './altcha.min.js';
const worker = new URL('./pbkdf2.js', import.meta.url).href;
for (const algorithm of ['PBKDF2/SHA-256', 'PBKDF2/SHA-384', 'PBKDF2/SHA-512']) {
  globalThis.$altcha.algorithms.set(algorithm, () => new Worker(worker));
}
`;

const JS = 'text/javascript; charset=utf-8';

/**
 * The allow-list: public name → file under altcha/dist (or inline source). package.json is not in the
 * package's `exports`, so the directory is found through a path that is: `altcha/altcha.css`.
 */
const FILES: Record<string, { path: string; contentType: string } | { source: string; contentType: string }> = {
  [WIDGET_SCRIPT]: { source: BOOTSTRAP, contentType: JS },
  'altcha.min.js': { path: 'external/altcha.min.js', contentType: JS },
  [WIDGET_STYLESHEET]: { path: 'external/altcha.css', contentType: 'text/css; charset=utf-8' },
  'pbkdf2.js': { path: 'workers/pbkdf2.js', contentType: JS },
};

const cache = new Map<string, { body: Buffer; contentType: string }>();

/** A widget file by plain name, or null for any name not on the list (so no path ever reaches the disk). */
export function formAsset(name: string): { body: Buffer; contentType: string } | null {
  if (!Object.hasOwn(FILES, name)) return null;
  let asset = cache.get(name);
  if (!asset) {
    const file = FILES[name];
    const body = 'source' in file ? Buffer.from(file.source) : readFileSync(join(distDir(), file.path));
    asset = { body, contentType: file.contentType };
    cache.set(name, asset);
  }
  return asset;
}

function distDir(): string {
  return join(dirname(require.resolve('altcha/altcha.css')), '..');
}

/** Goes in <head>: the stylesheet, and the bootstrap as a module (altcha.min.js is an ES module too). */
export function widgetHeadHtml(assetBase = '/subscribe/assets'): string {
  const base = escapeHtml(assetBase.replace(/\/+$/, ''));
  return `<link rel="stylesheet" href="${base}/${WIDGET_STYLESHEET}"><script type="module" src="${base}/${WIDGET_SCRIPT}"></script>`;
}

/**
 * The widget, inside the <form>. It starts solving when anything in the form gets focus (auto="onfocus"),
 * so the work is usually done before the address is typed; its checkbox is `required` until verified, so
 * the browser holds the submit until then. When done it fills `<input type="hidden" name="altcha">` with the
 * payload and fires `verified` (and `statechange`). display="standard" keeps it inline (not "floating");
 * hideLogo/hideFooter drop the branding and link to altcha.org, and humanInteractionSignature: false stops
 * a pointer-event collector only ALTCHA's hosted service uses. Those three are not attributes of their own:
 * they go in the JSON `configuration` attribute. Note the v3 attribute is `challenge` (v2 had `challengeurl`).
 */
export function widgetHtml(challengeUrl: string): string {
  const configuration = JSON.stringify({ hideLogo: true, hideFooter: true, humanInteractionSignature: false });
  return (
    `<altcha-widget challenge="${escapeHtml(challengeUrl)}" name="altcha" auto="onfocus" display="standard" type="checkbox"` +
    ` configuration="${escapeHtml(configuration)}"></altcha-widget>` +
    `<noscript><p>This form needs JavaScript: it does a moment of computation to show it is not a robot.</p></noscript>`
  );
}
