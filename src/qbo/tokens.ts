import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import { decryptSecret, encryptSecret } from '../crypto';
import { QboConnection, type QboConnectionDoc } from '../db/models';
import { acquire } from '../lock';
import type { Logger } from '../logger';
import { classifyQboError } from './classify';
import type { QboClient, TokenSet } from './client';

/**
 * Access tokens for a realm, refreshed at most once at a time across every process.
 * Intuit rotates refresh tokens: two processes refreshing with the same one is the classic
 * cause of invalid_grant, so the refresh runs under a Redis lease and the rotated pair is
 * stored before anyone uses the new access token.
 */

export class ConnectionUnavailableError extends Error {
  override name = 'ConnectionUnavailableError';
  constructor(
    readonly code: 'qbo_not_connected' | 'connection_needs_reauth' | 'connection_disconnected' | 'token_key_mismatch',
    message: string,
  ) {
    super(message);
  }
}

export interface TokenDeps {
  redis: Redis;
  qbo: QboClient;
  tokenKey: Buffer;
  logger: Logger;
  keyPrefix: string;
}

// Refresh a little early so a token does not expire between check and use.
const EARLY_MS = 5 * 60_000;
const LEASE_MS = 30_000;

export function sealTokens(t: TokenSet, key: Buffer) {
  return {
    accessTokenEnc: encryptSecret(t.accessToken, key),
    refreshTokenEnc: encryptSecret(t.refreshToken, key),
    accessTokenExpiresAt: t.accessTokenExpiresAt,
    refreshTokenExpiresAt: t.refreshTokenExpiresAt,
  };
}

/** A stored token that does not decrypt means TOKEN_ENCRYPTION_KEY changed: no retry can fix it. */
function open(sealed: string, key: Buffer, realmId: string): string {
  try {
    return decryptSecret(sealed, key);
  } catch {
    throw new ConnectionUnavailableError(
      'token_key_mismatch',
      `The stored QuickBooks tokens of realm ${realmId} do not decrypt with TOKEN_ENCRYPTION_KEY (was the key changed?)`,
    );
  }
}

function usable(conn: QboConnectionDoc): void {
  if (conn.status === 'needs_reauth') {
    throw new ConnectionUnavailableError('connection_needs_reauth', `QuickBooks connection for realm ${conn.realmId} needs to be re-authorised`);
  }
  if (conn.status === 'disconnected') {
    throw new ConnectionUnavailableError('connection_disconnected', `QuickBooks connection for realm ${conn.realmId} is disconnected`);
  }
}

export async function loadConnection(orgId: Types.ObjectId | string): Promise<QboConnectionDoc> {
  const conn = await QboConnection.findOne({ orgId }).lean<QboConnectionDoc>();
  if (!conn) throw new ConnectionUnavailableError('qbo_not_connected', `Organisation ${String(orgId)} has no QuickBooks connection`);
  return conn;
}

export async function markNeedsReauth(connId: Types.ObjectId, reason: string): Promise<void> {
  await QboConnection.updateOne({ _id: connId, status: 'connected' }, { $set: { status: 'needs_reauth', statusReason: reason } });
}

/**
 * A valid access token for the connection. `staleToken` is the token a call was just refused
 * with (401): a refresh is then forced unless someone already replaced it.
 */
export async function getAccessToken(deps: TokenDeps, conn: QboConnectionDoc, staleToken?: string): Promise<string> {
  usable(conn);
  const current = open(conn.accessTokenEnc, deps.tokenKey, conn.realmId);
  if (current !== staleToken && conn.accessTokenExpiresAt.getTime() - Date.now() > EARLY_MS) return current;

  const lease = await acquire(deps.redis, `${deps.keyPrefix}:lock:qbo-refresh:${conn.realmId}`, LEASE_MS, LEASE_MS + 5000);
  if (!lease) throw new Error(`Timed out waiting for the token refresh lock of realm ${conn.realmId}`);
  try {
    // Someone may have refreshed while we waited: read again before spending the refresh token.
    const fresh = await QboConnection.findById(conn._id).lean<QboConnectionDoc>();
    if (!fresh) throw new ConnectionUnavailableError('qbo_not_connected', `QuickBooks connection ${String(conn._id)} is gone`);
    usable(fresh);
    const freshAccess = open(fresh.accessTokenEnc, deps.tokenKey, fresh.realmId);
    if (freshAccess !== staleToken && fresh.accessTokenExpiresAt.getTime() - Date.now() > EARLY_MS) return freshAccess;

    let next: TokenSet;
    try {
      next = await deps.qbo.refresh(open(fresh.refreshTokenEnc, deps.tokenKey, fresh.realmId));
    } catch (err) {
      const c = classifyQboError(err);
      if (c.kind === 'reauth') {
        await markNeedsReauth(fresh._id, c.code);
        deps.logger.warn({ realmId: fresh.realmId, code: c.code }, 'QuickBooks refused the refresh token; connection needs re-authorisation');
        throw new ConnectionUnavailableError('connection_needs_reauth', `QuickBooks refused the refresh token for realm ${fresh.realmId} (${c.code})`);
      }
      throw err;
    }
    // Store the rotated pair before anyone uses it; the version guard catches a lost lease.
    const saved = await QboConnection.updateOne(
      { _id: fresh._id, tokenVersion: fresh.tokenVersion },
      { $set: sealTokens(next, deps.tokenKey), $inc: { tokenVersion: 1 } },
    );
    if (saved.modifiedCount !== 1) throw new Error(`Token refresh of realm ${fresh.realmId} raced with another writer`);
    deps.logger.info({ realmId: fresh.realmId, tokenVersion: fresh.tokenVersion + 1 }, 'QuickBooks tokens refreshed');
    return next.accessToken;
  } finally {
    await lease.release();
  }
}
