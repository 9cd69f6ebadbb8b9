import pino from 'pino';
import { AppError } from './common/errors';
import { loadConfig } from './config/config';
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
    expect(bad.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: 'token: is not valid', details: [{ field: 'token', message: 'is not valid' }] });
    expect(logged).toHaveLength(0);

    const down = await lane.inject({ method: 'GET', url: '/t/down' });
    expect(down.statusCode).toBe(500);
    expect(down.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', details: [] });
    expect(logged).toEqual([expect.objectContaining({ msg: 'public lane request failed', url: '/t/down' })]);
    await lane.close();
  });
});
