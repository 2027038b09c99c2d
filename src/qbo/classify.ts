// The one place that decides what a failed call to Intuit means (STYLE.md "Errors"). Workers map
// the kind to BullMQ: permanent → UnrecoverableError, throttled → wait without spending an
// attempt, token_expired → refresh and retry once, reauth → mark the connection, retry → backoff.
// Pure: no I/O, no clock unless `now` is left out.
import { QboBodyError } from './parse';

export type FailureKind = 'retry' | 'throttled' | 'token_expired' | 'reauth' | 'permanent';

export interface Classified {
  kind: FailureKind;
  /** Intuit's error code when known ('3001', '3200', '610' …), else e.g. 'http_500', 'timeout'. */
  code: string;
  /** For people and logs; never contains tokens or email addresses. */
  reason: string;
  status: number | null;
  /** Only for 'throttled': how long Intuit asked us to wait. */
  waitMs?: number;
}

/** QBO.md: after a 429 without Retry-After, wait about a minute. */
export const DEFAULT_THROTTLE_WAIT_MS = 60_000;
/** A Retry-After of 0 or a date in the past still means "not right now". */
const MIN_THROTTLE_WAIT_MS = 1_000;
const MAX_REASON_LENGTH = 400;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null;
}

function str(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function get(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------
// Keeping secrets out of reasons

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /\b(Bearer|Basic)\s+[^\s,;]+/gi;
const SECRET_PARAM = /\b(access_token|refresh_token|id_token|client_secret|token|code)=[^&\s;,]+/gi;
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*/g;
// Opaque runs mixing letters and digits (refresh tokens like "AB11…", "Token expired: AB0173…").
const OPAQUE = /[A-Za-z0-9_\-+/~.]{12,}/g;

/** Masks anything that could be a credential or an email address, and bounds the length. */
function clean(text: string): string {
  const out = text
    .replace(BEARER, '$1 [redacted]')
    .replace(SECRET_PARAM, '$1=[redacted]')
    .replace(JWT_LIKE, '[redacted]')
    .replace(EMAIL, '[email]')
    .replace(OPAQUE, (run) => (/\d/.test(run) && /[A-Za-z]/.test(run) ? '[redacted]' : run))
    .replace(/\s+/g, ' ')
    .trim();
  return out.length > MAX_REASON_LENGTH ? `${out.slice(0, MAX_REASON_LENGTH - 1)}…` : out;
}

// ---------------------------------------------------------------------------------------------
// Reading Intuit Faults: {"Fault":{"Error":[…]}}, the lower-case 401 {"fault":{"error":[…]}},
// intuit-oauth's {fault:{errors:[…]}}, and the XML <Fault><Error code=…> seen with throttling.

interface FaultError {
  code: string | null;
  message: string | null;
  detail: string | null;
}

interface Fault {
  type: string | null;
  errors: FaultError[];
}

/** '003200' and 3200 both mean '3200'; Intuit Messages also spell it "errorCode=003200". */
function faultCode(raw: unknown, message: string | null): string | null {
  const direct = str(raw);
  const fromMessage = message ? /errorCode=(\d+)/i.exec(message)?.[1] : undefined;
  const code = direct ?? fromMessage ?? null;
  return code === null ? null : code.replace(/^0+(?=\d)/, '');
}

function faultFromObject(body: Obj): Fault | null {
  const f = body.Fault ?? body.fault;
  if (!isObj(f)) return null;
  const list = f.Error ?? f.error ?? f.errors;
  const errors = (Array.isArray(list) ? list : isObj(list) ? [list] : []).filter(isObj).map((e): FaultError => {
    const message = str(e.Message ?? e.message);
    return { code: faultCode(e.code ?? e.Code, message), message, detail: str(e.Detail ?? e.detail) };
  });
  return { type: str(f.type ?? f.Type), errors };
}

function decodeXml(s: string): string {
  return s
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;|&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function xmlText(inner: string, tag: string): string | null {
  const m = new RegExp(`<(?:\\w+:)?${tag}\\b[^>]*>([\\s\\S]*?)</(?:\\w+:)?${tag}>`).exec(inner);
  return m?.[1] === undefined ? null : str(decodeXml(m[1]));
}

function faultFromXml(xml: string): Fault | null {
  const fault = /<(?:\w+:)?Fault\b([^>]*)>/.exec(xml);
  if (!fault) return null;
  const type = /\btype\s*=\s*"([^"]*)"/.exec(fault[1] ?? '')?.[1] ?? null;
  const errors: FaultError[] = [];
  for (const m of xml.matchAll(/<(?:\w+:)?Error\b([^>]*)>([\s\S]*?)<\/(?:\w+:)?Error>/g)) {
    const inner = m[2] ?? '';
    const message = xmlText(inner, 'Message');
    const attrCode = /\bcode\s*=\s*"([^"]*)"/.exec(m[1] ?? '')?.[1];
    errors.push({ code: faultCode(attrCode, message), message, detail: xmlText(inner, 'Detail') });
  }
  return { type: str(type), errors };
}

