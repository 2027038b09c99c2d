import { DomainError } from '../errors';
import { ConnectionUnavailableError } from '../qbo/tokens';
import { SyncError } from '../sync/run-sync';

/**
 * Every error the API answers is `{ "error": { "code", "message", ...details } }`. This file is
 * the one place that decides which status a failure gets: domain refusals by their stable
 * code, framework errors (body too large, wrong content type, bad JSON) by theirs, database
 * and Redis outages as 503, anything else as a logged 500 that says nothing about internals.
 */

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

/** Status of each domain refusal code (DomainError, SyncError, ConnectionUnavailableError). */
export const DOMAIN_STATUS: Readonly<Record<string, number>> = {
  // the organisation is not there (or not yours: the same answer, never a hint)
  invalid_org_id: 404,
  org_not_found: 404,
  employee_not_found: 404,
  sync_run_not_found: 404,
  connection_not_found: 404,
  import_not_found: 404,
  export_not_found: 404,
  time_entry_not_found: 404,
  member_not_found: 404,
  link_request_not_found: 404,
  // input the domain refused
  invalid_name: 400,
  invalid_plan: 400,
  invalid_seat_limit: 400,
  invalid_sync_interval: 400,
  invalid_email: 400,
  invalid_callback: 400,
  qbo_consent_denied: 400,
  invalid_request: 400,
  invalid_date: 400,
  invalid_time: 400,
  invalid_period: 400,
  invalid_duration: 400,
  invalid_description: 400,
  invalid_billable: 400,
  invalid_member_id: 400,
  invalid_employee_id: 400,
  duplicate_employee_ids: 400,
  too_many_employees: 400,
  // the body names employees this organisation's company does not have
  unknown_employees: 400,
  // the state of things forbids it now
  member_email_taken: 409,
  seat_quota_exceeded: 409,
  realm_taken: 409,
  realm_changed: 409,
  qbo_not_connected: 409,
  connection_needs_reauth: 409,
  connection_disconnected: 409,
  org_busy: 409,
  no_time_entries: 409,
  // too many requests at once for one organisation: come back in a second
  sync_request_contention: 429,
  // our own configuration is broken; no client can fix it
  token_key_mismatch: 500,
};

const RETRY_AFTER: Readonly<Record<string, string>> = { sync_request_contention: '1', org_busy: '30' };

/** Fastify's own error codes → our status and code. */
const FRAMEWORK: Readonly<Record<string, { status: number; code: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type' },
};

const FRAMEWORK_MESSAGE: Readonly<Record<string, string>> = {
  body_too_large: 'The request body is larger than this server accepts',
  unsupported_media_type: 'This content type is not accepted here',
  invalid_json: 'The request body is not valid JSON',
  invalid_content_length: 'The Content-Length header does not match the body',
};

function errCode(err: unknown): string | null {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : null;
}

type Outage = 'database' | 'redis' | 'redis_stalled';

/**
 * Dependency outages: MongoDB/mongoose driver errors and ioredis connection errors. A Redis
 * that stalls (a command timed out) is told apart: what was sent may still run when it wakes.
 */
export function dependencyDown(err: unknown): Outage | null {
  if (!(err instanceof Error)) return null;
  if (/^Mongo/.test(err.name) && !('code' in err && (err as { code?: unknown }).code === 11000)) {
    return /Server ?Selection|Network|NotConnected|Timeout|PoolCleared/i.test(err.name) ? 'database' : null;
  }
  if (/Command timed out/i.test(err.message)) return 'redis_stalled';
  if (err.name === 'MaxRetriesPerRequestError' || /Connection is closed|ECONNREFUSED|Stream isn't writeable/i.test(err.message)) return 'redis';
  return null;
}

const OUTAGE: Record<Outage, { code: string; message: string }> = {
  database: { code: 'database_unavailable', message: 'The database is not reachable; try again shortly' },
  redis: { code: 'queue_unavailable', message: 'The queue store (Redis) is not reachable; try again shortly' },
  redis_stalled: {
    code: 'queue_unavailable',
    message: 'The queue store (Redis) did not answer in time; the request may still take effect when it catches up, so check before repeating it',
  },
};

/** The one mapping from any failure to what the client is told. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError || err instanceof SyncError || err instanceof ConnectionUnavailableError) {
    const status = DOMAIN_STATUS[err.code] ?? 400;
    const details = err instanceof DomainError ? err.details : {};
    const retry = RETRY_AFTER[err.code];
    return new ApiError(status, err.code, status === 500 ? 'The server cannot use its stored credentials; an operator must fix its configuration' : err.message, details, retry ? { 'Retry-After': retry } : {});
  }
  const code = errCode(err);
  const known = code ? FRAMEWORK[code] : undefined;
  if (known) return new ApiError(known.status, known.code, FRAMEWORK_MESSAGE[known.code] ?? known.code);
  // Fastify's JSON parser raises a SyntaxError carrying statusCode 400.
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (err instanceof SyntaxError && statusCode === 400) return new ApiError(400, 'invalid_json', FRAMEWORK_MESSAGE.invalid_json as string);
  const down = dependencyDown(err);
  if (down) return new ApiError(503, OUTAGE[down].code, OUTAGE[down].message, {}, { 'Retry-After': '5' });
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ApiError(statusCode, (code ?? 'bad_request').toLowerCase().replace(/^fst_err_/, ''), err instanceof Error ? err.message : 'Bad request');
  }
  return new ApiError(500, 'internal_error', 'Something went wrong on our side; it has been logged');
}

export function errorBody(e: ApiError): ErrorBody {
  return { error: { ...e.details, code: e.code, message: e.message } };
}
