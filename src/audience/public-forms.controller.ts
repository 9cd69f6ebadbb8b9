import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../api-keys/auth.decorators';
import { normalizeEmail } from '../common/email';
import { AppError } from '../common/errors';
import { escapeHtml, page } from '../common/html';
import { idParam } from '../common/uuid';
import { ConfirmationMailer } from './confirmation-mailer';
import type { ConsentEvidence } from './consent';
import { ListsService } from './lists.service';
import { SubscribersService } from './subscribers.service';
import { SubscriptionsService } from './subscriptions.service';

interface FormBody {
  email?: unknown;
  name?: unknown;
  consentText?: unknown;
}

/**
 * Pages for people rather than programs: the public subscribe form and the double opt-in link.
 * No API key; the list id (form) or the signed token (confirm) is all there is.
 */
@ApiExcludeController()
@Public()
@Controller()
export class PublicFormsController {
  constructor(
    private readonly lists: ListsService,
    private readonly subscribers: SubscribersService,
    private readonly subscriptions: SubscriptionsService,
    private readonly mailer: ConfirmationMailer,
  ) {}

  /**
   * A form post (urlencoded or JSON). The answer is the same whether or not the address is
   * suppressed or already subscribed, so the form reveals nothing about anyone.
   */
  @Post('subscribe/:listId')
  async subscribe(@Param('listId', idParam('List')) listId: string, @Body() body: FormBody, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const asJson = !String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
    const list = await this.lists.require(listId);
    const email = normalizeEmail(body?.email);
    if (!email) {
      if (asJson) throw AppError.invalid('email', 'must be a valid e-mail address');
      return html(reply, 400, page('Please check your address', `<p>“${escapeHtml(String(body?.email ?? ''))}” is not a valid e-mail address. Go back and try again.</p>`));
    }
    const name = typeof body.name === 'string' ? body.name.slice(0, 500) : undefined;
    const text = typeof body.consentText === 'string' ? body.consentText.slice(0, 5000) : null;
    await this.subscribers.subscribe(list, { email, name }, { ...evidence(req, 'form'), text }, true);
    const confirmationRequired = list.optIn === 'double';
    if (asJson) {
      await reply.status(200).send({ ok: true, confirmationRequired });
      return;
    }
    const message = confirmationRequired
      ? `<p>We have sent a confirmation link to <strong>${escapeHtml(email)}</strong>. Open it to finish subscribing to ${escapeHtml(list.name)}.</p>`
      : `<p>You are subscribed to ${escapeHtml(list.name)}.</p>`;
    return html(reply, 200, page(confirmationRequired ? 'Check your inbox' : 'Thank you', message));
  }

  /** Shows a button. Mail scanners follow links with GET, so GET never confirms anything. */
  @Get('confirm/:token')
  async confirmPage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    const claim = this.mailer.verify(token);
    if (claim === null) return html(reply, 404, page('Link not recognised', '<p>This confirmation link is not valid. Please subscribe again.</p>'));
    if (claim === 'expired') return html(reply, 410, page('Link expired', '<p>This confirmation link has expired. Please subscribe again.</p>'));
    return html(
      reply,
      200,
      page('Confirm your subscription', `<form method="post" action="/confirm/${escapeHtml(token)}"><p>One click to confirm you want to receive our mail.</p><button type="submit">Confirm my subscription</button></form>`),
    );
  }

  @Post('confirm/:token')
  async confirm(@Param('token') token: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const claim = this.mailer.verify(token);
    if (claim === null) return html(reply, 404, page('Link not recognised', '<p>This confirmation link is not valid. Please subscribe again.</p>'));
    if (claim === 'expired') return html(reply, 410, page('Link expired', '<p>This confirmation link has expired. Please subscribe again.</p>'));
    const status = await this.subscriptions.confirm(claim.subscriberId, claim.listId, evidence(req, 'form'));
    if (status === 'confirmed') return html(reply, 200, page('Subscription confirmed', '<p>Thank you: your subscription is confirmed.</p>'));
    if (status === 'unsubscribed') return html(reply, 409, page('Not confirmed', '<p>You unsubscribed after this link was sent, so it no longer applies. Subscribe again if you wish.</p>'));
    return html(reply, 404, page('Link not recognised', '<p>This subscription no longer exists.</p>'));
  }
}

function evidence(req: FastifyRequest, source: ConsentEvidence['source']): ConsentEvidence {
  return { source, ip: req.ip, userAgent: req.headers['user-agent']?.slice(0, 1000) ?? null };
}

async function html(reply: FastifyReply, status: number, body: string): Promise<void> {
  await reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}