function bodyText(body: unknown): string | null {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return null;
}

function readFault(body: unknown): Fault | null {
  const text = bodyText(body);
  if (text !== null) {
    const t = text.trim();
    if (t.startsWith('<')) return faultFromXml(t);
    if (t.startsWith('{')) {
      try {
        return readFault(JSON.parse(t) as unknown);
      } catch {
        return null;
      }
    }
    return null;
  }
  return isObj(body) ? faultFromObject(body) : null;
}

// ---------------------------------------------------------------------------------------------
// Reading the error shapes our adapter sees (axios, node-quickbooks, intuit-oauth, our own)

/** The HTTP response an error carries: axios `response`, or intuit-oauth's `authResponse.response`. */
function responseOf(err: unknown): Obj | null {
  const r = get(err, 'response');
  if (isObj(r) && ('status' in r || 'data' in r)) return r;
  const auth = get(err, 'authResponse', 'response');
  return isObj(auth) ? auth : null;
}

function httpStatus(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d{3}$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599 ? n : null;
}

function statusOf(err: unknown, response: Obj | null): number | null {
  const fromResponse = httpStatus(response?.status);
  if (fromResponse !== null) return fromResponse;
  const direct = httpStatus(get(err, 'status')) ?? httpStatus(get(err, 'statusCode'));
  if (direct !== null) return direct;
  // intuit-oauth's OAuthError puts the HTTP status in `code` ('401', '429' …).
  return get(err, 'name') === 'OAuthError' ? httpStatus(get(err, 'code')) : null;
}

function header(headers: unknown, name: string): unknown {
  if (!isObj(headers)) return undefined;
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === wanted) return headers[key];
  }
  // Fetch-style Headers keep their entries out of sight.
  const getter = headers.get;
  if (typeof getter === 'function') {
    const v: unknown = getter.call(headers, name);
    return v ?? undefined;
  }
  return undefined;
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: unknown, now: number = Date.now()): number | null {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number') return Number.isFinite(first) && first >= 0 ? Math.round(first * 1000) : null;
  if (typeof first !== 'string') return null;
  const v = first.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!/[A-Za-z]/.test(v)) return null; // a bare or negative number is not a date
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Every body an error may carry, most specific first. */
function bodiesOf(err: unknown, response: Obj | null): unknown[] {
  return [
    response?.data,
    response?.body,
    get(err, 'authResponse', 'json'),
    get(err, 'authResponse', 'body'),
    get(err, 'body'),
    err, // node-quickbooks hands over a 200's Fault body as the error itself; OAuthError has .fault
  ];
}

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'TIMEOUT_ERROR', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'timeout']);
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN',
  'EHOSTDOWN', 'ERR_NETWORK', 'NETWORK_ERROR', 'UND_ERR_SOCKET',
]);

/** Messages of wrappers that dropped the code (intuit-oauth copies only the message). */
function messagesOf(err: unknown): string {
  return [get(err, 'message'), get(err, 'originalMessage')].map(str).filter(Boolean).join(' ');
}

function isTimeout(err: unknown): boolean {
  const name = get(err, 'name');
  const code = str(get(err, 'code'));
  if (name === 'QboTimeoutError' || name === 'TimeoutError' || (code !== null && TIMEOUT_CODES.has(code))) return true;
  return /\b(ETIMEDOUT|ESOCKETTIMEDOUT)\b|timeout of \d+ ?ms exceeded/i.test(messagesOf(err));
}

