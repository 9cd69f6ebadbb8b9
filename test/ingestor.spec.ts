import Redis from 'ioredis';
import { eventually, startTestApp } from './support/test-app';

describe('event ingestor consumers', () => {
  it('joins the group with INGEST_CONCURRENCY consumers, and leaves it on shutdown when nothing is pending', async () => {
    const t = await startTestApp({ INGEST_CONCURRENCY: '3' });
    const redis = new Redis(t.config.redis.url);
    const stream = `${t.config.redis.prefix}:events`;
    const consumers = async () => ((await redis.call('XINFO', 'CONSUMERS', stream, 'ingest')) as unknown[]).length;
    try {
      await eventually(async () => ((await consumers()) === 3 ? true : undefined)); // each joins with its first XREADGROUP
      await t.app.close();
      expect(await consumers()).toBe(0);
    } finally {
      redis.disconnect();
      await t.close();
    }
  });
});
