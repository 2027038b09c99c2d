import { hkdfSync } from 'node:crypto';
import { z } from 'zod';

/**
 * The one place that reads the environment. Every option has a default (or is required) and a
 * comment; a bad value fails start-up with one message listing every bad variable.
 */
const schema = z.object({
  // Log level for pino: fatal, error, warn, info, debug, trace, silent.
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Redis for BullMQ queues, locks and rate limits.
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379'),
  // The API's Redis commands give up after this long (it then answers 503); workers wait.
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  // MongoDB (or FerretDB) connection string, database name included.
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .default('mongodb://127.0.0.1:27017/qbo_member_sync'),
  // Prefix of every BullMQ key; use `{name}` to keep a Redis Cluster hash slot per deployment.
  QUEUE_PREFIX: z.string().min(1).default('qms'),
  // 32-byte key (64 hex chars or base64) that encrypts OAuth tokens at rest (AES-256-GCM).
  TOKEN_ENCRYPTION_KEY: z
    .string({ required_error: 'is required (32 bytes as 64 hex chars or base64)' })
    .refine((v) => decodeKey(v) !== null, 'must be 32 bytes as 64 hex chars or base64'),
  // Intuit app credentials; only needed to connect or refresh tokens.
  QBO_CLIENT_ID: z.string().default(''),
  QBO_CLIENT_SECRET: z.string().default(''),
  // Which Intuit environment new connections use.
  QBO_ENVIRONMENT: z.enum(['sandbox', 'production']).default('sandbox'),
  // API base without /v3; defaults to Intuit's host for QBO_ENVIRONMENT. Point at the QBO sandbox in tests.
  QBO_API_BASE: z.string().url().optional(),
  // OAuth endpoints; default to Intuit's.
  QBO_AUTHORIZE_URL: z.string().url().default('https://appcenter.intuit.com/connect/oauth2'),
  QBO_TOKEN_URL: z.string().url().default('https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer'),
  QBO_REVOKE_URL: z.string().url().default('https://developer.api.intuit.com/v2/oauth2/tokens/revoke'),
  // Where Intuit redirects after consent.
  QBO_REDIRECT_URI: z.string().url().default('http://localhost:3000/qbo/callback'),
  // Minor version sent on every request (Intuit answers everything as 75 since 2025-08).
  QBO_MINOR_VERSION: z.coerce.number().int().min(1).default(75),
  // Hard deadline for one QBO HTTP call, in milliseconds.
  QBO_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(20_000),
  // Rows per query page (Intuit's maximum is 1000).
  QBO_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(1000),
  // Sync interval for organisations that did not set their own, in minutes.
  SYNC_DEFAULT_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(60),
  // Parallel sync jobs per worker process (different orgs; one org never runs twice at once).
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  // How long one sync may hold the per-org lock before another worker may take it, in ms.
  SYNC_LOCK_TTL_MS: z.coerce.number().int().min(1000).default(120_000),
  // BullMQ job lock of the workers, in ms: a worker that dies (crash, SIGKILL, lost host)
  // holding a job gives it back to the queue about this long after its last lock renewal.
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(10 * 60_000).default(30_000),
  // How long a stopping worker lets active jobs finish; then it exits and other workers take
  // the jobs over once their locks expire (as after a crash). A second signal stops at once.
  WORKER_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(10 * 60_000).default(45_000),
  // How often each worker looks for jobs whose lock expired (stalled) and hands them back, in ms.
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(10 * 60_000).default(30_000),
  // SMTP server for invitation e-mails: smtp://[user:pass@]host:port or smtps://… (pooled connections).
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
    .default('smtp://127.0.0.1:25'),
  // Sender of invitation e-mails, e.g. "Acme Time <no-reply@acme.example>".
  MAIL_FROM: z.string().min(3).default('QBO Member Sync <no-reply@localhost>'),
  // Where an invited member accepts; the personal token is appended as ?token=….
  INVITE_ACCEPT_URL: z.string().url().default('http://localhost:3000/invitations/accept'),
  // Deadline for one SMTP conversation step (connect, greeting, each command), in ms.
  SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(20_000),
  // Delivery attempts per invitation before it is recorded as failed (SMTP down, 4xx answers).
  INVITE_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  // First retry delay of an invitation; doubles per attempt (with jitter), capped at 30 minutes.
  INVITE_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(10_000),
  // Intuit's per-company limits, held for all worker processes together (QBO.md): requests and
  // batch requests per window, and requests in flight. A little under Intuit's 500 and 40 so
  // clock and network jitter never tip a window over.
  QBO_RATE_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  QBO_RATE_PER_WINDOW: z.coerce.number().int().min(1).max(100_000).default(495),
  QBO_BATCH_PER_WINDOW: z.coerce.number().int().min(0).max(10_000).default(39),
  QBO_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10).default(10),
  // An employee's stored Active flag is trusted for an export when the last sync is this recent (ms).
  EXPORT_ACTIVE_FRESH_MS: z.coerce.number().int().min(0).default(15 * 60_000),
  // Timesheet exports run at once per worker process (one per organisation at a time).
  EXPORT_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  // Invitations one batch job sends at once (an import's invitations go in batches of 500).
  INVITE_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(10),

  // --- HTTP API process (`npm run start:api`); the worker and the CLI ignore these. ---
  // Address the API listens on; 0.0.0.0 in a container, loopback on a bare machine.
  API_HOST: z.string().min(1).default('127.0.0.1'),
  // Port the API listens on (0 = any free port).
  API_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  // Bearer key that sees every organisation (≥ 24 chars). Required by the API process only.
  ADMIN_API_KEY: secret(24).optional(),
  // HMAC key that signs the OAuth `state` (≥ 32 chars). Required by the API process only.
  OAUTH_STATE_SECRET: secret(32).optional(),
  // How long a consent link (its signed `state`) stays usable, in seconds.
  OAUTH_STATE_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(600),
  // Intuit's webhook verifier token (not the client secret); unset = webhooks are refused with 503.
  QBO_WEBHOOK_VERIFIER_TOKEN: z.string().min(1).optional(),
  // Bull Board at /admin/queues behind HTTP Basic; both unset = Bull Board is off.
  BULL_BOARD_USER: z.string().min(1).optional(),
  BULL_BOARD_PASSWORD: secret(12).optional(),
  // Bull Board only looks unless this is `false` (then it can retry, promote and remove jobs).
  BULL_BOARD_READ_ONLY: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  // Requests per minute one organisation key may make to /api/v1 (429 past it); 0 = no limit.
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  // Largest request body the API reads, in bytes (webhooks included; Intuit sends up to ~1 MB).
  API_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  // Server-side pepper of the stored organisation-key hashes; defaults to one derived from TOKEN_ENCRYPTION_KEY.
  API_KEY_PEPPER: secret(32).optional(),
});

