import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../api-keys/auth.decorators';
import { sendPage } from '../../common/html';
import { Accepts } from '../../common/request-input';
import { preferencesPage, unsubscribedPage, unsubscribeFormPage } from './preference-pages';
import { FormFields, PreferencesService, Requester } from './preferences.service';

/** What browsers and mail clients post (RFC 8058 allows multipart); JSON for scripts. */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'];

/** A one-click post is one short field; the preference form one field per list. */
const MULTIPART_LIMITS = { fields: 1000, fieldNameSize: 100, fieldSize: 1000, files: 0, parts: 1000 };

/**
 * The unsubscribe link of every campaign mail (`List-Unsubscribe`, RFC 8058) and the preference
 * centre. No API key, no cookie, no CSRF token: the signed message token is the credential, and
 * a mail client's one-click POST has nothing else to send.
 */
@ApiExcludeController()
@Public()
@Controller()
export class UnsubscribeController {
  constructor(private readonly preferences: PreferencesService) {}

  /** A page with a button: mail scanners fetch links with GET, so GET unsubscribes nobody. */
  @Get('u/:token')
  async unsubscribePage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, unsubscribeFormPage(token, await this.preferences.unsubscribePage(token)));
  }

  /** One-click (urlencoded or multipart `List-Unsubscribe=One-Click`) or the page's form. 200, never a redirect. */
  @Post('u/:token')
  @Accepts(FORM_TYPES)
  async unsubscribe(@Param('token') token: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, unsubscribedPage(await this.preferences.unsubscribe(token, await readForm(req), requester(req))));
  }

  @Get('p/:token')
  async preferencesPage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, preferencesPage(token, await this.preferences.preferencesPage(token)));
  }

  @Post('p/:token')
  @Accepts(FORM_TYPES)
  async updatePreferences(@Param('token') token: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return sendPage(reply, preferencesPage(token, await this.preferences.updatePreferences(token, await readForm(req), requester(req))));
  }
}

/**
 * The posted fields, whatever the encoding: urlencoded and JSON bodies arrive parsed, multipart
 * is read here (RFC 8058 allows it, and some mail providers use it). null when the body is not
 * a flat form of strings, or the multipart body is malformed or carries a file.
 */
async function readForm(req: FastifyRequest): Promise<FormFields | null> {
  const fields = new Map<string, string[]>();
  const add = (name: string, value: string) => fields.set(name, [...(fields.get(name) ?? []), value]);
  if (req.isMultipart()) {
    try {
      for await (const part of req.parts({ limits: MULTIPART_LIMITS })) {
        if (part.type !== 'field' || typeof part.value !== 'string') return null;
        add(part.fieldname, part.value);
      }
    } catch {
      return null;
    }
    return fields;
  }
  const body: unknown = req.body;
  if (body === undefined || body === null) return fields;
  if (typeof body !== 'object' || Array.isArray(body)) return null;
  for (const [name, value] of Object.entries(body)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (!values.every((v): v is string => typeof v === 'string')) return null;
    values.forEach((v) => add(name, v));
  }
  return fields;
}

function requester(req: FastifyRequest): Requester {
  return { ip: req.ip, userAgent: req.headers['user-agent']?.slice(0, 1000) ?? null };
}
