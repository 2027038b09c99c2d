import { describe, expect, it } from 'vitest';
import { ConfigError, decodeKey, loadConfig } from '../../src/config';

const HEX_KEY = 'ab'.repeat(32);
const BASE64_KEY = Buffer.alloc(32, 7).toString('base64');

/** loadConfig's error, or a failure when it did not throw one. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('needs only the token key; everything else has a default', () => {
    const c = loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY });
    expect(c).toMatchObject({
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MONGO_URL: 'mongodb://127.0.0.1:27017/qbo_member_sync',
      QUEUE_PREFIX: 'qms',
      QBO_ENVIRONMENT: 'sandbox',
      QBO_MINOR_VERSION: 75,
      QBO_PAGE_SIZE: 1000,
      QBO_HTTP_TIMEOUT_MS: 20_000,
      SYNC_DEFAULT_INTERVAL_MINUTES: 60,
      SYNC_CONCURRENCY: 2,
      SYNC_LOCK_TTL_MS: 120_000,
      WORKER_LOCK_DURATION_MS: 30_000,
      WORKER_STALLED_INTERVAL_MS: 30_000,
      qboApiBase: 'https://sandbox-quickbooks.api.intuit.com',
    });
    expect(c.tokenKey).toEqual(Buffer.from(HEX_KEY, 'hex'));
  });

  it('reads numbers from their text, picks the production host, and drops a trailing slash from QBO_API_BASE', () => {
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY, QBO_PAGE_SIZE: '500', WORKER_LOCK_DURATION_MS: '3000' })).toMatchObject({
      QBO_PAGE_SIZE: 500,
      WORKER_LOCK_DURATION_MS: 3000,
    });
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY, QBO_ENVIRONMENT: 'production' }).qboApiBase).toBe('https://quickbooks.api.intuit.com');
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY, QBO_API_BASE: 'http://127.0.0.1:8723//' }).qboApiBase).toBe('http://127.0.0.1:8723');
  });

  it('takes the key as 64 hex characters or as base64 of 32 bytes', () => {
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: BASE64_KEY }).tokenKey).toEqual(Buffer.alloc(32, 7));
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: ` ${HEX_KEY}\n` }).tokenKey).toHaveLength(32);
    expect(decodeKey(Buffer.alloc(16).toString('base64'))).toBeNull();
    expect(decodeKey('g'.repeat(64))).toBeNull();
  });

  it('a missing key is named with what it should be', () => {
    const err = configError({});
    expect(err.problems).toEqual(['TOKEN_ENCRYPTION_KEY is required (32 bytes as 64 hex chars or base64)']);
    expect(err.message).toBe('Invalid configuration: TOKEN_ENCRYPTION_KEY is required (32 bytes as 64 hex chars or base64)');
  });

  it('bad URLs are refused', () => {
    expect(configError({ TOKEN_ENCRYPTION_KEY: HEX_KEY, REDIS_URL: 'redis host 1' }).problems).toEqual(['REDIS_URL must start with redis:// or rediss://']);
    expect(configError({ TOKEN_ENCRYPTION_KEY: HEX_KEY, MONGO_URL: 'http://127.0.0.1:27017/db' }).problems).toEqual([
      'MONGO_URL must start with mongodb:// or mongodb+srv://',
    ]);
    expect(configError({ TOKEN_ENCRYPTION_KEY: HEX_KEY, QBO_API_BASE: 'sandbox' }).problems).toEqual(['QBO_API_BASE Invalid url']);
  });

  it('lists every bad variable in one message, without echoing secret values', () => {
    const secret = 'my-leaked-secret-key';
    const err = configError({
      TOKEN_ENCRYPTION_KEY: secret,
      QBO_PAGE_SIZE: '5000',
      LOG_LEVEL: 'loud',
      SYNC_CONCURRENCY: 'two',
      WORKER_LOCK_DURATION_MS: '10',
    });
    expect(err.problems.map((p) => p.split(' ')[0]).sort()).toEqual([
      'LOG_LEVEL',
      'QBO_PAGE_SIZE',
      'SYNC_CONCURRENCY',
      'TOKEN_ENCRYPTION_KEY',
      'WORKER_LOCK_DURATION_MS',
    ]);
    expect(err.message).toContain('QBO_PAGE_SIZE Number must be less than or equal to 1000');
    expect(err.message).toContain('TOKEN_ENCRYPTION_KEY must be 32 bytes as 64 hex chars or base64');
    expect(err.message).not.toContain(secret);
  });

  it('API options have defaults; the worker and CLI start without the API secrets', () => {
    const c = loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY });
    expect(c).toMatchObject({ API_HOST: '127.0.0.1', API_PORT: 3000, API_BODY_LIMIT_BYTES: 1024 * 1024, BULL_BOARD_READ_ONLY: true, OAUTH_STATE_TTL_SECONDS: 600 });
    expect(c.ADMIN_API_KEY).toBeUndefined();
    expect(c.QBO_WEBHOOK_VERIFIER_TOKEN).toBeUndefined();
    expect(c.apiKeyPepper).toHaveLength(32);
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY }).apiKeyPepper).toEqual(c.apiKeyPepper);
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: BASE64_KEY }).apiKeyPepper).not.toEqual(c.apiKeyPepper);
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY, BULL_BOARD_READ_ONLY: 'false' }).BULL_BOARD_READ_ONLY).toBe(false);
  });

  it('the API process needs the admin key and the state secret, named together with any other problem', () => {
    const err = (() => {
      try {
        loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY, API_PORT: 'eighty', BULL_BOARD_USER: 'ops' }, { api: true });
      } catch (e) {
        if (e instanceof ConfigError) return e;
        throw e;
      }
      throw new Error('accepted');
    })();
    expect(err.problems).toEqual([
      'API_PORT Expected number, received nan',
      'ADMIN_API_KEY is required by the API process',
      'OAUTH_STATE_SECRET is required by the API process',
      'BULL_BOARD_USER and BULL_BOARD_PASSWORD go together: set both (Bull Board on) or neither (off)',
    ]);
    const ok = loadConfig({ TOKEN_ENCRYPTION_KEY: HEX_KEY, ADMIN_API_KEY: 'k'.repeat(24), OAUTH_STATE_SECRET: 's'.repeat(32) }, { api: true });
    expect(ok.ADMIN_API_KEY).toBe('k'.repeat(24));
  });

  it('refuses short API secrets without echoing them', () => {
    const err = configError({ TOKEN_ENCRYPTION_KEY: HEX_KEY, ADMIN_API_KEY: 'short-admin', OAUTH_STATE_SECRET: 'short-state', BULL_BOARD_PASSWORD: 'pw' });
    expect(err.problems).toEqual([
      'ADMIN_API_KEY must be at least 24 characters',
      'OAUTH_STATE_SECRET must be at least 32 characters',
      'BULL_BOARD_PASSWORD must be at least 12 characters',
    ]);
    for (const v of ['short-admin', 'short-state']) expect(err.message).not.toContain(v);
  });
});
