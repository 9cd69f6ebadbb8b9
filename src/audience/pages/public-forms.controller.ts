import { Body, Controller, Get, Options, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../api-keys/auth.decorators';
import { linkNotRecognised, sendPage } from '../../common/html';
import { Accepts } from '../../common/request-input';
import type { MailingList } from '../audience.entities';
import { ConfirmationMailer } from '../confirmation-mailer';
import type { ConsentEvidence } from '../consent';
import { formAsset } from './form-assets';
import { confirmedPage, confirmExpiredPage, confirmPage, notConfirmedPage, signedUpPage, signUpPage } from './form-pages';
import { PublicFormsService, Requester } from './public-forms.service';
import { SubscriptionsService } from '../subscriptions.service';

/** What browsers post (the hosted page, a pasted form) and what scripts post (JSON, from allowed origins). */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/json'];

/**
 * Pages for people rather than programs: the list's hosted sign-up form and the double opt-in
 * link. No API key; the list id (form) or the signed token (confirm) is all there is. Errors on
 * these paths are pages too (the error filter), except for JSON posts, which get JSON.
 */
@ApiExcludeController()
@Public()
@Controller()
export class PublicFormsController {
  constructor(
    private readonly forms: PublicFormsService,
    private readonly subscriptions: SubscriptionsService,
    private readonly mailer: ConfirmationMailer,
  ) {}

  /** The widget's files, from our own origin (the pages' Content-Security-Policy allows nothing else). */
  @Get('subscribe/assets/:name')
  async asset(@Param('name') name: string, @Res() reply: FastifyReply): Promise<void> {
    const asset = formAsset(name);
    if (!asset) return sendPage(reply, linkNotRecognised());
    await reply
      .header('content-type', asset.contentType)
      .header('cache-control', 'public, max-age=86400')
      .header('x-content-type-options', 'nosniff')
      .send(asset.body);
  }

  @Get('subscribe/:listId')
  async page(@Param('listId') listId: string, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, signUpPage(await this.forms.formList(listId)));
  }

  /** A fresh proof-of-work challenge for the widget; never cached. */
  @Get('subscribe/:listId/challenge')
  async challenge(@Param('listId') listId: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const challenge = await this.forms.newChallenge(listId, requester(req));
    await allowOrigin(req, reply, await this.forms.formList(listId))
      .header('cache-control', 'no-store')
      .send(challenge);
  }

  /** CORS preflight of a JSON post from another site: only the list's allowed origins get an allowance. */
  @Options('subscribe/:listId')
  async preflight(@Param('listId') listId: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const list = await this.forms.formList(listId);
    await allowOrigin(req, reply, list)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', '600')
      .status(204)
      .send();
  }

  @Post('subscribe/:listId')
  @Accepts(FORM_TYPES)
  async subscribe(@Param('listId') listId: string, @Body() body: unknown, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const list = await this.forms.formList(listId);
    allowOrigin(req, reply, list);
    const form = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const done = await this.forms.signUp(list, form, requester(req));
    if (String(req.headers['content-type']).includes('json')) {
      await reply.status(200).send({ ok: true, confirmationRequired: done.confirmationRequired });
      return;
    }
    return sendPage(reply, signedUpPage(list, done.email, done.confirmationRequired));
  }

  /** Shows a button. Mail scanners follow links with GET, so GET never confirms anything. */
  @Get('confirm/:token')
  async confirmPage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    const claim = this.mailer.verify(token);
    if (claim === null) return sendPage(reply, linkNotRecognised());
    if (claim === 'expired') return sendPage(reply, confirmExpiredPage());
    return sendPage(reply, confirmPage(token));
  }

  @Post('confirm/:token')
  @Accepts([...FORM_TYPES, 'multipart/form-data'])
  async confirm(@Param('token') token: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const claim = this.mailer.verify(token);
    if (claim === null) return sendPage(reply, linkNotRecognised());
    if (claim === 'expired') return sendPage(reply, confirmExpiredPage());
    const status = await this.subscriptions.confirm(claim.subscriberId, claim.listId, evidence(req, 'form'));
    if (status === 'confirmed') return sendPage(reply, confirmedPage());
    if (status === 'unsubscribed') return sendPage(reply, notConfirmedPage());
    return sendPage(reply, linkNotRecognised());
  }
}

/** CORS for the list's allowed origins only; `Vary: Origin` so that no cache hands one site's answer to another. */
function allowOrigin(req: FastifyRequest, reply: FastifyReply, list: MailingList): FastifyReply {
  const origin = req.headers.origin;
  void reply.header('vary', 'Origin');
  if (origin && list.formOrigins.includes(origin)) void reply.header('access-control-allow-origin', origin);
  return reply;
}

function requester(req: FastifyRequest): Requester {
  return { ip: req.ip, userAgent: req.headers['user-agent']?.slice(0, 1000) ?? null };
}

function evidence(req: FastifyRequest, source: ConsentEvidence['source']): ConsentEvidence {
  return { source, ...requester(req) };
}
