import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';

/** Route config flag, `@RouteConfig({ [RAW_BODY]: true })`: keep the exact bytes of the request body. */
export const RAW_BODY = 'edmRawBody';

const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/**
 * Signed webhooks sign the bytes they sent, which re-serialised JSON does not reproduce. Fastify
 * has one body parser per content type for the whole app, so instead of replacing the JSON parser
 * everywhere, a preParsing hook reads the body of the flagged routes only and hands the usual
 * parsers a copy: every other route parses exactly as before.
 */
export function keepRawBodies(fastify: FastifyInstance): void {
  // Callback style: every request passes through here, and the others (pixels, clicks) go on at once.
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    if (!(request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[RAW_BODY]) return done(null, payload);
    readRaw(request, payload).then(
      (copy) => done(null, copy),
      (e: Error) => done(e),
    );
  });
}

async function readRaw(request: FastifyRequest, payload: AsyncIterable<Buffer>): Promise<Readable> {
  const limit = request.routeOptions.bodyLimit ?? 1 << 20;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('Request body is too large'), { statusCode: 413 });
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks);
  rawBodies.set(request, raw);
  // Fastify compares this with Content-Length, as it would have for the original stream.
  return Object.assign(Readable.from([raw]), { receivedEncodedLength: raw.length });
}

/** The body's bytes on a RAW_BODY route (empty when the request had none). */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return rawBodies.get(request) ?? Buffer.alloc(0);
}
