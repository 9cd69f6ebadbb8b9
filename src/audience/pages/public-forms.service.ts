import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { normalizeEmail } from '../../common/email';
import { AppError } from '../../common/errors';
import { FormNotEmbeddable } from '../audience.errors';
import { RateLimiter } from '../../common/rate-limit';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { MailingList } from '../audience.entities';
import { ChallengeVerdict, FormChallenge } from './form-challenge';
import { embedSnippet, HONEYPOT } from './form-pages';
import { ListsService } from '../lists.service';
import { SubscribersService } from '../subscribers.service';

export interface Requester {
  ip: string;
  userAgent: string | null;
}

export interface SignedUp {
  list: MailingList;
  email: string;
  confirmationRequired: boolean;
}

const CHALLENGE_PROBLEMS: Record<Exclude<ChallengeVerdict, 'ok'>, string> = {
  missing: 'the form was sent without its challenge answer (the page solves it in the browser, which needs JavaScript)',
  invalid: 'the challenge answer is not valid for this form',
  expired: 'the challenge expired: reload the page and send the form again',
  reused: 'this challenge answer was already used: reload the page and send the form again',
};

/**
 * Sign-ups through a list's public form, which anyone on the internet can post to. In order,
 * cheapest first: the form must be on; a limit per client IP; the honeypot; the address; the
 * proof-of-work challenge; a limit per address (counted only after the challenge, so that nobody
 * can use up someone else's allowance without doing the work). The consent wording recorded is the
 * list's own, never what the post says. The answer is the same whether the address was new,
 * already subscribed or suppressed: the form reveals nothing about anyone.
 */
@Injectable()
export class PublicFormsService {
  constructor(
    private readonly lists: ListsService,
    private readonly subscribers: SubscribersService,
    private readonly challenge: FormChallenge,
    private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The list behind an enabled form; anything else is the same 404. */
  async formList(listId: string): Promise<MailingList> {
    const list = await this.lists.require(listId).catch(() => null);
    if (!list?.formEnabled) throw AppError.notFound('Sign-up form', listId);
    return list;
  }

  /** The HTML a site owner pastes to show the list's form (see `embedSnippet`). */
  async embedSnippet(listId: string, kind: 'iframe' | 'form'): Promise<string> {
    const list = await this.lists.require(listId);
    if (!list.formEnabled) {
      throw new FormNotEmbeddable(`list ${listId} has its public form off`, 'publicForm.enabled', 'turn the public form on first');
    }
    if (kind === 'form' && list.formChallenge) {
      throw new FormNotEmbeddable(
        `list ${listId} requires the proof-of-work challenge, which a plain form on another site cannot run: embed the iframe`,
        'publicForm.challenge',
        'a plain form needs the challenge off; use kind=iframe',
      );
    }
    return embedSnippet(list, this.lists.formUrl(list.id), kind);
  }

  async newChallenge(listId: string, requester: Requester): Promise<object> {
    const list = await this.formList(listId);
    await this.limit(`form:challenge:ip:${requester.ip}`, this.config.audience.formRateLimit.perIp * 5, 'ip');
    return this.challenge.create(list.id);
  }

  async signUp(list: MailingList, form: Record<string, unknown>, requester: Requester): Promise<SignedUp> {
    const { perIp, perAddress } = this.config.audience.formRateLimit;
    await this.limit(`form:ip:${requester.ip}`, perIp, 'ip');
    const rawEmail = text(form.email);
    const email = normalizeEmail(rawEmail);
    const confirmationRequired = list.optIn === 'double';
    if (text(form[HONEYPOT])) return { list, email: email ?? rawEmail ?? '', confirmationRequired };
    if (!email) throw AppError.invalid('email', `“${(rawEmail ?? '').slice(0, 254)}” is not a valid e-mail address`);
    if (list.formChallenge) {
      const verdict = await this.challenge.verify(list.id, form.altcha);
      if (verdict !== 'ok') throw AppError.invalid('altcha', CHALLENGE_PROBLEMS[verdict]);
    }
    await this.limit(`form:address:${createHash('sha256').update(email).digest('base64url')}`, perAddress, 'email');
    const name = text(form.name)?.trim().slice(0, 200) || undefined;
    await this.subscribers.subscribe(
      list,
      { email, name },
      { source: 'form', ip: requester.ip, userAgent: requester.userAgent, text: list.consentText, version: list.consentText ? list.consentVersion : null },
      true,
    );
    return { list, email, confirmationRequired };
  }

  private async limit(key: string, limit: number, field: 'ip' | 'email'): Promise<void> {
    const verdict = await this.limiter.hit(key, limit, this.config.audience.formRateLimit.windowSeconds);
    if (!verdict.allowed) {
      const who = field === 'ip' ? 'from your network' : 'for this address';
      throw AppError.rateLimited(field, `Too many sign-ups ${who}. Please try again in ${minutes(verdict.retryAfterSeconds)}.`, verdict.retryAfterSeconds);
    }
  }
}

/** A form field as one string: repeated fields and anything else that is not text count as absent. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function minutes(seconds: number): string {
  return seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
