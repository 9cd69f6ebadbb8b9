import { escapeHtml, HtmlPage, page } from '../../common/html';
import type { MailingList } from '../audience.entities';
import { WIDGET_CSP, widgetHeadHtml, widgetHtml } from './form-assets';

/**
 * The field a person never sees (moved off-screen, out of the tab order, hidden from screen
 * readers) and a form-filling robot fills in: a post with it is answered as a success and ignored.
 */
export const HONEYPOT = 'website';

type FormList = Pick<MailingList, 'id' | 'name' | 'description' | 'consentText' | 'formChallenge' | 'formOrigins'>;

/**
 * The hosted sign-up page: labelled fields, the list's own consent wording, the proof-of-work
 * widget when the list asks for it. Other sites may frame it only if the list allows them.
 */
export function signUpPage(list: FormList): HtmlPage {
  const action = `/subscribe/${escapeHtml(list.id)}`;
  const body =
    (list.description ? `<p>${escapeHtml(list.description)}</p>` : '') +
    `<form method="post" action="${action}">` +
    `<label for="email">E-mail address</label><input id="email" name="email" type="email" autocomplete="email" required maxlength="254">` +
    `<label for="name">Name <small>(optional)</small></label><input id="name" name="name" type="text" autocomplete="name" maxlength="200">` +
    honeypotHtml() +
    (list.consentText ? `<p class="consent" id="consent">${escapeHtml(list.consentText)}</p>` : '') +
    (list.formChallenge ? widgetHtml(`${action}/challenge`) : '') +
    `<p><button type="submit"${list.consentText ? ' aria-describedby="consent"' : ''}>Subscribe</button></p></form>`;
  return {
    status: 200,
    html: page(`Subscribe to ${list.name}`, body, { head: list.formChallenge ? widgetHeadHtml() : '' }),
    csp: { ...(list.formChallenge ? WIDGET_CSP : {}), 'frame-ancestors': list.formOrigins },
  };
}

export function signedUpPage(list: Pick<MailingList, 'name' | 'formOrigins'>, email: string, confirmationRequired: boolean): HtmlPage {
  const message = confirmationRequired
    ? `<p>We have sent a confirmation link to <strong>${escapeHtml(email)}</strong>. Open it to finish subscribing to ${escapeHtml(list.name)}.</p>`
    : `<p>You are subscribed to ${escapeHtml(list.name)}.</p>`;
  return { status: 200, html: page(confirmationRequired ? 'Check your inbox' : 'Thank you', message), csp: { 'frame-ancestors': list.formOrigins } };
}

/** GET never confirms: mail scanners follow links with GET. The button posts. */
export function confirmPage(token: string): HtmlPage {
  return {
    status: 200,
    html: page(
      'Confirm your subscription',
      `<form method="post" action="/confirm/${escapeHtml(token)}"><p>One click to confirm you want to receive our mail.</p><button type="submit">Confirm my subscription</button></form>`,
    ),
  };
}

export function confirmExpiredPage(): HtmlPage {
  return { status: 410, html: page('Link expired', '<p>This confirmation link has expired. Please subscribe again.</p>') };
}

export function confirmedPage(): HtmlPage {
  return { status: 200, html: page('Subscription confirmed', '<p>Thank you: your subscription is confirmed.</p>') };
}

export function notConfirmedPage(): HtmlPage {
  return {
    status: 409,
    html: page('Not confirmed', '<p>You unsubscribed after this link was sent, so it no longer applies. Subscribe again if you wish.</p>'),
  };
}

/**
 * What a site owner pastes. The frame shows the hosted page (with its challenge), and works on
 * the sites the list allows; the plain form posts to the platform and suits lists without the
 * challenge (a page of another site cannot start the widget's workers from this origin).
 */
export function embedSnippet(list: FormList, url: string, kind: 'iframe' | 'form'): string {
  if (kind === 'iframe') {
    const note = list.formOrigins.length
      ? `<!-- Sign-up form for "${commentSafe(list.name)}". Shown on: ${list.formOrigins.map(commentSafe).join(', ')} (the list's publicForm.allowedOrigins). -->`
      : `<!-- Sign-up form for "${commentSafe(list.name)}". Add your site's origin to the list's publicForm.allowedOrigins: browsers show the frame only there. -->`;
    return `${note}\n<iframe src="${escapeHtml(url)}" title="Subscribe to ${escapeHtml(list.name)}" style="width:100%;max-width:34rem;height:34rem;border:0" loading="lazy"></iframe>\n`;
  }
  return (
    `<!-- Sign-up form for "${commentSafe(list.name)}": posts to the platform, which answers with its own page. -->\n` +
    `<form method="post" action="${escapeHtml(url)}">\n` +
    `  <label for="edm-email">E-mail address</label>\n  <input id="edm-email" name="email" type="email" autocomplete="email" required>\n` +
    `  <label for="edm-name">Name (optional)</label>\n  <input id="edm-name" name="name" type="text" autocomplete="name">\n` +
    `  <div style="position:absolute;left:-10000px" aria-hidden="true"><label for="edm-${HONEYPOT}">Leave this empty</label><input id="edm-${HONEYPOT}" name="${HONEYPOT}" tabindex="-1" autocomplete="off"></div>\n` +
    (list.consentText ? `  <p>${escapeHtml(list.consentText)}</p>\n` : '') +
    `  <button type="submit">Subscribe</button>\n</form>\n`
  );
}

function honeypotHtml(): string {
  return `<div class="hp" aria-hidden="true"><label for="${HONEYPOT}">Leave this field empty</label><input id="${HONEYPOT}" name="${HONEYPOT}" type="text" tabindex="-1" autocomplete="off"></div>`;
}

/** An HTML comment cannot hold "--". */
function commentSafe(text: string): string {
  return escapeHtml(text).replace(/-{2,}/g, '-');
}
