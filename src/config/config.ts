import { createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const timeZone = z.string().refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Paris' });

/** Every setting the platform reads from the environment, validated once at boot. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  /** ROLE=all: processes `npm start` splits into (1: one process runs everything); default: the CPU cores. */
  PROCESSES: z.coerce.number().int().min(1).max(256).optional(),
  API_PROCESSES: z.coerce.number().int().min(1).max(256).optional(),
  WORKER_PROCESSES: z.coerce.number().int().min(1).max(256).optional(),
  /** How long the supervisor waits for its children to drain before it kills them. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** Node's own; read to know whether the worker processes' heap budget was set by hand. */
  NODE_OPTIONS: z.string().default(''),
  /** Internal: set by the supervisor in its children, which then leave the database and warnings to it. */
  SUPERVISED: z.literal('1').optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** Default: http://localhost:<PORT>. */
  PUBLIC_URL: z.string().url().optional(),
  TRUST_PROXY: z.string().default('false'),
  /** Who may read /metrics and /docs: `local` (clients on this machine), `key` (any API key) or `open`. */
  OPS_ACCESS: z.enum(['local', 'key', 'open']).default('local'),
  /** Serve /metrics and /docs on this port only (for a private network), not on PORT. */
  OPS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/edm'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]+$/)
    .default('edm'),
  APP_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ADMIN_API_KEY: z
    .string()
    .regex(/^edm_[A-Za-z0-9]{8}_[A-Za-z0-9]{32,}$/, 'must look like edm_XXXXXXXX_<32+ letters/digits>')
    .optional(),
  DATA_DIR: z.string().default('var'),
  SMTP_URL: z.string().url().optional(),
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(5),
  MAIL_FROM: z.string().default('EDM <no-reply@localhost>'),
  /** More named SMTP transports: {"bulk": {"url": "smtp://…", "pool": 10, "rate": 100}}. */
  TRANSPORTS: z.string().optional(),
  SMTP_RATE: z.coerce.number().positive().default(50),
  DKIM_DOMAIN: z.string().optional(),
  DKIM_SELECTOR: z.string().optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  UNSUBSCRIBE_MAILTO: z.string().email().optional(),
  POSTAL_ADDRESS: z.string().default(''),
  TEMPLATES_DIR: z.string().default('templates'),
  /** Saved segments' memberships are refreshed this often (and on demand). */
  SEGMENT_REFRESH_MINUTES: z.coerce.number().min(0.05).max(1440).default(5),
  /** Track events counted as purchases for RFM, comma-separated (with a revenue or value property). */
  PURCHASE_EVENTS: z.string().default('Order Completed'),
  CONFIRM_TOKEN_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .default(24 * 14),
  SEND_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  SEND_RETRY_BASE_MS: z.coerce.number().int().min(10).default(60_000),
  DISPATCH_JOBS: z.coerce.number().int().min(1).max(64).default(4),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Transactional mails sent at once per worker process, on their own queue: campaign dispatch never holds them up. */
  TRANSACTIONAL_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  JOURNEY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  JOURNEY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  JOURNEY_DATE_SCAN_MINUTES: z.coerce.number().min(0.05).max(1440).default(10),
  /** How often running A/B tests are looked at (the statistics stay valid however often). */
  AB_LOOK_SECONDS: z.coerce.number().min(0.5).max(86_400).default(300),
  IMPORT_BATCH_SIZE: z.coerce.number().int().min(10).max(50_000).default(10_000),
  IMPORT_MAX_ERRORS: z.coerce.number().int().min(0).default(10_000),
  /** Public sign-up form: posts allowed per client IP and per address within FORM_RATE_WINDOW_SECONDS. */
  FORM_RATE_LIMIT_IP: z.coerce.number().int().min(1).default(200),
  FORM_RATE_LIMIT_ADDRESS: z.coerce.number().int().min(1).default(5),
  FORM_RATE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(3600),
  DEFAULT_TIMEZONE: timeZone.default('UTC'),
  ATTRIBUTION_WINDOW_DAYS: z.coerce.number().positive().max(365).default(7),
  DEFAULT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
    .default('EUR'),
  SOFT_BOUNCE_LIMIT: z.coerce.number().int().min(1).default(3),
  INGEST_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(5_000),
  INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Customer events (Segment API): a messageId seen within this many days is a retry and is stored once. */
  CUSTOMER_EVENT_DEDUPE_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Bounce webhooks: the SNS topics SES notifications may come from (comma-separated ARNs); unset: any topic. */
  SES_TOPIC_ARNS: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+(\s*,\s*arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+)*$/,
      'must be comma-separated SNS topic ARNs (arn:aws:sns:<region>:<account>:<topic>)',
    )
    .optional(),
  /** SendGrid signed Event Webhook: the verification key (base64 DER or PEM of an ECDSA P-256 public key). */
  SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().optional(),
  /** Outgoing webhooks: allow endpoints on loopback, private and link-local addresses (development, tests). */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false']).default('false'),
  /** Outgoing webhooks: how long one POST may take. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** Outgoing webhooks: the first retry's delay, doubled each attempt (with jitter) up to WEBHOOK_RETRY_MAX_MS. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(30_000),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).default(3_600_000),
  /** Outgoing webhooks: how long an event is retried before it is given up (at least a day in production). */
  WEBHOOK_RETRY_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(72),
  /** Outgoing webhooks: an endpoint failing with no success for this long is disabled. */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(72),
  /** Outgoing webhooks: how often each worker looks for due deliveries, and how many it sends at once. */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  WEBHOOK_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(50),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.input<typeof envSchema>;

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  role: 'all' | 'api' | 'worker';
  /** ROLE=all: the process layout asked for; counts left unset are derived from the cores (src/supervisor.ts). */
  processes: { total?: number; api?: number; worker?: number; shutdownTimeoutMs: number; supervised: boolean; heapSetByUser: boolean };
  /** Fastify's trustProxy: false, true, a hop count, or addresses/CIDRs of the proxies. */
  http: { port: number; host: string; publicUrl: string; trustProxy: boolean | number | string; ops: { access: 'local' | 'key' | 'open'; port?: number } };
  database: { url: string; poolSize: number };
  redis: { url: string; prefix: string };
  secret: Buffer;
  adminApiKey?: string;
  dataDir: string;
  mail: {
    from: string;
    outboxDir: string;
    /** Always holds `default`: SMTP_URL, or the outbox when it is unset. */
    transports: Record<string, TransportConfig>;
    dkim?: { domainName: string; keySelector: string; privateKey: string };
    unsubscribeMailto?: string;
  };
  content: { templatesDir: string; postalAddress: string };
  sending: { batchSize: number; maxAttempts: number; retryBaseMs: number; dispatchJobs: number; workerConcurrency: number; transactionalConcurrency: number };
  audience: {
    confirmTokenTtlHours: number;
    importBatchSize: number;
    importMaxErrors: number;
    /** Sign-ups allowed per client IP and per address within `windowSeconds`, across all API processes. */
    formRateLimit: { perIp: number; perAddress: number; windowSeconds: number };
  };
  tracking: { attributionWindowHours: number; defaultCurrency: string; softBounceLimit: number; ingestBatchSize: number; ingestConcurrency: number };
  /** Customer events: how long a messageId is remembered to make a retry harmless. */
  customers: { dedupeDays: number };
  /** Segments: how often saved segments' memberships are refreshed, and which track events are purchases (RFM). */
  segments: { refreshMinutes: number; purchaseEvents: string[] };
  /** Journeys: enrolments per engine transaction, engine jobs at once per process, and how often yearly date triggers enrol ahead. */
  journeys: { batchSize: number; concurrency: number; dateScanMinutes: number };
  abTests: { lookSeconds: number };
  /** Bounce webhooks: accepted SNS topics (empty: any) and the SendGrid verification key as PEM (unset: unsigned). */
  webhooks: { sesTopicArns: string[]; sendgridPublicKey?: string };
  /** Outgoing webhooks: delivery timing, retries, when an endpoint is disabled, and whether private networks may be called. */
  outgoingWebhooks: {
    allowPrivateNetworks: boolean;
    timeoutMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    retryWindowMs: number;
    disableAfterMs: number;
    pollMs: number;
    batchSize: number;
  };
  defaultTimezone: string;
  logLevel: string;
  /** Messages worth showing once the logger exists (config is read before it). */
  warnings: string[];
}

