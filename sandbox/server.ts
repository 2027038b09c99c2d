/**
 * A local stand-in for Intuit's QuickBooks Online API: OAuth (authorize, token, revoke),
 * Employee query / COUNT / read by id / CDC, in Intuit's exact JSON, with injectable faults.
 * Used by tests and the demo; never in production.
 *
 * Every body carries `time`; JSON answers are `application/json;charset=UTF-8`. Bodies are
 * built by pure handlers that return a Reply, so a fault (slow, malformed) can wrap a normal
 * answer without the handlers knowing.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { CompanyInput, RawEmployee } from './types';
import { Realm } from './company';
import { OAuthStore } from './oauth';
import {
  FaultQueue,
  fault200Body,
  forbiddenBody,
  invalidPropertyFaultBody,
  notFoundBody,
  queryInvalidFaultBody,
  queryParseFaultBody,
  serverErrorBody,
  throttleJsonBody,
  throttleXmlBody,
  unauthorizedBody,
} from './faults';
import type { FaultSpec, RequestEndpoint } from './faults';
import { QueryParseError, QueryValidationError, looksLikeCount, parseQuery, runEmployeeQuery } from './query';
import { DEFAULT_OFFSET_MINUTES, formatBodyTime, parseQboTime } from './time';
import { sendWebhook, WebhookNotifier } from './webhooks';
import type { SendWebhookOptions, WebhookSendResult, WebhookSubscription } from './webhooks';

export { generateCompany } from './generate';
export type { GenerateOptions } from './generate';
export type { CompanyInput, DeletedStub, RawEmployee } from './types';
export type { FaultKind, FaultSpec, FaultEndpoint, RequestEndpoint } from './faults';
export type { SendWebhookOptions, WebhookEventSpec, WebhookFormat, WebhookSendResult, WebhookSubscription } from './webhooks';

export interface SandboxOptions {
  port?: number; // 0 = free port (default)
  host?: string; // default 127.0.0.1
  clientId?: string; // Basic auth expected at the token endpoint; default 'sandbox-client-id'
  clientSecret?: string; // default 'sandbox-client-secret'
  accessTokenTtlSec?: number; // default 3600
  /** The sandbox clock (token expiry, LastUpdatedTime of live changes, the CDC 30-day window). */
  now?: () => Date;
  /**
   * Intuit's per-realm limits (500 requests/minute, 10 concurrent) on query/cdc/read; off unless
   * given, so tests that hammer one realm do not trip over them by accident.
   */
  limits?: { perMinute?: number; concurrent?: number };
}

export interface SandboxRequest {
  endpoint: RequestEndpoint;
  realmId: string | null;
  status: number; // 0 while unanswered (slow) or never answered (silent)
  query?: string; // the query text, for 'query' and 'count'
  changedSince?: string; // as received, for 'cdc'
  method: string;
  path: string;
  at: number; // sandbox clock, epoch ms
}

export interface QboSandbox {
  url: string; // API base: `${url}/v3/company/{realmId}/...`
  tokenUrl: string;
  authorizeUrl: string;
  revokeUrl: string;
  loadCompany(realmId: string, company: CompanyInput): void;
  addEmployee(realmId: string, e: Partial<RawEmployee>): RawEmployee;
  updateEmployee(realmId: string, id: string, patch: Partial<RawEmployee> & { unset?: string[] }): RawEmployee;
  deactivateEmployee(realmId: string, id: string): RawEmployee;
  deleteEmployee(realmId: string, id: string): void;
  employees(realmId: string): RawEmployee[];
  issueAuthorizationCode(realmId: string, redirectUri?: string): string;
  expireAccessTokens(): void;
  injectFault(f: FaultSpec): void;
  clearFaults(): void;
  requests: SandboxRequest[];
  count(endpoint: string, realmId?: string): number;
  resetRequests(): void;
  /** Sends one signed webhook delivery (legacy or CloudEvents) to `url`, like Intuit does. */
  sendWebhook(url: string, opts: SendWebhookOptions): Promise<WebhookSendResult>;
  /** From now on employee changes made through this sandbox send deliveries to `sub.url` (null: stop). */
  subscribeWebhooks(sub: WebhookSubscription | null): void;
  /** Sends the changes collected so far and waits for every delivery under way; all sent so far. */
  flushWebhooks(): Promise<WebhookSendResult[]>;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const CDC_MAX_OBJECTS = 1000;
const CDC_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify(body),
  contentType: JSON_TYPE,
  headers,
});

