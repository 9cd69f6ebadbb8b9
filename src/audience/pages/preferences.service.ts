import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Queryable } from '../../database/queryable';
import type { SubscriptionStatus } from '../audience.entities';
import type { ConsentEvidence } from '../consent';
import { ListsService } from '../lists.service';
import { SubscribersService } from '../subscribers.service';
import { SubscriptionsService } from '../subscriptions.service';
import { SubscribersRepository } from '../subscribers.repository';
import { ChoiceRow, SubscriptionsRepository } from '../subscriptions.repository';
import { SuppressionsService } from '../suppressions.service';
import { MESSAGE_DIRECTORY, MessageDirectory } from './message-directory';
import { AppError } from '../../common/errors';
import { AddressSuppressed } from '../audience.errors';
import { EventBuffer } from '../../tracking/event-buffer';
import { MessageRef, MessageTokens, TEST_RECIPIENT } from '../../tracking/message-tokens';

/** The fields of a posted form, by name; a name may repeat (`list=a&list=b`). */
export type FormFields = ReadonlyMap<string, readonly string[]>;

/** Who is asking, as the request shows it (no consent source or text: the service decides those). */
export interface Requester {
  ip: string;
  userAgent: string | null;
}

/** Answers that are the same on both pages: a bad link, a test send, an erased address, a form that makes no sense. */
export type LinkProblem = { kind: 'invalid' } | { kind: 'test' } | { kind: 'erased' } | { kind: 'bad_form' };

export interface UnsubscribeForm {
  kind: 'form';
  email: string;
  /** null once the list has been deleted. */
  listName: string | null;
  /** Still receiving the list (pending or confirmed). */
  subscribed: boolean;
  preferencesUrl: string;
}

export interface Unsubscribed {
  kind: 'done';
  email: string;
  listName: string | null;
  optedOut: boolean;
  /** false when the request repeated one already applied. */
  changed: boolean;
  preferencesUrl: string;
}

export interface ListChoice {
  id: string;
  name: string;
  status: SubscriptionStatus;
}

export interface PreferenceChanges {
  left: string[];
  joined: { name: string; status: SubscriptionStatus }[];
  /** Lists that could not be re-joined because the address is suppressed. */
  refused: string[];
  optedOut: boolean;
}

export interface Preferences {
  kind: 'preferences';
  email: string;
  lists: ListChoice[];
  suppressed: boolean;
  /** Present after a POST. */
  changes?: PreferenceChanges;
}

interface Message extends MessageRef {
  listId: string;
  listName: string | null;
  email: string;
  status: SubscriptionStatus | null;
}

const ONE_CLICK = 'One-Click';
const receiving = (s: SubscriptionStatus | null) => s === 'pending' || s === 'confirmed';

/**
 * The rules behind a campaign mail's unsubscribe link and preference centre. The signed message
 * token is the only credential; the `messages` row says which list the mail came through. Every
 * change is made in Postgres before the answer (RFC 8058: effective at once), goes through the
 * audience services (so the permission rules and the consent ledger stay in one place), and is
 * then announced to the event buffer for the campaign's unsubscribe counter.
 */
@Injectable()
export class PreferencesService {
  private readonly logger = new Logger(PreferencesService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tokens: MessageTokens,
    private readonly lists: ListsService,
    private readonly subscribers: SubscribersService,
    private readonly subscriptions: SubscriptionsService,
    private readonly suppressions: SuppressionsService,
    private readonly events: EventBuffer,
    private readonly subscriberRows: SubscribersRepository,
    private readonly subscriptionRows: SubscriptionsRepository,
    @Inject(MESSAGE_DIRECTORY) private readonly messages: MessageDirectory,
  ) {}

  /** GET /u: what the page shows. Changes nothing — link scanners fetch every GET. */
  async unsubscribePage(token: string): Promise<UnsubscribeForm | LinkProblem> {
    const m = await this.message('unsubscribe', token);
    if ('kind' in m) return m;
    return { kind: 'form', email: m.email, listName: m.listName, subscribed: receiving(m.status), preferencesUrl: this.preferencesUrl(m) };
  }

