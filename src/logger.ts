import { pino, type Logger } from 'pino';

export type { Logger };

// Field paths whose values never reach a log line: tokens, credentials, e-mail addresses.
const REDACT = [
  'accessToken', 'refreshToken', 'access_token', 'refresh_token', 'token', 'password', 'clientSecret',
  'authorization', 'Authorization', 'email', 'verifierToken',
  '*.accessToken', '*.refreshToken', '*.access_token', '*.refresh_token', '*.token', '*.password',
  '*.clientSecret', '*.authorization', '*.Authorization', '*.email', '*.verifierToken',
  'headers.authorization', '*.headers.authorization', '*.headers.Authorization',
  'req.headers.authorization', 'config.headers.Authorization', '*.config.headers.Authorization',
  'PrimaryEmailAddr', '*.PrimaryEmailAddr',
  // The API's secrets: configuration values, organisation keys, signatures, OAuth state. (Error `code` and run `state` fields stay readable: URLs are scrubbed instead.)
  ...[
    'ADMIN_API_KEY', 'OAUTH_STATE_SECRET', 'QBO_WEBHOOK_VERIFIER_TOKEN', 'BULL_BOARD_PASSWORD', 'API_KEY_PEPPER',
    'TOKEN_ENCRYPTION_KEY', 'QBO_CLIENT_SECRET', 'tokenKey', 'apiKeyPepper', 'apiKey', 'oauthState',
  ].flatMap((k) => [k, `*.${k}`]),
  'headers["intuit-signature"]', '*.headers["intuit-signature"]', 'headers.cookie', '*.headers.cookie',
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+/gi;
// Organisation API keys (src/http/api-keys.ts) and OAuth query parameters in URLs.
const API_KEY = /\bqmsk_[0-9a-f]{16}\.[A-Za-z0-9_-]+/g;
const URL_SECRET = /\b(code|state|access_token|refresh_token|token)=[^&\s"']+/gi;

/** Masks e-mail addresses, bearer tokens, API keys and OAuth codes that slipped into free text. */
export function scrub(text: string): string {
  return text
    .replace(EMAIL, '[email]')
    .replace(BEARER, '$1[redacted]')
    .replace(API_KEY, 'qmsk_[redacted]')
    .replace(URL_SECRET, '$1=[redacted]');
}

function serializeErr(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrub(String(err)) };
  const out: Record<string, unknown> = { type: err.name, message: scrub(err.message) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (err.stack) out.stack = scrub(err.stack);
  return out;
}

export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { pid: process.pid, ...bindings },
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: { err: serializeErr },
  };
  return destination ? pino(options, destination) : pino(options);
}
