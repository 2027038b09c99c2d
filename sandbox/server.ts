/**
 * A local stand-in for Intuit's QuickBooks Online API: OAuth (authorize, token, revoke),
 * Employee query / COUNT / read by id / CDC, TimeActivity create (single and batch, with
 * requestid replay) / read / query, in Intuit's exact JSON, with injectable faults and Intuit's
 * per-realm limits. Used by tests, benchmarks and the demo; never in production.
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
import type { CompanyInput, RawEmployee, RawTimeActivity } from './types';
import { Realm } from './company';
import { OAuthStore } from './oauth';
import {
  FaultQueue,
  fault200Body,
  forbiddenBody,
  invalidPropertyError,
  invalidPropertyFaultBody,
  invalidRequestIdError,
  notFoundBody,
  queryInvalidFaultBody,
  queryParseFaultBody,
  serverErrorBody,
  throttleJsonBody,
  throttleXmlBody,
  unauthorizedBody,
  validationFaultBody,
} from './faults';
import type { FaultError, FaultSpec, InjectedFault, RequestEndpoint } from './faults';
import { Limiter } from './limits';
import type { Admission, LimitOptions } from './limits';
import { checkBatch, itemTimeActivity } from './batch';
import { checkTimeActivity } from './timeactivity';
import type { StoredAnswer } from './timeactivity';
import {
  QueryParseError,
  QueryValidationError,
  looksLikeCount,
  parseQuery,
  queriedEntity,
  runEmployeeQuery,
  runTimeActivityQuery,
} from './query';
import { DEFAULT_OFFSET_MINUTES, formatBodyTime, formatQboTime, parseQboTime } from './time';
import { sendWebhook, WebhookNotifier } from './webhooks';
import type { SendWebhookOptions, WebhookSendResult, WebhookSubscription } from './webhooks';

export { generateCompany } from './generate';
export type { GenerateOptions } from './generate';
export type { CompanyInput, DeletedStub, RawEmployee, RawTimeActivity, Ref } from './types';
export type { FaultKind, FaultSpec, FaultEndpoint, RequestEndpoint } from './faults';
export type { LimitOptions } from './limits';
export { INTUIT_LIMITS } from './limits';
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
   * Intuit's per-realm limits on every API endpoint, writes and batch included (INTUIT_LIMITS:
   * 500 requests and 40 batch requests a minute, 10 in flight); 429 ThrottleExceeded past any.
   * Off unless given, so tests that hammer one realm do not trip over them by accident.
   * `windowMs` shortens the minute for time-scaled benchmarks (see LimitOptions).
   */
  limits?: LimitOptions;
}

/** Intuit's requestid length limits: 50, but 36 on batch (whose items are keyed requestid+bId). */
const REQUEST_ID_MAX = 50;
const BATCH_REQUEST_ID_MAX = 36;

export interface SandboxRequest {
  endpoint: RequestEndpoint;
  realmId: string | null;
  status: number; // 0 while unanswered (slow) or never answered (silent)
  query?: string; // the query text, for 'query' and 'count'
  changedSince?: string; // as received, for 'cdc'
  requestId?: string; // the requestid query parameter, for 'timeactivity' and 'batch'
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
  /** Every TimeActivity created in the realm, in creation order (copies). */
  timeActivities(realmId: string): RawTimeActivity[];
  /**
   * requestid → how many TimeActivities were really created under it (a batch counts each of
   * its items). A requestid that wrote twice shows 2: tests prove exactly-once with it.
   */
  timeActivityCountByRequestId(realmId: string): Map<string, number>;
  /** How many 429s the limits gave the realm (injected faults not included). */
  throttled(realmId: string): number;
  /** The most requests the realm had in flight at once, limits on or off; 0 if none came. */
  peakConcurrency(realmId: string): number;
  issueAuthorizationCode(realmId: string, redirectUri?: string): string;
  expireAccessTokens(): void;
  injectFault(f: FaultSpec): void;
  clearFaults(): void;
  requests: SandboxRequest[];
  count(endpoint: string, realmId?: string): number;
  /** Clears the request log, and the throttled counts and concurrency peaks with it. */
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
  entity?: 'employee' | 'timeactivity'; // for 'read'
  entityId?: string;
}

