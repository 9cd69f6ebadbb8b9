import pino from 'pino';
import { AppError } from './common/errors';
import { loadConfig } from './config/config';
import { registry } from './observability/metrics';
import { createPublicLane } from './public-lane';

describe('public lane', () => {
  it('answers failures in the API error shape and logs only server errors', async () => {
    const logged: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const lane = createPublicLane(loadConfig({ APP_SECRET: 'l'.repeat(40) }), logger);
    lane.get('/t/bad', () => Promise.reject(AppError.invalid('token', 'is not valid')));
    lane.get('/t/down', () => Promise.reject(new Error('redis: connection refused')));
    await lane.ready();

    const bad = await lane.inject({ method: 'GET', url: '/t/bad' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'token: is not valid',
      details: [{ field: 'token', message: 'is not valid' }],
    });
    expect(logged).toHaveLength(0);

    const down = await lane.inject({ method: 'GET', url: '/t/down' });
    expect(down.statusCode).toBe(500);
    expect(down.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', details: [] });
    expect(logged).toEqual([expect.objectContaining({ msg: 'public lane request failed', url: '/t/down' })]);
    await lane.close();
  });

  it('observes every answer in the request metrics once: routes, their HEAD, failures and unknown paths', async () => {
    const lane = createPublicLane(loadConfig({ APP_SECRET: 'l'.repeat(40) }), pino({ level: 'silent' }));
    lane.get('/t/lane-ok/:token', (_req, reply) => reply.status(302).header('Location', 'https://shop.example/').send());
    lane.get('/t/lane-bad', () => Promise.reject(AppError.invalid('token', 'is not valid')));
    await lane.ready();
    const count = async (labels: string) => {
      const text = await registry.getSingleMetricAsString('edm_http_request_duration_seconds');
      const line = text.split('\n').find((l) => l.startsWith(`edm_http_request_duration_seconds_count{${labels}}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const labels = [
      'method="GET",route="/t/lane-ok/:token",status="302"',
      'method="HEAD",route="/t/lane-ok/:token",status="302"',
      'method="GET",route="/t/lane-bad",status="400"',
      'method="GET",route="unmatched",status="404"',
    ];
    const before = await Promise.all(labels.map(count));
    for (const [method, url] of [
      ['GET', '/t/lane-ok/a'],
      ['GET', '/t/lane-ok/b'],
      ['HEAD', '/t/lane-ok/c'],
      ['GET', '/t/lane-bad'],
      ['GET', '/t/lane-none'],
    ] as const) {
      await lane.inject({ method, url });
    }
    const after = await Promise.all(labels.map(count));
    expect(after.map((n, i) => n - before[i])).toEqual([2, 1, 1, 1]);
    await lane.close();
  });
});
