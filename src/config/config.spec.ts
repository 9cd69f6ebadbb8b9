import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, normalizeTimeZone } from './config';

describe('loadConfig', () => {
  const made: string[] = [];
  const dataDir = () => {
    made.push(mkdtempSync(join(tmpdir(), 'edm-config-')));
    return made[made.length - 1];
  };
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('runs on defaults that fit a developer machine', () => {
    const c = loadConfig({ DATA_DIR: dataDir() });
    expect(c.database.url).toBe('postgres://postgres@127.0.0.1:5432/edm');
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.http).toMatchObject({ port: 3000, publicUrl: 'http://localhost:3000' });
    expect(c.role).toBe('all');
    expect(c.mail.transports.default.url).toBeUndefined();
  });

  it('builds the public URL from PORT when it is not set, and warns about a missing postal address', () => {
    const c = loadConfig({ DATA_DIR: dataDir(), PORT: '8080' });
    expect(c.http.publicUrl).toBe('http://localhost:8080');
    expect(c.warnings.join()).toContain('POSTAL_ADDRESS is not set');
    const set = loadConfig({ DATA_DIR: dataDir(), PORT: '8080', PUBLIC_URL: 'https://news.example.com/', POSTAL_ADDRESS: '1 Main St' });
    expect(set.http.publicUrl).toBe('https://news.example.com');
    expect(set.warnings.join()).not.toContain('POSTAL_ADDRESS');
  });

  it('generates a development secret once and keeps it', () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.warnings.join()).toContain('APP_SECRET is not set');
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.secret.equals(first.secret)).toBe(true);
    expect(readFileSync(join(dir, 'app-secret'), 'utf8')).toHaveLength(64);
  });

  it('requires APP_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() })).toThrow(/APP_SECRET: required/);
  });

  it('names every bad variable', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'nope', ROLE: 'boss', DEFAULT_TIMEZONE: 'Atlantis/Capital', APP_SECRET: 'short' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    for (const name of ['PORT', 'DATABASE_URL', 'ROLE', 'DEFAULT_TIMEZONE', 'APP_SECRET']) expect(message).toContain(`${name}:`);
  });

  it('keeps outgoing webhooks off private networks and retried for days unless told otherwise', () => {
    const c = loadConfig({ DATA_DIR: dataDir() });
    expect(c.outgoingWebhooks).toMatchObject({ allowPrivateNetworks: false, retryWindowMs: 72 * 3_600_000, disableAfterMs: 72 * 3_600_000 });
    const short = loadConfig({
      DATA_DIR: dataDir(),
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_HOURS: '0.002',
      WEBHOOK_DISABLE_AFTER_HOURS: '0.001',
    });
    expect(short.outgoingWebhooks).toMatchObject({ allowPrivateNetworks: true, retryWindowMs: 7_200, disableAfterMs: 3_600 });
    expect(() => loadConfig({ DATA_DIR: dataDir(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes' })).toThrow('WEBHOOK_ALLOW_PRIVATE_NETWORKS:');
  });

  it('normalises time zone names and refuses unknown ones', () => {
    expect(normalizeTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(normalizeTimeZone('UTC')).toBe('UTC');
    expect(normalizeTimeZone('Nowhere/Town')).toBeNull();
  });
});