  /**
   * POST /u: an RFC 8058 one-click post (`List-Unsubscribe=One-Click`) or the page's form, with
   * `all=on` for the global opt-out. Any POST with a genuine token unsubscribes: the body only
   * says how it was asked for. Idempotent: a repeat changes nothing and records nothing.
   */
  async unsubscribe(token: string, form: FormFields | null, who: Requester): Promise<Unsubscribed | LinkProblem> {
    const m = await this.message('unsubscribe', token);
    if ('kind' in m) return m;
    if (!form) return { kind: 'bad_form' };
    const oneClick = single(form, 'List-Unsubscribe') === ONE_CLICK;
    const all = single(form, 'all') !== undefined;
    const how = oneClick ? 'one-click unsubscribe (RFC 8058)' : 'unsubscribe page';
    const evidence = this.evidence(who, `${how}${all ? ', all mail (global opt-out)' : ''}`, m);
    const changed = await this.db.transaction(async (tx) => {
      const email = await this.lockSubscriber(tx, m.subscriberId);
      if (email === null) return null;
      const before = await this.subscriptions.leave(tx, m.subscriberId, m.listId, evidence);
      const others = all ? await this.optOut(tx, m.subscriberId, email, evidence) : false;
      return receiving(before) || others;
    });
    if (changed === null) return { kind: 'erased' };
    if (changed) await this.announce(m, who);
    return { kind: 'done', email: m.email, listName: m.listName, optedOut: all, changed, preferencesUrl: this.preferencesUrl(m) };
  }

  /** GET /p: the subscriber's lists and their status. */
  async preferencesPage(token: string): Promise<Preferences | LinkProblem> {
    const m = await this.message('preferences', token);
    if ('kind' in m) return m;
    return this.preferences(m);
  }

  /**
   * POST /p: `list=<id>` for each list to stay on (or re-join), `all=on` to leave everything.
   * Only lists the subscriber already has a subscription to can be chosen: a preference page
   * never adds a list someone was not on, so unknown ids are ignored.
   */
  async updatePreferences(token: string, form: FormFields | null, who: Requester): Promise<Preferences | LinkProblem> {
    const m = await this.message('preferences', token);
    if ('kind' in m) return m;
    if (!form) return { kind: 'bad_form' };
    const wanted = new Set(form.get('list') ?? []);
    const all = single(form, 'all') !== undefined;
    const evidence = this.evidence(who, `preference centre${all ? ', all mail (global opt-out)' : ''}`, m);
    const changes: PreferenceChanges = { left: [], joined: [], refused: [], optedOut: all };
    const rejoin: ChoiceRow[] = [];
    const ownListLeft = await this.db.transaction(async (tx) => {
      const email = await this.lockSubscriber(tx, m.subscriberId);
      if (email === null) return null;
      const choices = await this.choices(tx, m.subscriberId);
      const leaving = choices.filter((c) => receiving(c.status) && (all || !wanted.has(c.id)));
      for (const c of leaving) await this.subscriptions.leave(tx, m.subscriberId, c.id, evidence);
      changes.left = leaving.map((c) => c.name);
      if (all) await this.optOut(tx, m.subscriberId, email, evidence);
      else rejoin.push(...choices.filter((c) => c.status === 'unsubscribed' && wanted.has(c.id)));
      return leaving.some((c) => c.id === m.listId);
    });
    if (ownListLeft === null) return { kind: 'erased' };
    // Re-joining goes through the ordinary subscribe path (opt-in rule, suppression check,
    // confirmation mail after its commit), one list at a time.
    for (const c of rejoin) {
      try {
        const list = await this.lists.require(c.id);
        const joined = await this.subscribers.subscribe(
          list,
          { subscriberId: m.subscriberId },
          { ...evidence, text: `preference centre: re-joined, campaign ${m.campaignId}` },
        );
        if (joined) changes.joined.push({ name: c.name, status: joined.status });
      } catch (e) {
        if (e instanceof AddressSuppressed) changes.refused.push(c.name);
        // The list or the person went meanwhile: nothing to re-join.
        else if (!(e instanceof AppError && e.code === 'not_found')) throw e;
      }
    }
    if (ownListLeft) await this.announce(m, who);
    return { ...(await this.preferences(m)), changes };
  }

