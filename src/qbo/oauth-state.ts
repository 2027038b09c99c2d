import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The OAuth `state` sent to Intuit's consent page and checked on the callback: bound to one
 * organisation, signed (HMAC-SHA256 with OAUTH_STATE_SECRET), expiring, and carrying a nonce
 * that the callback spends once in Redis. Pure: the clock is a parameter.
 *
 * Format: `v1.<base64url JSON {o: orgId, n: nonce, e: expiry epoch s}>.<base64url HMAC>`.
 */

export interface OAuthState {
  orgId: string;
  nonce: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export type StateCheck = ({ ok: true } & OAuthState) | { ok: false; reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' };

const VERSION = 'v1';

function mac(body: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(`${VERSION}.${body}`).digest();
}

export function signState(s: OAuthState, secret: string): string {
  const body = Buffer.from(JSON.stringify({ o: s.orgId, n: s.nonce, e: s.expiresAt })).toString('base64url');
  return `${VERSION}.${body}.${mac(body, secret).toString('base64url')}`;
}

export function createState(orgId: string, secret: string, ttlSeconds: number, nowMs = Date.now()): { state: string } & OAuthState {
  const s = { orgId, nonce: randomBytes(16).toString('base64url'), expiresAt: Math.floor(nowMs / 1000) + ttlSeconds };
  return { state: signState(s, secret), ...s };
}

export function verifyState(state: string | undefined | null, secret: string, nowMs = Date.now()): StateCheck {
  if (!state) return { ok: false, reason: 'missing' };
  const parts = state.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) return { ok: false, reason: 'malformed' };
  const [, body, sig] = parts as [string, string, string];
  const given = Buffer.from(sig, 'base64url');
  // Only the canonical spelling: base64url's last character carries unused bits, so a changed
  // one could otherwise decode to the same bytes and pass.
  if (given.toString('base64url') !== sig) return { ok: false, reason: 'bad_signature' };
  const expected = mac(body, secret);
  // The signature is checked before the payload is even decoded.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const p = payload as { o?: unknown; n?: unknown; e?: unknown };
  if (typeof p.o !== 'string' || typeof p.n !== 'string' || typeof p.e !== 'number') return { ok: false, reason: 'malformed' };
  if (p.e * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, orgId: p.o, nonce: p.n, expiresAt: p.e };
}