export interface TransportConfig {
  /** smtp(s):// URL, or undefined for the .eml outbox. */
  url?: string;
  pool: number;
  /** Messages per second across all workers. */
  rate: number;
}

const transportSchema = z.record(
  z.string().regex(/^[a-z0-9_-]+$/i),
  z.object({ url: z.string().url(), pool: z.number().int().min(1).max(100).default(5), rate: z.number().positive().default(50) }).strict(),
);

export class ConfigError extends Error {}

export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  // Empty strings mean "unset", as in most .env tooling.
  const raw = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const warnings: string[] = [];
  const dataDir = resolve(e.DATA_DIR);
  const secret = resolveSecret(e.APP_SECRET, e.NODE_ENV, dataDir, warnings);
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  if (!publicUrl.startsWith('https://')) {
    warnings.push(`PUBLIC_URL ${publicUrl} is not https: fine for development, but one-click unsubscribe (RFC 8058) needs https in production`);
  }
  if (!e.POSTAL_ADDRESS) {
    warnings.push(
      "POSTAL_ADDRESS is not set: marketing mail must show the sender's postal address (CAN-SPAM); set it, or give each campaign its postalAddress",
    );
  }
  return {
    env: e.NODE_ENV,
    role: e.ROLE,
    processes: parseProcesses(e),
    http: { port: e.PORT, host: e.HOST, publicUrl, trustProxy: parseTrustProxy(e.TRUST_PROXY), ops: { access: e.OPS_ACCESS, port: e.OPS_PORT } },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    secret,
    adminApiKey: e.ADMIN_API_KEY,
    dataDir,
    mail: {
      from: e.MAIL_FROM,
      outboxDir: join(dataDir, 'outbox'),
      transports: { ...parseTransports(e.TRANSPORTS), default: { url: e.SMTP_URL, pool: e.SMTP_POOL_SIZE, rate: e.SMTP_RATE } },
      dkim: parseDkim(e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY),
      unsubscribeMailto: e.UNSUBSCRIBE_MAILTO,
    },
    content: { templatesDir: resolve(e.TEMPLATES_DIR), postalAddress: e.POSTAL_ADDRESS },
    sending: {
      batchSize: e.SEND_BATCH_SIZE,
      maxAttempts: e.SEND_MAX_ATTEMPTS,
      retryBaseMs: e.SEND_RETRY_BASE_MS,
      dispatchJobs: e.DISPATCH_JOBS,
      workerConcurrency: e.WORKER_CONCURRENCY,
      transactionalConcurrency: e.TRANSACTIONAL_CONCURRENCY,
    },
    audience: {
      confirmTokenTtlHours: e.CONFIRM_TOKEN_TTL_HOURS,
      importBatchSize: e.IMPORT_BATCH_SIZE,
      importMaxErrors: e.IMPORT_MAX_ERRORS,
      formRateLimit: { perIp: e.FORM_RATE_LIMIT_IP, perAddress: e.FORM_RATE_LIMIT_ADDRESS, windowSeconds: e.FORM_RATE_WINDOW_SECONDS },
    },
    tracking: {
      attributionWindowHours: Math.round(e.ATTRIBUTION_WINDOW_DAYS * 24),
      defaultCurrency: e.DEFAULT_CURRENCY,
      softBounceLimit: e.SOFT_BOUNCE_LIMIT,
      ingestBatchSize: e.INGEST_BATCH_SIZE,
      ingestConcurrency: e.INGEST_CONCURRENCY,
    },
    customers: { dedupeDays: e.CUSTOMER_EVENT_DEDUPE_DAYS },
    segments: {
      refreshMinutes: e.SEGMENT_REFRESH_MINUTES,
      purchaseEvents: e.PURCHASE_EVENTS.split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    },
    journeys: { batchSize: e.JOURNEY_BATCH_SIZE, concurrency: e.JOURNEY_CONCURRENCY, dateScanMinutes: e.JOURNEY_DATE_SCAN_MINUTES },
    abTests: { lookSeconds: e.AB_LOOK_SECONDS },
    webhooks: {
      sesTopicArns: e.SES_TOPIC_ARNS ? e.SES_TOPIC_ARNS.split(',').map((a) => a.trim()) : [],
      sendgridPublicKey: parseSendgridKey(e.SENDGRID_WEBHOOK_PUBLIC_KEY),
    },
    outgoingWebhooks: {
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'true',
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.WEBHOOK_RETRY_MAX_MS, e.WEBHOOK_RETRY_BASE_MS),
      retryWindowMs: Math.round(e.WEBHOOK_RETRY_HOURS * 3_600_000),
      disableAfterMs: Math.round(e.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000),
      pollMs: e.WEBHOOK_POLL_MS,
      batchSize: e.WEBHOOK_BATCH_SIZE,
    },
    defaultTimezone: e.DEFAULT_TIMEZONE,
    logLevel: e.LOG_LEVEL,
    warnings,
  };
}

