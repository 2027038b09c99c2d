import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Types } from 'mongoose';
import { ApiKey, type ApiKeyDoc } from '../db/models';

/**
 * Who is calling: the admin key from config (sees every organisation) or an organisation key
 * (sees only its own). Organisation keys are `qmsk_<key id>.<secret>`: the id finds the stored
 * row by _id, and only HMAC-SHA256(secret, server pepper) is stored, compared in constant
 * time. The secret has 256 random bits, so a fast keyed hash is enough (no password stretching).
 */

export type Principal = { kind: 'admin' } | { kind: 'org'; orgId: string; keyId: string };

const KEY_RE = /^qmsk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  key: string;
  keyId: string;
  hash: string;
}

export function hashSecret(secret: string, pepper: Buffer): string {
  return createHmac('sha256', pepper).update(secret).digest('hex');
}

export function newOrgKey(pepper: Buffer): NewKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `qmsk_${keyId}.${secret}`, keyId, hash: hashSecret(secret, pepper) };
}

export function parseKey(key: string): { keyId: string; secret: string } | null {
  const m = KEY_RE.exec(key);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : null;
}

/** Constant-time equality of two strings of any length (both hashed to 32 bytes first). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** `Bearer <key>` → the key; null when the header is missing or of another scheme. */
export function bearerKey(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

export async function issueOrgKey(orgId: Types.ObjectId | string, pepper: Buffer): Promise<string> {
  const k = newOrgKey(pepper);
  await ApiKey.create({ _id: k.keyId, orgId, hash: k.hash });
  return k.key;
}

/** The principal a bearer key stands for; null when the key is unknown, revoked or wrong. */
export async function resolveKey(key: string, opts: { adminKey: string; pepper: Buffer }): Promise<Principal | null> {
  if (sameSecret(key, opts.adminKey)) return { kind: 'admin' };
  const parsed = parseKey(key);
  if (!parsed) return null;
  const doc = await ApiKey.findById(parsed.keyId, { orgId: 1, hash: 1, revokedAt: 1 }).lean<Pick<ApiKeyDoc, 'orgId' | 'hash' | 'revokedAt'>>();
  // Compare even when nothing was found, so an unknown id costs the same as a wrong secret.
  const stored = Buffer.from(doc?.hash ?? '0'.repeat(64), 'hex');
  const given = Buffer.from(hashSecret(parsed.secret, opts.pepper), 'hex');
  const equal = stored.length === given.length && timingSafeEqual(stored, given);
  if (!doc || !equal || doc.revokedAt) return null;
  return { kind: 'org', orgId: String(doc.orgId), keyId: parsed.keyId };
}