interface Route {
  endpoint: RequestEndpoint;
  realmId: string | null;
  entityId?: string;
}

function route(method: string, path: string, query: string | undefined): Route {
  const api = /^\/v3\/company\/([^/]+)(\/.*)?$/.exec(path);
  if (api) {
    const realmId = decodeURIComponent(api[1] as string);
    const rest = api[2] ?? '';
    if (/^\/query\/?$/i.test(rest) && (method === 'GET' || method === 'POST')) {
      return { endpoint: query !== undefined && looksLikeCount(query) ? 'count' : 'query', realmId };
    }
    if (/^\/cdc\/?$/i.test(rest) && method === 'GET') return { endpoint: 'cdc', realmId };
    const read = /^\/employee\/([^/]+)\/?$/i.exec(rest);
    if (read && method === 'GET') return { endpoint: 'read', realmId, entityId: decodeURIComponent(read[1] as string) };
    return { endpoint: 'other', realmId };
  }
  if (path === '/oauth2/v1/tokens/bearer' && method === 'POST') return { endpoint: 'token', realmId: null };
  if (path === '/v2/oauth2/tokens/revoke' && method === 'POST') return { endpoint: 'revoke', realmId: null };
  if (path === '/connect/oauth2' && method === 'GET') return { endpoint: 'authorize', realmId: null };
  return { endpoint: 'other', realmId: null };
}

function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Form or JSON body → flat string map. */
function parseParams(body: string, contentType: string | undefined): Record<string, string> {
  const trimmed = body.trim();
  if ((contentType ?? '').includes('json') || trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed || '{}');
      if (parsed && typeof parsed === 'object') {
        return Object.fromEntries(
          Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]),
        );
      }
    } catch {
      return {};
    }
    return {};
  }
  return Object.fromEntries(new URLSearchParams(body));
}

class Sandbox implements QboSandbox {
  url = '';
  tokenUrl = '';
  authorizeUrl = '';
  revokeUrl = '';
  requests: SandboxRequest[] = [];

