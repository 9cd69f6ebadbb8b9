import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/errors';
import type { Scope } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { PUBLIC_ROUTE, REQUIRED_SCOPE } from './auth.decorators';

const GRANTS: Record<Scope, Scope[]> = { admin: ['admin', 'write', 'read'], write: ['write', 'read'], read: ['read'] };

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
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!presented) throw new AppError('unauthenticated', 'missing API key', [{ field: 'Authorization', message: 'send Authorization: Bearer <key>' }]);
    const scopes = await this.keys.authenticate(presented);
    if (!scopes) throw new AppError('unauthenticated', 'invalid API key', [{ field: 'Authorization', message: 'unknown or revoked key' }]);
    const needed =
      this.reflector.getAllAndOverride<Scope>(REQUIRED_SCOPE, targets) ??
      (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
    if (!scopes.some((s) => GRANTS[s].includes(needed))) {
      throw new AppError('forbidden', `this key lacks the ${needed} scope`, [{ field: 'scope', message: `needs ${needed}; key has ${scopes.join(', ')}` }]);
    }
    return true;
  }
}