function secret(min: number) {
  return z.string().min(min, `must be at least ${min} characters`);
}

export type Config = z.infer<typeof schema> & { qboApiBase: string; tokenKey: Buffer; apiKeyPepper: Buffer };

/** What the API process needs on top of the shared options, checked by `loadConfig(env, { api: true })`. */
export interface ApiConfig extends Config {
  ADMIN_API_KEY: string;
  OAUTH_STATE_SECRET: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function decodeKey(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const buf = Buffer.from(v, 'base64');
    if (buf.length === 32) return buf;
  }
  return null;
}

const INTUIT_API = {
  sandbox: 'https://sandbox-quickbooks.api.intuit.com',
  production: 'https://quickbooks.api.intuit.com',
} as const;

export function loadConfig(env?: NodeJS.ProcessEnv): Config;
export function loadConfig(env: NodeJS.ProcessEnv | undefined, opts: { api: true }): ApiConfig;
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { api?: boolean } = {}): Config {
  const parsed = schema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
  if (opts.api) {
    // Only the API process needs these; the worker and the CLI start without them.
    for (const name of ['ADMIN_API_KEY', 'OAUTH_STATE_SECRET'] as const) {
      if (!env[name] && !problems.some((p) => p.startsWith(`${name} `))) problems.push(`${name} is required by the API process`);
    }
    if (Boolean(env.BULL_BOARD_USER) !== Boolean(env.BULL_BOARD_PASSWORD)) {
      problems.push('BULL_BOARD_USER and BULL_BOARD_PASSWORD go together: set both (Bull Board on) or neither (off)');
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const c = parsed.data;
  const tokenKey = decodeKey(c.TOKEN_ENCRYPTION_KEY) as Buffer;
  return {
    ...c,
    qboApiBase: (c.QBO_API_BASE ?? INTUIT_API[c.QBO_ENVIRONMENT]).replace(/\/+$/, ''),
    tokenKey,
    apiKeyPepper: c.API_KEY_PEPPER
      ? Buffer.from(c.API_KEY_PEPPER, 'utf8')
      : Buffer.from(hkdfSync('sha256', tokenKey, Buffer.alloc(0), 'qbo-member-sync api-key pepper v1', 32)),
  };
}
