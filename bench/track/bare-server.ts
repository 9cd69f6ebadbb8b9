/**
 * The baseline of bench/track/run.ts: a bare Fastify 5 server that answers the two tracking routes
 * with what the platform answers — the same 43-byte GIF with the same headers, and a 302 to a fixed
 * URL — and does nothing else (no token check, no Redis, no Nest). Started by run.ts as its own
 * process: node -r ts-node/register/transpile-only bench/track/bare-server.ts, PORT from the
 * environment; it prints "listening" when ready.
 */
import Fastify from 'fastify';

/** The platform's pixel (src/tracking/tracking.controller.ts); run.ts checks that both answer the same bytes. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const DESTINATION = 'https://shop.example/a?x=1';

const app = Fastify();
app.get('/t/o/:token', (_req, reply) => {
  void reply.status(200).header('Content-Type', 'image/gif').header('Cache-Control', 'no-store, max-age=0').send(PIXEL);
});
app.get('/t/c/:token', (_req, reply) => {
  void reply.status(302).header('Location', DESTINATION).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send();
});
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(
  () => console.log('listening'),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)));
