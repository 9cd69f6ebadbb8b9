import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createServer, Server } from 'node:http';
import { grants, presentedKey } from '../api-keys/auth.guard';
import type { ApiKeysService } from '../api-keys/api-keys.service';
import { AppError } from '../common/errors';
import type { AppConfig } from '../config/config';

/** The operators' pages: Prometheus metrics and the API documentation. */
const OPS_PATHS = /^\/(metrics|docs)(\/|-json|\?|$)/;

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/**
 * Who may read /metrics and /docs (OPS_ACCESS): clients on this machine (`local`, the default;
 * behind a proxy set TRUST_PROXY, or every request looks local), anyone with an API key (`key`),
 * or anyone (`open`). With OPS_PORT they are served on that port only. Refused requests get a 404
 * (`local`, wrong port: nothing to see here) or a 401 (`key`).
 */
export function guardOpsRoutes(fastify: FastifyInstance, config: AppConfig, keys: () => ApiKeysService): void {
  const { access, port } = config.http.ops;
  fastify.addHook('onRequest', async (req: FastifyRequest) => {
    if (!OPS_PATHS.test(req.url)) return;
    if (port !== undefined && req.socket.localPort !== port) throw hidden(req);
    if (access === 'open') return;
    if (access === 'local') {
      if (!isLoopback(req.ip)) throw hidden(req);
      return;
    }
    const presented = presentedKey(req.headers.authorization ?? '');
    const scopes = presented ? await keys().authenticate(presented) : null;
    if (!scopes) {
      throw new AppError('unauthenticated', 'metrics and docs need an API key', [{ field: 'Authorization', message: 'send Authorization: Bearer <key>' }]);
    }
    // An events:write key may be shipped inside an app: it reads nothing.
    if (!grants(scopes, 'read')) {
      throw new AppError('forbidden', 'metrics and docs need a key with the read scope', [{ field: 'Authorization', message: `key has ${scopes.join(', ')}` }]);
    }
  });
}

function hidden(req: FastifyRequest): AppError {
  return new AppError('not_found', `Cannot ${req.method} ${req.url.split('?')[0]}`, [{ field: 'path', message: 'no such page' }]);
}

/** OPS_PORT: a second listener that hands its requests to the same server (the guard above tells the ports apart). */
export function listenOps(server: Server, config: AppConfig): Promise<Server | null> {
  const port = config.http.ops.port;
  if (port === undefined) return Promise.resolve(null);
  const ops = createServer((req, res) => server.emit('request', req, res));
  return new Promise((resolve, reject) => {
    ops.once('error', reject);
    ops.listen(port, config.http.host, () => resolve(ops));
  });
}