  private readonly realms = new Map<string, Realm>();
  private readonly oauth: OAuthStore;
  private readonly faults = new FaultQueue();
  private readonly webhooks = new WebhookNotifier();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = createServer((req, res) => this.handle(req, res));
  private readonly now: () => Date;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly offset: number;
  private readonly limits: { perMinute?: number; concurrent?: number } | undefined;
  private readonly recent = new Map<string, number[]>(); // realm → request times (real clock)
  private readonly inFlight = new Map<string, number>();
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: SandboxOptions) {
    this.now = opts.now ?? (() => new Date());
    this.clientId = opts.clientId ?? 'sandbox-client-id';
    this.clientSecret = opts.clientSecret ?? 'sandbox-client-secret';
    this.offset = DEFAULT_OFFSET_MINUTES;
    this.limits = opts.limits;
    this.oauth = new OAuthStore(this.now, opts.accessTokenTtlSec ?? 3600);
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.url = `http://${shownHost}:${port}`;
    this.tokenUrl = `${this.url}/oauth2/v1/tokens/bearer`;
    this.authorizeUrl = `${this.url}/connect/oauth2`;
    this.revokeUrl = `${this.url}/v2/oauth2/tokens/revoke`;
  }

  private ms(): number {
    return this.now().getTime();
  }

  // ------------------------------------------------------------------------------------------
  // Company state

  private realm(realmId: string): Realm {
    const r = this.realms.get(realmId);
    if (!r) throw new Error(`realm ${realmId} is not loaded in the QBO sandbox`);
    return r;
  }

  loadCompany(realmId: string, company: CompanyInput): void {
    const r = new Realm(realmId, this.now, this.offset);
    r.load(company);
    this.realms.set(realmId, r);
  }

  addEmployee(realmId: string, e: Partial<RawEmployee>): RawEmployee {
    const added = this.realm(realmId).add(e);
    this.webhooks.changed({ realmId, id: added.Id, operation: 'Create', time: added.MetaData?.LastUpdatedTime });
    return structuredClone(added);
  }

  updateEmployee(realmId: string, id: string, patch: Partial<RawEmployee> & { unset?: string[] }): RawEmployee {
    const updated = this.realm(realmId).update(id, patch);
    this.webhooks.changed({ realmId, id, operation: 'Update', time: updated.MetaData?.LastUpdatedTime });
    return structuredClone(updated);
  }

  deactivateEmployee(realmId: string, id: string): RawEmployee {
    return this.updateEmployee(realmId, id, { Active: false });
  }

  deleteEmployee(realmId: string, id: string): void {
    this.realm(realmId).delete(id);
    this.webhooks.changed({ realmId, id, operation: 'Delete' });
  }

  sendWebhook(url: string, opts: SendWebhookOptions): Promise<WebhookSendResult> {
    return sendWebhook(url, opts);
  }

  subscribeWebhooks(sub: WebhookSubscription | null): void {
    this.webhooks.subscribe(sub);
  }

  flushWebhooks(): Promise<WebhookSendResult[]> {
    return this.webhooks.flush();
  }

  employees(realmId: string): RawEmployee[] {
    return structuredClone([...this.realm(realmId).all()]);
  }

  issueAuthorizationCode(realmId: string, redirectUri?: string): string {
    return this.oauth.issueCode(realmId, redirectUri);
  }

  expireAccessTokens(): void {
    this.oauth.expireAccessTokens();
  }

  injectFault(f: FaultSpec): void {
    this.faults.add(f);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  count(endpoint: string, realmId?: string): number {
    return this.requests.filter((r) => r.endpoint === endpoint && (realmId === undefined || r.realmId === realmId)).length;
  }

  resetRequests(): void {
    this.requests.length = 0;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.webhooks.stop();
      this.server.close(() => resolve());
      // Silent and slow faults hold sockets open on purpose; close must not wait for them.
      for (const s of this.sockets) s.destroy();
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  // ------------------------------------------------------------------------------------------
  // HTTP plumbing

  private handle(req: IncomingMessage, res: ServerResponse): void {
    readBody(req).then(
      (body) => this.dispatch(req, res, body),
      () => {
        if (!res.headersSent) res.writeHead(413).end();
      },
    );
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, body: string): void {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox.local');
    let queryText = url.searchParams.get('query') ?? undefined;
    if (queryText === undefined && method === 'POST' && /\/query\/?$/i.test(url.pathname)) {
      // Intuit also takes the query as a POST body (Content-Type application/text).
      queryText = (req.headers['content-type'] ?? '').includes('form')
        ? (new URLSearchParams(body).get('query') ?? undefined)
        : body;
    }
    const r = route(method, url.pathname, queryText);
    const record: SandboxRequest = { endpoint: r.endpoint, realmId: r.realmId, status: 0, method, path: url.pathname, at: this.ms() };
    if (r.endpoint === 'query' || r.endpoint === 'count') record.query = queryText ?? '';
    if (r.endpoint === 'cdc') record.changedSince = url.searchParams.get('changedSince') ?? undefined;
    this.requests.push(record);

    const send = (reply: Reply): void => {
      record.status = reply.status;
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(reply.status, {
        ...(reply.contentType ? { 'Content-Type': reply.contentType } : {}),
        intuit_tid: randomUUID(),
        ...reply.headers,
      });
      res.end(reply.body);
    };
    const answer = (): Reply => this.answer(r, req, url, body, queryText);

    const fault = this.faults.take(r.endpoint);
    if (fault) {
      const retryAfter: Record<string, string> =
        fault.retryAfterSec !== undefined ? { 'Retry-After': String(fault.retryAfterSec) } : {};
      const xml = (status: number): Reply => ({
        status,
        body: throttleXmlBody(this.ms()),
        contentType: 'application/xml',
        headers: retryAfter,
      });
      switch (fault.kind) {
        case 'throttle-json':
          return send(json(429, throttleJsonBody(this.ms()), retryAfter));
        case 'throttle-xml':
          return send(xml(429));
        case 'throttle-xml-403':
          return send(xml(403));
        case 'unauthorized':
          return send(json(401, unauthorizedBody('Token expired: AB0173000000', this.ms())));
        case 'server-error':
          return send(json(500, serverErrorBody(this.ms())));
        case 'fault-200':
          return send(json(200, fault200Body(this.ms())));
        case 'silent':
          return; // the socket stays open until the client gives up or close() runs
        case 'slow': {
          const t = setTimeout(() => {
            this.timers.delete(t);
            send(this.guarded(answer));
          }, fault.delayMs);
          this.timers.add(t);
          return;
        }
        case 'malformed': {
          const normal = this.guarded(answer);
          const cut = normal.body.slice(0, Math.max(1, Math.floor(normal.body.length / 2)));
          return send({ status: 200, body: cut, contentType: JSON_TYPE });
        }
      }
    }

    const limited = this.checkLimits(r, res);
    if (limited) return send(limited);
    send(this.guarded(answer));
  }

  /** A handler bug answers 500 like Intuit's SystemFault rather than killing the socket. */
  private guarded(fn: () => Reply): Reply {
    try {
      return fn();
    } catch (err) {
      const reply = json(500, serverErrorBody(this.ms()));
      reply.headers = { 'x-sandbox-error': err instanceof Error ? err.message.slice(0, 200) : 'error' };
      return reply;
    }
  }

  /** Intuit's per-realm limits, when enabled: 429 ThrottleExceeded past either. */
  private checkLimits(r: Route, res: ServerResponse): Reply | null {
    if (!this.limits || !r.realmId || !['query', 'count', 'cdc', 'read'].includes(r.endpoint)) return null;
    const realmId = r.realmId;
    const { perMinute, concurrent } = this.limits;
    if (perMinute !== undefined) {
      const t = Date.now();
      const times = (this.recent.get(realmId) ?? []).filter((x) => x > t - 60_000);
      if (times.length >= perMinute) {
        this.recent.set(realmId, times);
        return json(429, throttleJsonBody(this.ms()));
      }
      times.push(t);
      this.recent.set(realmId, times);
    }
    if (concurrent !== undefined) {
      const n = this.inFlight.get(realmId) ?? 0;
      if (n >= concurrent) return json(429, throttleJsonBody(this.ms()));
      this.inFlight.set(realmId, n + 1);
      res.once('close', () => this.inFlight.set(realmId, (this.inFlight.get(realmId) ?? 1) - 1));
    }
    return null;
  }

  // ------------------------------------------------------------------------------------------
  // Endpoints

  private answer(r: Route, req: IncomingMessage, url: URL, body: string, queryText: string | undefined): Reply {
    switch (r.endpoint) {
      case 'token':
        return this.token(req, body);
      case 'revoke':
        return this.revoke(req, body);
      case 'authorize':
        return this.authorize(url);
      case 'query':
      case 'count':
      case 'cdc':
      case 'read': {
        const denied = this.authorizeApi(req, r.realmId as string);
        if (denied) return denied;
        const realm = this.realms.get(r.realmId as string) as Realm;
        if (r.endpoint === 'cdc') return this.cdc(realm, url);
        if (r.endpoint === 'read') return this.read(realm, r.entityId as string);
        return this.query(realm, queryText);
      }
      default:
        return json(404, {
          Fault: {
            Error: [
              {
                Message: 'Unsupported Operation',
                Detail: `${req.method ?? 'GET'} ${url.pathname} is not served by the QBO sandbox`,
                code: '500',
              },
            ],
            type: 'ValidationFault',
          },
          time: formatBodyTime(this.ms(), this.offset),
        });
    }
  }

  private authorizeApi(req: IncomingMessage, realmId: string): Reply | null {
    const check = this.oauth.checkAccess(req.headers.authorization);
    if (!check.ok) {
      const token = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const detail =
        check.reason === 'expired'
          ? `Token expired: ${token.slice(0, 12)}`
          : check.reason === 'missing'
            ? 'Token missing'
            : 'Token invalid';
      return json(401, unauthorizedBody(detail, this.ms()), {
        'WWW-Authenticate': 'Bearer realm="Intuit", error="invalid_token"',
      });
    }
    if (check.realmId !== realmId || !this.realms.has(realmId)) return json(403, forbiddenBody(this.ms()));
    return null;
  }

  private query(realm: Realm, text: string | undefined): Reply {
    const time = formatBodyTime(this.ms(), this.offset);
    try {
      const parsed = parseQuery(text ?? '');
      const result = runEmployeeQuery(parsed, realm.all());
      if (result.kind === 'count') return json(200, { QueryResponse: { totalCount: result.totalCount }, time });
      if (result.rows.length === 0) return json(200, { QueryResponse: {}, time });
      return json(200, {
        QueryResponse: { Employee: result.rows, startPosition: result.startPosition, maxResults: result.rows.length },
        time,
      });
    } catch (err) {
      if (err instanceof QueryParseError) return json(400, queryParseFaultBody(err.detail, this.ms()));
      if (err instanceof QueryValidationError) return json(400, queryInvalidFaultBody(err.detail, this.ms()));
      throw err;
    }
  }

  private read(realm: Realm, id: string): Reply {
    const e = realm.get(id);
    if (!e) return json(400, notFoundBody(this.ms()));
    return json(200, { Employee: e, time: formatBodyTime(this.ms(), this.offset) });
  }

  private cdc(realm: Realm, url: URL): Reply {
    const entities = (url.searchParams.get('entities') ?? '').split(',').map((s) => s.trim().toLowerCase());
    if (!entities.includes('employee')) {
      return json(400, invalidPropertyFaultBody('entities', 'the QBO sandbox serves CDC for Employee only', this.ms()));
    }
    const raw = url.searchParams.get('changedSince');
    if (raw === null || raw.trim() === '') {
      return json(400, invalidPropertyFaultBody('changedSince', 'required', this.ms()));
    }
    const since = parseQboTime(raw, this.offset);
    if (Number.isNaN(since)) {
      return json(400, invalidPropertyFaultBody('changedSince', `'${raw}' is not a valid date-time`, this.ms()));
    }
    if (since < this.ms() - CDC_MAX_AGE_MS) {
      return json(400, invalidPropertyFaultBody('changedSince', 'must be within the last 30 days', this.ms()));
    }
    const objects = realm.changedSince(since, CDC_MAX_OBJECTS);
    const time = formatBodyTime(this.ms(), this.offset);
    const inner = objects.length === 0 ? {} : { Employee: objects, startPosition: 1, maxResults: objects.length };
    return json(200, { CDCResponse: [{ QueryResponse: [inner] }], time });
  }

  private clientOk(req: IncomingMessage): boolean {
    const m = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    return decoded.slice(0, colon) === this.clientId && decoded.slice(colon + 1) === this.clientSecret;
  }

  private token(req: IncomingMessage, body: string): Reply {
    if (!this.clientOk(req)) return json(401, { error: 'invalid_client' });
    const p = parseParams(body, req.headers['content-type']);
    const withHard = String(req.headers['x-include-refresh-token-hard-expires-in'] ?? '').toLowerCase() === 'true';
    const noStore = { 'Cache-Control': 'no-cache, no-store', Pragma: 'no-cache' };
    if (p.grant_type === 'authorization_code') {
      if (!p.code) return json(400, { error: 'invalid_request' });
      const set = this.oauth.exchangeCode(p.code, p.redirect_uri, withHard);
      return set ? json(200, set, noStore) : json(400, { error: 'invalid_grant' });
    }
    if (p.grant_type === 'refresh_token') {
      if (!p.refresh_token) return json(400, { error: 'invalid_request' });
      const set = this.oauth.refresh(p.refresh_token, withHard);
      return set ? json(200, set, noStore) : json(400, { error: 'invalid_grant' });
    }
    return json(400, { error: 'unsupported_grant_type' });
  }

  private revoke(req: IncomingMessage, body: string): Reply {
    if (!this.clientOk(req)) return json(401, { error: 'invalid_client' });
    const p = parseParams(body, req.headers['content-type']);
    if (!p.token) return json(400, { error: 'invalid_request' });
    this.oauth.revoke(p.token);
    return { status: 200, body: '' };
  }

  /** Auto-consent: straight back to the app with a code, as if the user clicked Connect. */
  private authorize(url: URL): Reply {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== this.clientId) return { status: 400, body: 'invalid client_id', contentType: 'text/plain' };
    if (!redirectUri) return { status: 400, body: 'redirect_uri is required', contentType: 'text/plain' };
    if (q.get('response_type') !== 'code') return { status: 400, body: 'response_type must be code', contentType: 'text/plain' };
    const realmId = q.get('realmId') ?? this.realms.keys().next().value;
    if (!realmId) return { status: 400, body: 'no company loaded in the QBO sandbox', contentType: 'text/plain' };
    const code = this.oauth.issueCode(realmId, redirectUri);
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (q.has('state')) target.searchParams.set('state', q.get('state') ?? '');
    target.searchParams.set('realmId', realmId);
    return { status: 302, body: '', headers: { Location: target.toString() } };
  }
}

export async function startQboSandbox(opts: SandboxOptions = {}): Promise<QboSandbox> {
  const sandbox = new Sandbox(opts);
  await sandbox.listen();
  return sandbox;
}