/** A path segment as sent when it is not valid percent-encoding (decodeURIComponent would throw). */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function route(method: string, url: URL, query: string | undefined): Route {
  const api = /^\/v3\/company\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const path = url.pathname;
  if (api) {
    const realmId = decodeSegment(api[1] as string);
    const rest = api[2] ?? '';
    if (/^\/query\/?$/i.test(rest) && (method === 'GET' || method === 'POST')) {
      return { endpoint: query !== undefined && looksLikeCount(query) ? 'count' : 'query', realmId };
    }
    if (/^\/cdc\/?$/i.test(rest) && method === 'GET') return { endpoint: 'cdc', realmId };
    const read = /^\/(employee|timeactivity)\/([^/]+)\/?$/i.exec(rest);
    if (read && method === 'GET') {
      const entity = (read[1] as string).toLowerCase() as 'employee' | 'timeactivity';
      return { endpoint: 'read', realmId, entity, entityId: decodeSegment(read[2] as string) };
    }
    // ?operation=update|delete|void are other operations on the same path: not served.
    if (/^\/timeactivity\/?$/i.test(rest) && method === 'POST' && !url.searchParams.has('operation')) {
      return { endpoint: 'timeactivity', realmId };
    }
    if (/^\/batch\/?$/i.test(rest) && method === 'POST') return { endpoint: 'batch', realmId };
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

/** The JSON a write carries; undefined when it is not JSON at all. */
function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function unreadableBody(): FaultError {
  return invalidPropertyError('(body)', 'the request body is not JSON');
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
  private readonly limiter: Limiter;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: SandboxOptions) {
    this.now = opts.now ?? (() => new Date());
    this.clientId = opts.clientId ?? 'sandbox-client-id';
    this.clientSecret = opts.clientSecret ?? 'sandbox-client-secret';
    this.offset = DEFAULT_OFFSET_MINUTES;
    this.limiter = new Limiter(opts.limits);
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

  timeActivities(realmId: string): RawTimeActivity[] {
    return structuredClone([...this.realm(realmId).timeActivities.all()]);
  }

  timeActivityCountByRequestId(realmId: string): Map<string, number> {
    return this.realm(realmId).timeActivities.countByRequestId();
  }

  throttled(realmId: string): number {
    return this.limiter.throttled(realmId);
  }

  peakConcurrency(realmId: string): number {
    return this.limiter.peakConcurrency(realmId);
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
    this.limiter.resetStats();
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
    const admission = this.admit(req, res);
    readBody(req).then(
      (body) => this.dispatch(req, res, body, admission),
      () => {
        if (!res.headersSent) res.writeHead(413).end();
      },
    );
  }

  /**
   * Intuit's gateway meters a request as it arrives, before the service sees it: limits come
   * before the body is read and before injected faults, and a slow or silent request holds its
   * place in flight until it is answered or dropped. Null for requests without a realm (OAuth).
   */
  private admit(req: IncomingMessage, res: ServerResponse): Admission | null {
    const r = route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://sandbox.local'), undefined);
    if (r.realmId === null) return null;
    const admission = this.limiter.admit(r.realmId, r.endpoint === 'batch');
    if (admission.ok) res.once('close', admission.release);
    return admission;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, body: string, admission: Admission | null): void {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox.local');
    let queryText = url.searchParams.get('query') ?? undefined;
    if (queryText === undefined && method === 'POST' && /\/query\/?$/i.test(url.pathname)) {
      // Intuit also takes the query as a POST body (Content-Type application/text).
      queryText = (req.headers['content-type'] ?? '').includes('form')
        ? (new URLSearchParams(body).get('query') ?? undefined)
        : body;
    }
    const r = route(method, url, queryText);
    const record: SandboxRequest = { endpoint: r.endpoint, realmId: r.realmId, status: 0, method, path: url.pathname, at: this.ms() };
    if (r.endpoint === 'query' || r.endpoint === 'count') record.query = queryText ?? '';
    if (r.endpoint === 'cdc') record.changedSince = url.searchParams.get('changedSince') ?? undefined;
    if (r.endpoint === 'timeactivity' || r.endpoint === 'batch') record.requestId = url.searchParams.get('requestid') ?? undefined;
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

    if (admission && !admission.ok) return send(json(429, throttleJsonBody(this.ms())));

    const fault = this.faults.take(r.endpoint, r.realmId);
    if (!fault) return send(this.guarded(answer));
    this.applyFault(fault, req, send, answer);
  }

  /** Answers (or does not answer) one request the way the injected fault says. */
  private applyFault(fault: InjectedFault, req: IncomingMessage, send: (reply: Reply) => void, answer: () => Reply): void {
    const retryAfter: Record<string, string> = fault.retryAfterSec !== undefined ? { 'Retry-After': String(fault.retryAfterSec) } : {};
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
      case 'commit-then-drop':
        // The work is done (and remembered under its requestid); the answer never leaves.
        this.guarded(answer);
        req.socket.destroy();
        return;
    }
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
      case 'read':
      case 'timeactivity':
      case 'batch': {
        const denied = this.authorizeApi(req, r.realmId as string);
        if (denied) return denied;
        const realm = this.realms.get(r.realmId as string) as Realm;
        if (r.endpoint === 'cdc') return this.cdc(realm, url);
        if (r.endpoint === 'read') return this.read(realm, r.entity ?? 'employee', r.entityId as string);
        if (r.endpoint === 'timeactivity') return this.idempotent(realm, url, REQUEST_ID_MAX, (id) => this.createTimeActivity(realm, body, id));
        if (r.endpoint === 'batch') return this.idempotent(realm, url, BATCH_REQUEST_ID_MAX, (id) => this.batch(realm, body, id));
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
      const entity = queriedEntity(parsed);
      const result =
        entity === 'TimeActivity' ? runTimeActivityQuery(parsed, realm.timeActivities.all()) : runEmployeeQuery(parsed, realm.all());
      if (result.kind === 'count') return json(200, { QueryResponse: { totalCount: result.totalCount }, time });
      if (result.rows.length === 0) return json(200, { QueryResponse: {}, time });
      return json(200, {
        QueryResponse: { [entity]: result.rows, startPosition: result.startPosition, maxResults: result.rows.length },
        time,
      });
    } catch (err) {
      if (err instanceof QueryParseError) return json(400, queryParseFaultBody(err.detail, this.ms()));
      if (err instanceof QueryValidationError) return json(400, queryInvalidFaultBody(err.detail, this.ms()));
      throw err;
    }
  }

  private read(realm: Realm, entity: 'employee' | 'timeactivity', id: string): Reply {
    const time = formatBodyTime(this.ms(), this.offset);
    if (entity === 'timeactivity') {
      const t = realm.timeActivities.get(id);
      return t ? json(200, { TimeActivity: t, time }) : json(400, notFoundBody(this.ms()));
    }
    const e = realm.get(id);
    if (!e) return json(400, notFoundBody(this.ms()));
    return json(200, { Employee: e, time });
  }

  /**
   * Intuit's requestid: a repeat within the realm gets the first answer again, byte for byte,
   * whatever it was (a fault too) and whatever the repeat's body says, and nothing is written.
   * One namespace per realm for every write, as Intuit asks requestids to be unique per company.
   * Without a requestid every request writes. Answers refused before the write (auth, limits,
   * injected faults) are not remembered: nothing happened, so a retry must be able to write.
   */
  private idempotent(realm: Realm, url: URL, maxLength: number, write: (requestId: string | undefined) => Reply): Reply {
    const requestId = url.searchParams.get('requestid') || undefined;
    if (requestId === undefined) return write(undefined);
    if (requestId.length > maxLength) return json(400, validationFaultBody(invalidRequestIdError(requestId, maxLength), this.ms()));
    const first = realm.timeActivities.firstAnswer(requestId);
    if (first) return { ...first };
    const reply = write(requestId);
    const stored: StoredAnswer = { status: reply.status, body: reply.body, contentType: reply.contentType };
    realm.timeActivities.remember(requestId, stored);
    return reply;
  }

  /** One TimeActivity: the error that stops it, or the row written. */
  private writeTimeActivity(realm: Realm, input: unknown, requestId: string | undefined): { fault: FaultError } | { row: RawTimeActivity } {
    const checked = checkTimeActivity(input, { employee: (id) => realm.get(id), offsetMinutes: this.offset });
    if (!checked.ok) return { fault: checked.fault };
    return { row: realm.timeActivities.add(checked.draft, formatQboTime(this.ms(), this.offset), requestId) };
  }

  private createTimeActivity(realm: Realm, body: string, requestId: string | undefined): Reply {
    const input = parseJsonBody(body);
    if (input === undefined) return json(400, validationFaultBody(unreadableBody(), this.ms()));
    const out = this.writeTimeActivity(realm, input, requestId);
    if ('fault' in out) return json(400, validationFaultBody(out.fault, this.ms()));
    return json(200, { TimeActivity: out.row, time: formatBodyTime(this.ms(), this.offset) });
  }

  /** Items are checked and written one by one: a bad item fails alone, answered in its place. */
  private batch(realm: Realm, body: string, requestId: string | undefined): Reply {
    const input = parseJsonBody(body);
    if (input === undefined) return json(400, validationFaultBody(unreadableBody(), this.ms()));
    const checked = checkBatch(input, requestId !== undefined);
    if (!checked.ok) return json(400, validationFaultBody(checked.fault, this.ms()));
    const answers = checked.items.map((item) => {
      const wanted = itemTimeActivity(item);
      const out = wanted.ok ? this.writeTimeActivity(realm, wanted.body, requestId) : { fault: wanted.fault };
      if ('fault' in out) return { bId: item.bId, Fault: { Error: [out.fault], type: 'ValidationFault' } };
      return { bId: item.bId, TimeActivity: out.row };
    });
    return json(200, { BatchItemResponse: answers, time: formatBodyTime(this.ms(), this.offset) });
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

/** The variables that point this product at a running sandbox instead of Intuit (tests, demo, benches). */
export function sandboxEnv(sb: Pick<QboSandbox, 'url' | 'authorizeUrl' | 'tokenUrl' | 'revokeUrl'>): Record<string, string> {
  return {
    QBO_CLIENT_ID: 'sandbox-client-id',
    QBO_CLIENT_SECRET: 'sandbox-client-secret',
    QBO_API_BASE: sb.url,
    QBO_AUTHORIZE_URL: sb.authorizeUrl,
    QBO_TOKEN_URL: sb.tokenUrl,
    QBO_REVOKE_URL: sb.revokeUrl,
  };
}
