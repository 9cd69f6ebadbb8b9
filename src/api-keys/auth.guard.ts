import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/errors';
import type { Scope } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { BASIC_CHALLENGE, PUBLIC_ROUTE, REQUIRED_SCOPE } from './auth.decorators';

/** What each scope allows: admin ⊃ write ⊃ read; posting customer events comes with write, or alone with `events:write`. */
const GRANTS: Record<Scope, Scope[]> = {
  admin: ['admin', 'write', 'read', 'events:write'],
  write: ['write', 'read', 'events:write'],
  read: ['read'],
  'events:write': ['events:write'],
};

/** Whether a key with these scopes may do what needs `needed`. */
export function grants(scopes: Scope[], needed: Scope): boolean {
  return scopes.some((s) => GRANTS[s]?.includes(needed));
}

/** Every route needs an API key unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = presentedKey(request.headers.authorization ?? '');
    if (!presented) throw this.unauthenticated(context, 'missing API key', 'send Authorization: Bearer <key>');
    const scopes = await this.keys.authenticate(presented);
    if (!scopes) throw this.unauthenticated(context, 'invalid API key', 'unknown or revoked key');
    const needed =
      this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
    if (!grants(scopes, needed)) {
      throw new AppError('forbidden', `this key lacks the ${needed} scope`, [{ field: 'scope', message: `needs ${needed}; key has ${scopes.join(', ')}` }]);
    }
    return true;
  }

  private unauthenticated(context: ExecutionContext, message: string, detail: string): AppError {
    // Webhook senders such as Amazon SNS send the credentials of their URL only after a 401 that asks for them.
    if (this.reflector.getAllAndOverride<boolean>(BASIC_CHALLENGE, [context.getHandler(), context.getClass()])) {
      void context.switchToHttp().getResponse<FastifyReply>().header('WWW-Authenticate', 'Basic realm="edm"');
    }
    return new AppError('unauthenticated', message, [{ field: 'Authorization', message: detail }]);
  }
}

/**
 * `Bearer <key>`, or HTTP Basic with the key as the password (or as the user when there is no
 * password): webhook senders cannot set headers, only put credentials in the URL they post to.
 */
export function presentedKey(header: string): string {
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (!/^Basic /i.test(header)) return '';
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? '' : decoded.slice(colon + 1) || decoded.slice(0, colon);
}
