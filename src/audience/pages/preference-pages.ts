import { assertUnreachable } from '../../common/errors';
import { escapeHtml, HtmlPage, linkNotRecognised, page } from '../../common/html';
import type { SubscriptionStatus } from '../audience.entities';
import type { LinkProblem, PreferenceChanges, Preferences, UnsubscribeForm, Unsubscribed } from './preferences.service';

const STATUS_LABEL: Record<SubscriptionStatus, string> = {
  confirmed: 'subscribed',
  pending: 'waiting for your confirmation',
  unsubscribed: 'not subscribed',
};

/** Every page below escapes whatever came from the database or the request: names, addresses, tokens. */
export function problemPage(p: LinkProblem): HtmlPage {
  switch (p.kind) {
    case 'invalid':
      return linkNotRecognised();
    case 'test':
      return {
        status: 200,
        html: page(
          'This is a test message',
          '<p>This link comes from a test copy of a campaign, so it changes nothing and records nothing. In the real mail it lets the recipient manage their subscription.</p>',
        ),
      };
    case 'erased':
      return {
        status: 200,
        html: page('Nothing to do', '<p>We no longer hold this address, so there is nothing to unsubscribe and we will not send it anything.</p>'),
      };
    case 'bad_form':
      return { status: 400, html: page('Please try again', '<p>We could not read what your browser sent. Go back to the page and try again.</p>') };
    default:
      return assertUnreachable(p);
  }
}

export function unsubscribeFormPage(token: string, v: UnsubscribeForm | LinkProblem): HtmlPage {
  if (v.kind !== 'form') return problemPage(v);
  const list = listLabel(v.listName);
  const intro = v.subscribed
    ? `<p>Unsubscribe <strong>${escapeHtml(v.email)}</strong> from ${list}?</p>`
    : `<p><strong>${escapeHtml(v.email)}</strong> no longer receives ${list}. You can still stop all mail from us below.</p>`;
  const form =
    `<form method="post" action="/u/${escapeHtml(token)}">` +
    `<p><label><input type="checkbox" name="all" value="on"> Unsubscribe me from all mail (global opt-out)</label></p>` +
    `<button type="submit">Unsubscribe</button></form>`;
  return { status: 200, html: page('Unsubscribe', intro + form + preferencesLink(v.preferencesUrl)) };
}

export function unsubscribedPage(v: Unsubscribed | LinkProblem): HtmlPage {
  if (v.kind !== 'done') return problemPage(v);
  const what = v.optedOut
    ? `<p><strong>${escapeHtml(v.email)}</strong> will receive no more mail from us.</p>`
    : `<p><strong>${escapeHtml(v.email)}</strong> is unsubscribed from ${listLabel(v.listName)}.</p>`;
  const repeat = v.changed ? '' : '<p>This had already been done: nothing more has changed.</p>';
  return { status: 200, html: page('You are unsubscribed', what + repeat + preferencesLink(v.preferencesUrl)) };
}

export function preferencesPage(token: string, v: Preferences | LinkProblem): HtmlPage {
  if (v.kind !== 'preferences') return problemPage(v);
  const rows = v.lists
    .map((l) => {
      const checked = l.status === 'unsubscribed' ? '' : ' checked';
      return `<p><label><input type="checkbox" name="list" value="${escapeHtml(l.id)}"${checked}> ${escapeHtml(l.name)}</label> <small>(${STATUS_LABEL[l.status]})</small></p>`;
    })
    .join('');
  const suppressed = v.suppressed ? '<p>This address has opted out of all mail, so lists cannot be re-joined here.</p>' : '';
  const form =
    `<form method="post" action="/p/${escapeHtml(token)}">` +
    (rows ? `<fieldset><legend>Tick the lists you want to receive</legend>${rows}</fieldset>` : '<p>You are on none of our lists.</p>') +
    `<p><label><input type="checkbox" name="all" value="on"> Unsubscribe me from everything (global opt-out)</label></p>` +
    `<button type="submit">Save my choices</button></form>`;
  const intro = `<p>Mail for <strong>${escapeHtml(v.email)}</strong>.</p>`;
  return { status: 200, html: page('Your mail preferences', (v.changes ? changesHtml(v.email, v.changes) : '') + intro + suppressed + form) };
}

function changesHtml(email: string, c: PreferenceChanges): string {
  const names = (xs: string[]) => xs.map(escapeHtml).join(', ');
  const out: string[] = [];
  if (c.optedOut) out.push(`<p><strong>${escapeHtml(email)}</strong> will receive no more mail from us.</p>`);
  else if (c.left.length) out.push(`<p>You left: ${names(c.left)}.</p>`);
  const confirmed = c.joined.filter((j) => j.status === 'confirmed').map((j) => j.name);
  const pending = c.joined.filter((j) => j.status === 'pending').map((j) => j.name);
  if (confirmed.length) out.push(`<p>You re-joined: ${names(confirmed)}.</p>`);
  if (pending.length) out.push(`<p>Check your inbox: we sent a link to confirm ${names(pending)}.</p>`);
  if (c.refused.length) out.push(`<p>${names(c.refused)} could not be re-joined: this address has opted out of all mail.</p>`);
  return `<section><h2>Saved</h2>${out.length ? out.join('') : '<p>Nothing changed.</p>'}</section>`;
}

function listLabel(name: string | null): string {
  return name === null ? 'this mailing list' : `<strong>${escapeHtml(name)}</strong>`;
}

function preferencesLink(url: string): string {
  return `<p><a href="${escapeHtml(url)}">Manage all your subscriptions</a></p>`;
}
