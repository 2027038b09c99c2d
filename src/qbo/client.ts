import { createRequire } from 'node:module';
import { classifyQboError } from './classify';
import { QboBodyError } from './parse';

/**
 * The one adapter over node-quickbooks and intuit-oauth. Both libraries are callback/static-URL
 * CommonJS code: they are loaded here, pointed at the configured hosts, given a deadline on
 * every HTTP call, and exposed as a few typed promise functions. Nothing else imports them.
 */

const require = createRequire(import.meta.url);
const qbModulePath = require.resolve('node-quickbooks');
const oauthModulePath = require.resolve('intuit-oauth');

interface NodeQuickBooks {
  endpoint: string;
  findEmployees(criteria: string, cb: (err: unknown, data: unknown) => void): void;
  getEmployee(id: string, cb: (err: unknown, data: unknown) => void): void;
  createTimeActivity(entity: Record<string, unknown>, cb: (err: unknown, data: unknown) => void): void;
  changeDataCapture(entities: string[], since: string, cb: (err: unknown, data: unknown) => void): void;
}
type NodeQuickBooksCtor = new (opts: Record<string, unknown>) => NodeQuickBooks;

interface IntuitOAuthClient {
  authorizeUri(params: { scope: string[]; state: string }): string;
  createToken(url: string): Promise<{ getJson(): unknown }>;
  refreshUsingToken(refreshToken: string): Promise<{ getJson(): unknown }>;
  revoke(params: { access_token?: string; refresh_token?: string }): Promise<unknown>;
  setAuthorizeURLs(params: Record<string, string>): unknown;
}
type IntuitOAuthCtor = new (opts: Record<string, unknown>) => IntuitOAuthClient;

interface AxiosLike {
  defaults: { timeout?: number };
  post(url: string, data: unknown, config: { params: Record<string, string | number>; headers: Record<string, string> }): Promise<{ data: unknown }>;
}

const QuickBooks = require(qbModulePath) as NodeQuickBooksCtor;
const OAuthClient = require(oauthModulePath) as IntuitOAuthCtor & { retryConfig: { maxRetries: number } };
// Both libraries resolve the same hoisted axios; a default timeout there bounds every call they make.
const axios = createRequire(qbModulePath)('axios') as AxiosLike;

export class QboTimeoutError extends Error {
  override name = 'QboTimeoutError';
  readonly code = 'timeout';
}

export interface QboClientOptions {
  apiBase: string; // e.g. https://quickbooks.api.intuit.com (no /v3)
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  environment: 'sandbox' | 'production';
  minorVersion: number;
  timeoutMs: number;
  /**
   * Called once per HTTP request to Intuit when it settles (metrics): `status` is the HTTP
   * status as text, `timeout` for a missed deadline, `error` when no answer came at all.
   */
  onRequest?: (kind: QboRequestKind, status: string) => void;
}

export type QboRequestKind = 'query' | 'cdc' | 'read' | 'token' | 'revoke' | 'timeactivity' | 'batch';

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: Date;
  refreshTokenExpiresAt: Date | null;
}

export interface QboContext {
  realmId: string;
  accessToken: string;
}

export interface QboClient {
  /** One page of `SELECT * FROM Employee WHERE Active IN (true,false) ORDERBY Id`; body as Intuit sent it. */
  queryEmployeesPage(ctx: QboContext, startPosition: number, maxResults: number): Promise<unknown>;
  /** CDC of employees changed after `since` (sent as UTC `…Z`). */
  employeeChangesSince(ctx: QboContext, since: Date): Promise<unknown>;
  /** GET employee/{id}: Intuit's body (`{ Employee, time }` or a Fault). */
  readEmployee(ctx: QboContext, qboId: string): Promise<unknown>;
  /** POST timeactivity?requestid=…: Intuit's body (`{ TimeActivity, time }` or a Fault). */
  createTimeActivity(ctx: QboContext, body: Record<string, unknown>, requestId: string): Promise<unknown>;
  /** POST batch?requestid=… of TimeActivity creates (≤ 30): Intuit's `{ BatchItemResponse }`. */
  batchCreateTimeActivities(ctx: QboContext, items: { bId: string; body: Record<string, unknown> }[], requestId: string): Promise<unknown>;
  authorizeUrl(state: string): string;
  exchangeCode(callbackUrl: string): Promise<TokenSet>;
  refresh(refreshToken: string): Promise<TokenSet>;
  revoke(refreshToken: string): Promise<void>;
}

