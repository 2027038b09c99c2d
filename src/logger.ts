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
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/** Masks e-mail addresses and bearer tokens that slipped into free text (error messages). */
export function scrub(text: string): string {
  return text.replace(EMAIL, '[email]').replace(BEARER, '$1[redacted]');
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