/**
 * Production must be given a secret; development gets one generated once and
 * kept in DATA_DIR, so signed links stay valid across restarts.
 */
function resolveSecret(given: string | undefined, env: string, dataDir: string, warnings: string[]): Buffer {
  if (given) return Buffer.from(given, 'utf8');
  if (env === 'production') throw new ConfigError('Invalid configuration:\n  APP_SECRET: required when NODE_ENV=production');
  const file = join(dataDir, 'app-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    warnings.push(`APP_SECRET is not set: generated one in ${file} (set APP_SECRET in production)`);
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

function parseTransports(json: string | undefined): Record<string, TransportConfig> {
  if (!json) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new ConfigError(`Invalid configuration:\n  TRANSPORTS: not JSON (${(e as Error).message})`);
  }
  const parsed = transportSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  TRANSPORTS.${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** DKIM needs all three settings; the key may be given inline (PEM) or as a file path. */
function parseDkim(domainName?: string, keySelector?: string, key?: string): AppConfig['mail']['dkim'] {
  const given = [domainName, keySelector, key].filter(Boolean).length;
  if (given === 0) return undefined;
  if (given < 3) throw new ConfigError('Invalid configuration:\n  DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY: set all three or none');
  const privateKey = key!.includes('-----BEGIN') ? key!.replace(/\\n/g, '\n') : readFileSync(key!, 'utf8');
  return { domainName: domainName!, keySelector: keySelector!, privateKey };
}

/**
 * SendGrid shows the key as base64 DER (SubjectPublicKeyInfo); PEM is accepted too. Checked here so
 * that a pasted-wrong key stops the process instead of rejecting every webhook post later.
 */
function parseSendgridKey(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const text = value.replace(/\\n/g, '\n').trim();
    const key = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not an ECDSA P-256 key');
    return key.export({ format: 'pem', type: 'spki' }).toString();
  } catch (e) {
    throw new ConfigError(
      `Invalid configuration:\n  SENDGRID_WEBHOOK_PUBLIC_KEY: must be an ECDSA P-256 public key, base64 DER or PEM (${(e as Error).message})`,
    );
  }
}

function parseProcesses(e: z.output<typeof envSchema>): AppConfig['processes'] {
  if (e.PROCESSES === 1 && (e.API_PROCESSES || e.WORKER_PROCESSES)) {
    throw new ConfigError('Invalid configuration:\n  PROCESSES: 1 runs everything in one process; unset API_PROCESSES and WORKER_PROCESSES, or PROCESSES');
  }
  return {
    total: e.PROCESSES,
    api: e.API_PROCESSES,
    worker: e.WORKER_PROCESSES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    supervised: e.SUPERVISED === '1',
    heapSetByUser: /max-old-space-size/.test(e.NODE_OPTIONS),
  };
}

function parseTrustProxy(v: string): boolean | number | string {
  if (v === 'true' || v === 'false') return v === 'true';
  return /^\d+$/.test(v) ? Number(v) : v;
}

export function isTimeZone(value: string): boolean {
  return normalizeTimeZone(value) !== null;
}

/** The canonical IANA name for a zone (case fixed), or null when unknown. */
export function normalizeTimeZone(value: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
