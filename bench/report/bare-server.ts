/**
 * The baseline of bench/report/run.ts: a bare Fastify 5 server whose GET /v1/campaigns/:id/report
 * runs the one query a report cannot do without — `SELECT * FROM campaign_stats WHERE campaign_id = $1`
 * with pg — and answers a static HTML page (no auth, no Nest, no charts). Started by run.ts as its own
 * process: node -r ts-node/register/transpile-only bench/report/bare-server.ts, PORT and DATABASE_URL
 * from the environment; it prints "listening" when ready.
 */
import Fastify from 'fastify';
import { Pool } from 'pg';

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report</title></head><body><h1>Report</h1><p>${'Static. '.repeat(500)}</p></body></html>`;

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
const app = Fastify();
app.get<{ Params: { id: string } }>('/v1/campaigns/:id/report', async (req, reply) => {
  const { rows } = await pool.query('SELECT * FROM campaign_stats WHERE campaign_id = $1', [req.params.id]);
  if (!rows.length) return reply.status(404).send();
  return reply.type('text/html; charset=utf-8').send(PAGE);
});
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(
  () => console.log('listening'),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void app.close().then(() => pool.end().then(() => process.exit(0))));