function networkCode(err: unknown, response: Obj | null): string | null {
  const code = str(get(err, 'code'));
  if (code !== null && NETWORK_CODES.has(code)) return code;
  // An axios error without a response never reached Intuit (or never heard back).
  if (get(err, 'isAxiosError') === true && response === null) return code ?? 'no_response';
  if (str(get(err, 'syscall')) !== null && code !== null) return code;
  return /\b(ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EPIPE|ENETUNREACH|EHOSTUNREACH)\b/.exec(messagesOf(err))?.[1] ?? null;
}

/** OAuth token-endpoint error ('invalid_grant' …) from any of the places intuit-oauth puts it. */
function oauthErrorOf(err: unknown, response: Obj | null): string | null {
  const candidates: unknown[] = [
    get(err, 'error'),
    get(response, 'data', 'error'),
    get(err, 'authResponse', 'json', 'error'),
    get(err, 'authResponse', 'body'),
    get(err, 'originalMessage'),
    get(err, 'message'),
    typeof response?.data === 'string' ? response.data : undefined,
    typeof err === 'string' ? err : undefined,
  ];
  for (const c of candidates) {
    const text = str(c);
    const m = text === null ? null : /\b(invalid_grant|invalid_client|unauthorized_client)\b/.exec(text);
    if (m?.[1] !== undefined) return m[1];
  }
  return null;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  const m = str(get(err, 'message'));
  if (m !== null) return m;
  return typeof err === 'string' ? err : Object.prototype.toString.call(err);
}

// ---------------------------------------------------------------------------------------------

const THROTTLE_RE = /ThrottleExceeded/i;
const AUTHZ_RE = /ApplicationAuthorizationFailed/i;

function withStatus(text: string, status: number | null): string {
  if (status === null) return text;
  return text === `http_${status}` ? `HTTP ${status}` : `${text}, HTTP ${status}`;
}

function describeFaultError(e: FaultError): string {
  const message = e.message ?? '';
  const detail = e.detail ?? '';
  // Intuit's Detail usually repeats the Message as its prefix.
  if (detail && message && detail.toLowerCase().startsWith(message.toLowerCase())) return detail;
  return [message, detail].filter(Boolean).join(': ') || 'no details given';
}

function fromFault(fault: Fault | null, status: number | null, headers: unknown, now: number, extraText: string): Classified | null {
  const errors = fault?.errors ?? [];
  const codes = errors.map((e) => e.code).filter((c): c is string => c !== null);
  const texts = [...errors.flatMap((e) => [e.message ?? '', e.detail ?? '']), extraText].join(' ');
  const has = (code: string) => codes.includes(code);
  const first = errors[0];

  // Throttling first: it has been seen as XML and with status 403, which must not read as reauth.
  if (status === 429 || has('3001') || THROTTLE_RE.test(texts)) {
    const asked = retryAfterMs(header(headers, 'retry-after'), now);
    const waitMs = asked === null ? DEFAULT_THROTTLE_WAIT_MS : Math.max(MIN_THROTTLE_WAIT_MS, asked);
    const code = has('3001') ? '3001' : 'http_429';
    const source = asked === null ? 'default wait' : 'Retry-After';
    return {
      kind: 'throttled', code, status, waitMs,
      reason: `QBO throttled the request (${withStatus(code === '3001' ? '3001 ThrottleExceeded' : 'rate limit', status)}); waiting ${Math.ceil(waitMs / 1000)} s (${source})`,
    };
  }
  // The Detail of a 3200 quotes part of the token: never copy it into the reason.
  if (status === 401 || has('3200')) {
    const code = has('3200') ? '3200' : 'http_401';
    return {
      kind: 'token_expired', code, status,
      reason: `QBO rejected the access token as expired or invalid (${withStatus(code, status)}); refresh it and retry once`,
    };
  }
  if (has('3100') || AUTHZ_RE.test(texts) || status === 403) {
    const code = has('3100') ? '3100' : 'http_403';
    return {
      kind: 'reauth', code, status,
      reason: `QBO refused this app access to the company (${withStatus(code, status)}); the customer must reconnect QuickBooks`,
    };
  }
  if ((status !== null && status >= 500) || has('10000') || status === 408) {
    const code = has('10000') ? '10000' : `http_${status ?? 500}`;
    const what = first ? `: ${describeFaultError(first)}` : '';
    return { kind: 'retry', code, status, reason: clean(`QBO had a server-side problem (${withStatus(code, status)})${what}`) };
  }
  if (first) {
    const code = first.code ?? (status === null ? 'fault' : `http_${status}`);
    // A SystemFault is Intuit's own trouble; everything else (ValidationFault …) needs a person.
    const kind: FailureKind = fault?.type && /system/i.test(fault.type) ? 'retry' : 'permanent';
    const verb = kind === 'retry' ? 'QBO reported a system fault' : 'QBO rejected the request';
    return { kind, code, status, reason: clean(`${verb} (${withStatus(code, status)}): ${describeFaultError(first)}`) };
  }
  return null;
}