/** Runs `start` and rejects with QboTimeoutError if it has not settled within `ms`. */
export function withDeadline<T>(ms: number, what: string, start: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new QboTimeoutError(`${what} got no answer within ${ms} ms`)), ms);
    start().then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error || (typeof err === 'object' && err !== null) ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * node-quickbooks hands over `body.<Entity>` (or the whole body when there is none): this puts
 * Intuit's envelope back, so callers read every answer the same way (src/qbo/parse.ts).
 */
const inEnvelope =
  (entity: string) =>
  (data: unknown): unknown =>
    data && typeof data === 'object' && 'Id' in data && !('Fault' in data) ? { [entity]: data } : data;

/** The HTTP status a failed call got, as a metrics label. */
function requestStatus(err: unknown): string {
  if (err instanceof QboTimeoutError) return 'timeout';
  const c = classifyQboError(err);
  return c.status !== null ? String(c.status) : c.code === 'timeout' ? 'timeout' : 'error';
}

function tokenSetFrom(json: unknown, now = Date.now()): TokenSet {
  const t = json as Record<string, unknown>;
  const access = typeof t.access_token === 'string' ? t.access_token : '';
  const refresh = typeof t.refresh_token === 'string' ? t.refresh_token : '';
  // Never store an empty token: an answer without both is a failed refresh.
  if (!access || !refresh) throw new Error('Intuit token answer lacks access_token or refresh_token');
  const expiresIn = Number(t.expires_in) || 3600;
  const refreshIn = Number(t.x_refresh_token_expires_in) || 0;
  return {
    accessToken: access,
    refreshToken: refresh,
    accessTokenExpiresAt: new Date(now + expiresIn * 1000),
    refreshTokenExpiresAt: refreshIn > 0 ? new Date(now + refreshIn * 1000) : null,
  };
}