  /**
   * The message a token names, and where its recipient stands on the list it came through.
   * A genuine token with no message row behind it (none is issued without one) counts as forged.
   */
  private async message(kind: 'unsubscribe' | 'preferences', token: string): Promise<Message | LinkProblem> {
    const ref = this.tokens.verify(kind, token);
    if (!ref) return { kind: 'invalid' };
    if (ref.subscriberId === TEST_RECIPIENT) return { kind: 'test' };
    const listId = await this.messages.listOf(ref.campaignId, ref.subscriberId);
    if (!listId) return { kind: 'invalid' };
    const email = await this.subscriberRows.emailOf(this.db.manager, ref.subscriberId);
    if (email === undefined) return { kind: 'invalid' };
    if (email === null) return { kind: 'erased' };
    const { listName, status } = await this.subscriptionRows.standing(ref.subscriberId, listId);
    return { ...ref, listId, listName, email, status };
  }

  private async preferences(m: Message): Promise<Preferences> {
    const [lists, reason] = await Promise.all([this.choices(this.db.manager, m.subscriberId), this.suppressions.reasonFor(this.db.manager, m.email)]);
    return { kind: 'preferences', email: m.email, lists: lists.map(({ id, name, status }) => ({ id, name, status })), suppressed: reason !== null };
  }

  private choices(tx: Queryable, subscriberId: string): Promise<ChoiceRow[]> {
    return this.subscriptionRows.choices(tx, subscriberId);
  }

  /**
   * Serialises concurrent posts for one subscriber (a mail client's one-click and the person's
   * own click), so "did this change anything" has one answer. null: erased in the meantime.
   */
  private async lockSubscriber(tx: Queryable, subscriberId: string): Promise<string | null> {
    return (await this.subscriberRows.lockEmail(tx, subscriberId)) ?? null;
  }

  /** Suppression (reason `unsubscribed`) and every subscription ends. true if anything changed. */
  private async optOut(tx: Queryable, subscriberId: string, email: string, evidence: ConsentEvidence): Promise<boolean> {
    const already = await this.suppressions.reasonFor(tx, email);
    if (!already) {
      await this.suppressions.suppress(tx, email, 'unsubscribed', 'global opt-out by the recipient');
      await this.subscriptions.recordOptOut(tx, subscriberId, evidence);
    }
    const left = await this.subscriptions.leaveAll(tx, subscriberId, evidence);
    return !already || left.length > 0;
  }

  /**
   * Tells the campaign counter. The change is already committed and is what the law asks for; a
   * Redis outage must not turn it into an error page (a retry would change nothing and so
   * announce nothing), so a failed append is logged, not thrown.
   */
  private async announce(m: Message, who: Requester): Promise<void> {
    try {
      await this.events.append({
        type: 'unsubscribe',
        at: Date.now(),
        campaignId: m.campaignId,
        subscriberId: m.subscriberId,
        ip: who.ip,
        userAgent: who.userAgent ?? undefined,
      });
    } catch (e) {
      this.logger.error(`unsubscribe event of campaign ${m.campaignId} not buffered: ${(e as Error).message}`);
    }
  }

  private evidence(who: Requester, how: string, m: Message): ConsentEvidence {
    return { source: 'link', text: `${how}, campaign ${m.campaignId}`, ip: who.ip, userAgent: who.userAgent };
  }

  private preferencesUrl(m: Message): string {
    return this.tokens.forMessage(m, 0).preferences;
  }
}

/** The one value of a field; undefined when absent. A repeated field counts as given. */
function single(form: FormFields, name: string): string | undefined {
  return form.get(name)?.[0];
}
