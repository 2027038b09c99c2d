/**
 * Intuit's OAuth 2.0 token store, strict where real clients trip: authorization codes work
 * once, a refresh token dies the moment it is used (Intuit keeps it alive 24 h; being stricter
 * here surfaces the two-refreshers race in tests), every token belongs to one realm.
 */
import { randomBytes } from 'node:crypto';

/** Seconds, as Intuit reports them. */
export const REFRESH_TOKEN_TTL_SEC = 8_726_400; // ~101 days, rolling
export const REFRESH_TOKEN_HARD_TTL_SEC = 5 * 365 * 24 * 3600; // 5 years from consent
const CODE_TTL_MS = 5 * 60_000;

interface Grant {
  realmId: string;
  createdAt: number;
  revoked: boolean;
}

interface CodeEntry {
  realmId: string;
  redirectUri: string | undefined;
  expiresAt: number;
}

interface RefreshEntry {
  grant: Grant;
  expiresAt: number;
  used: boolean;
}

interface AccessEntry {
  grant: Grant;
  expiresAt: number;
}

export interface TokenSet {
  token_type: 'bearer';
  access_token: string;
  refresh_token: string;
  expires_in: number;
  x_refresh_token_expires_in: number;
  x_refresh_token_hard_expires_in?: number;
}

export type AccessCheck = { ok: true; realmId: string } | { ok: false; reason: 'missing' | 'expired' | 'invalid' };

const b64url = (n: number): string => randomBytes(n).toString('base64url');

function newAccessToken(): string {
  // Shaped like Intuit's (a compact JWE); opaque to clients all the same.
  return `eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..${b64url(18)}.${b64url(48)}.${b64url(16)}`;
}

function newRefreshToken(): string {
  const alnum = randomBytes(40)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .padEnd(34, '0')
    .slice(0, 34);
  return `AB11${Date.now().toString().slice(0, 12)}${alnum}`;
}

export class OAuthStore {
  private codes = new Map<string, CodeEntry>();
  private refreshTokens = new Map<string, RefreshEntry>();
  private accessTokens = new Map<string, AccessEntry>();

  constructor(
    private readonly now: () => Date,
    private readonly accessTtlSec: number,
  ) {}

  private ms(): number {
    return this.now().getTime();
  }

  issueCode(realmId: string, redirectUri?: string): string {
    const code = `AB11${b64url(30).replace(/[-_]/g, 'x')}`;
    this.codes.set(code, { realmId, redirectUri, expiresAt: this.ms() + CODE_TTL_MS });
    return code;
  }

  /** Spends the code (even when the answer is invalid_grant, as Intuit does). */
  exchangeCode(code: string, redirectUri: string | undefined, withHardExpiry: boolean): TokenSet | null {
    const entry = this.codes.get(code);
    this.codes.delete(code);
    if (!entry || entry.expiresAt < this.ms()) return null;
    if (entry.redirectUri !== undefined && redirectUri !== undefined && entry.redirectUri !== redirectUri) return null;
    const grant: Grant = { realmId: entry.realmId, createdAt: this.ms(), revoked: false };
    return this.issue(grant, withHardExpiry);
  }

  refresh(refreshToken: string, withHardExpiry: boolean): TokenSet | null {
    const entry = this.refreshTokens.get(refreshToken);
    if (!entry || entry.used || entry.grant.revoked || entry.expiresAt < this.ms()) return null;
    if (this.ms() > entry.grant.createdAt + REFRESH_TOKEN_HARD_TTL_SEC * 1000) return null;
    entry.used = true;
    return this.issue(entry.grant, withHardExpiry);
  }

  private issue(grant: Grant, withHardExpiry: boolean): TokenSet {
    const now = this.ms();
    const access = newAccessToken();
    const refresh = newRefreshToken();
    this.accessTokens.set(access, { grant, expiresAt: now + this.accessTtlSec * 1000 });
    this.refreshTokens.set(refresh, { grant, expiresAt: now + REFRESH_TOKEN_TTL_SEC * 1000, used: false });
    const set: TokenSet = {
      token_type: 'bearer',
      access_token: access,
      refresh_token: refresh,
      expires_in: this.accessTtlSec,
      x_refresh_token_expires_in: REFRESH_TOKEN_TTL_SEC,
    };
    if (withHardExpiry) {
      set.x_refresh_token_hard_expires_in = Math.max(
        0,
        Math.floor((grant.createdAt + REFRESH_TOKEN_HARD_TTL_SEC * 1000 - now) / 1000),
      );
    }
    return set;
  }

  /** Revokes the whole grant the token (refresh or access) belongs to. Unknown tokens: no-op. */
  revoke(token: string): void {
    const grant = this.refreshTokens.get(token)?.grant ?? this.accessTokens.get(token)?.grant;
    if (grant) grant.revoked = true;
  }

  checkAccess(authorization: string | undefined): AccessCheck {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: 'missing' };
    const entry = this.accessTokens.get(m[1] as string);
    if (!entry || entry.grant.revoked) return { ok: false, reason: 'invalid' };
    if (entry.expiresAt <= this.ms()) return { ok: false, reason: 'expired' };
    return { ok: true, realmId: entry.grant.realmId };
  }

  /** Every access token issued so far is expired from now on; later ones work normally. */
  expireAccessTokens(): void {
    for (const entry of this.accessTokens.values()) entry.expiresAt = Number.NEGATIVE_INFINITY;
  }
}