export function createQboClient(opts: QboClientOptions): QboClient {
  axios.defaults.timeout = opts.timeoutMs;
  // intuit-oauth retries token calls itself; one retry is enough, our jobs retry with backoff.
  OAuthClient.retryConfig.maxRetries = 1;
  const deadline = opts.timeoutMs + 2000;
  /** Reports how the request ended, then passes its result or error on unchanged. */
  function observed<T>(kind: QboRequestKind, p: Promise<T>): Promise<T> {
    if (!opts.onRequest) return p;
    const report = opts.onRequest;
    return p.then(
      (v) => {
        report(kind, '200');
        return v;
      },
      (err: unknown) => {
        report(kind, requestStatus(err));
        throw err;
      },
    );
  }

  function qb(ctx: QboContext): NodeQuickBooks {
    const client = new QuickBooks({
      consumerKey: opts.clientId,
      consumerSecret: opts.clientSecret,
      token: ctx.accessToken,
      realmId: ctx.realmId,
      useSandbox: opts.environment === 'sandbox',
      debug: false,
      minorversion: opts.minorVersion,
      oauthversion: '2.0',
    });
    client.endpoint = `${opts.apiBase}/v3/company/`;
    return client;
  }

  function call(what: string, run: (cb: (err: unknown, data: unknown) => void) => void): Promise<unknown> {
    return withDeadline(
      deadline,
      what,
      () =>
        new Promise((resolve, reject) => {
          run((err, data) => (err ? reject(err) : resolve(data)));
        }),
    );
  }

  function oauth(): IntuitOAuthClient {
    const client = new OAuthClient({
      clientId: opts.clientId,
      clientSecret: opts.clientSecret,
      environment: opts.environment,
      redirectUri: opts.redirectUri,
      logging: false,
    });
    client.setAuthorizeURLs({
      authorizeEndpoint: opts.authorizeUrl,
      tokenEndpoint: opts.tokenUrl,
      revokeEndpoint: opts.revokeUrl,
      userInfoEndpoint: opts.tokenUrl,
    });
    return client;
  }

  return {
    queryEmployeesPage(ctx, startPosition, maxResults) {
      const criteria = ` where Active IN (true, false) orderby Id startposition ${startPosition} maxresults ${maxResults}`;
      return observed('query', call('employee query', (cb) => qb(ctx).findEmployees(criteria, cb))).catch((err: unknown) => {
        // node-quickbooks reads `QueryResponse` itself before handing the body over, so a 200
        // that is truncated or not JSON reaches us as its TypeError ("Cannot convert undefined
        // or null to object"): name it for what it is, a body we could not read (retryable).
        if (err instanceof TypeError) {
          throw new QboBodyError(`QBO employee query answer has no readable QueryResponse (node-quickbooks: ${err.message})`);
        }
        throw err;
      });
    },
    employeeChangesSince(ctx, since) {
      // node-quickbooks does not URL-encode the time: a UTC "Z" time has nothing to encode.
      const iso = since.toISOString().replace(/\.\d{3}Z$/, 'Z');
      return observed('cdc', call('employee CDC', (cb) => qb(ctx).changeDataCapture(['Employee'], iso, cb)));
    },
    readEmployee(ctx, qboId) {
      return observed('read', call('employee read', (cb) => qb(ctx).getEmployee(qboId, cb))).then(inEnvelope('Employee'));
    },
    createTimeActivity(ctx, body, requestId) {
      // node-quickbooks deletes requestId from the object it is given: hand it a fresh copy, so
      // a retry of ours still carries the id (QBO.md "Libraries").
      const entity = { ...body, requestId };
      return observed('timeactivity', call('TimeActivity create', (cb) => qb(ctx).createTimeActivity(entity, cb))).then(inEnvelope('TimeActivity'));
    },
    batchCreateTimeActivities(ctx, items, requestId) {
      // node-quickbooks' batch() cannot send a requestid, which a batch needs to be retried
      // safely: the one call this adapter makes itself, through the same axios and deadline.
      const url = `${opts.apiBase}/v3/company/${encodeURIComponent(ctx.realmId)}/batch`;
      const data = { BatchItemRequest: items.map((it) => ({ bId: it.bId, operation: 'create', TimeActivity: it.body })) };
      return observed(
        'batch',
        withDeadline(deadline, 'TimeActivity batch', () =>
          axios
            .post(url, data, {
              params: { requestid: requestId, minorversion: opts.minorVersion },
              headers: { Authorization: `Bearer ${ctx.accessToken}`, Accept: 'application/json', 'Content-Type': 'application/json' },
            })
            .then((res) => {
              // A 200 can carry a Fault; treat it as node-quickbooks does: as the error.
              const body = res.data as { Fault?: unknown } | null;
              if (body && typeof body === 'object' && body.Fault) throw Object.assign(new Error('QBO answered 200 with a Fault'), { response: { status: 200, data: body } });
              return body;
            }),
        ),
      );
    },
    authorizeUrl(state) {
      return oauth().authorizeUri({ scope: ['com.intuit.quickbooks.accounting'], state });
    },
    async exchangeCode(callbackUrl) {
      const res = await observed('token', withDeadline(deadline, 'token exchange', () => oauth().createToken(callbackUrl)));
      return tokenSetFrom(res.getJson());
    },
    async refresh(refreshToken) {
      const res = await observed('token', withDeadline(deadline, 'token refresh', () => oauth().refreshUsingToken(refreshToken)));
      return tokenSetFrom(res.getJson());
    },
    async revoke(refreshToken) {
      // intuit-oauth reads `refresh_token` (or `access_token`); given anything else it sends
      // whatever token it holds itself, which for this per-call client is none.
      await observed('revoke', withDeadline(deadline, 'token revoke', () => oauth().revoke({ refresh_token: refreshToken })));
    },
  };
}