function malformed(err: QboBodyError): Classified {
  return {
    kind: 'retry', code: 'malformed_body', status: null,
    reason: clean(`QBO sent a body we could not read (${err.message}); usually a transient truncated answer, so retrying`),
  };
}

export function classifyQboError(err: unknown, now: number = Date.now()): Classified {
  if (err instanceof QboBodyError) {
    if (err.fault === undefined) return malformed(err);
    return fromFault(readFault(err.fault), null, undefined, now, bodyText(err.fault) ?? '') ?? malformed(err);
  }

  const response = responseOf(err);
  const status = statusOf(err, response);

  const oauthError = oauthErrorOf(err, response);
  if (oauthError === 'invalid_grant') {
    return {
      kind: 'reauth', code: 'invalid_grant', status,
      reason: 'Intuit refused the refresh token (invalid_grant); the customer must reconnect QuickBooks',
    };
  }
  if (oauthError !== null) {
    // Our client id/secret are wrong or not allowed: no retry or reconnect fixes that.
    return {
      kind: 'permanent', code: oauthError, status,
      reason: `Intuit refused our app credentials (${oauthError}); check the QuickBooks client id and secret`,
    };
  }

  const headers = response?.headers;
  let fault: Fault | null = null;
  let plainText = '';
  for (const body of bodiesOf(err, response)) {
    fault ??= readFault(body);
    const text = bodyText(body);
    if (text !== null) plainText += ` ${text}`;
  }
  if (get(err, 'code') === 'RATE_LIMIT_EXCEEDED') plainText += ' ThrottleExceeded';

  const byFault = fromFault(fault, status, headers, now, plainText);
  if (byFault) return byFault;

  if (isTimeout(err)) {
    return { kind: 'retry', code: 'timeout', status, reason: clean(`QBO did not answer in time (${errorMessage(err)})`) };
  }
  const network = networkCode(err, response);
  if (network !== null) {
    return { kind: 'retry', code: 'network', status, reason: clean(`Network error talking to QBO (${network}: ${errorMessage(err)})`) };
  }
  if (get(err, 'code') === 'INTERNAL_SERVER_ERROR') {
    return { kind: 'retry', code: 'http_500', status: status ?? 500, reason: 'QBO had a server-side problem (HTTP 500)' };
  }
  if (status !== null && status >= 400) {
    return { kind: 'permanent', code: `http_${status}`, status, reason: `QBO answered HTTP ${status} without a readable Fault` };
  }
  return { kind: 'retry', code: 'unknown', status, reason: clean(`Unexpected error calling QBO: ${errorMessage(err)}`) };
}

/**
 * Delay before retry number `attempt` (1 = first retry): exponential growth with full jitter,
 * i.e. uniform in [0, min(cap, base·2^(attempt-1))], so many workers failing together spread out.
 */
export function backoffMs(attempt: number, opts: { baseMs?: number; capMs?: number; random?: () => number } = {}): number {
  const base = Math.max(0, opts.baseMs ?? 1_000);
  const cap = Math.max(0, opts.capMs ?? 5 * 60_000);
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const ceiling = Math.min(cap, base * 2 ** Math.min(n - 1, 52));
  const r = (opts.random ?? Math.random)();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(unit * ceiling);
}
