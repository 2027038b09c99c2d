// Pure parts of the HTTP layer: keys, the one error mapping, Basic credentials.
import { describe, expect, it } from 'vitest';
import { z } from 'zod/v4';
import { DomainError } from '../../src/errors';
import { bearerKey, hashSecret, newOrgKey, parseKey, sameSecret } from '../../src/http/auth';
import { hasPrototypeKeys, numberIssueMessage, parseJsonRequestBody, POISONED_MESSAGE } from '../../src/http/body';
import { basicCredentials } from '../../src/http/bull-board';
import { ApiError, DOMAIN_STATUS, errorBody, toApiError } from '../../src/http/errors';
import { ConnectionUnavailableError } from '../../src/qbo/tokens';
import { SyncError } from '../../src/sync/run-sync';

const PEPPER = Buffer.alloc(32, 9);

describe('organisation keys', () => {
  it('have an id and a 256-bit secret, and only the hash of the secret is kept', () => {
    const k = newOrgKey(PEPPER);
    expect(k.key).toMatch(/^qmsk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const parsed = parseKey(k.key);
    expect(parsed?.keyId).toBe(k.keyId);
    expect(k.hash).toBe(hashSecret(parsed?.secret as string, PEPPER));
    expect(k.hash).not.toContain(parsed?.secret);
    expect(hashSecret(parsed?.secret as string, Buffer.alloc(32, 8))).not.toBe(k.hash);
    expect(newOrgKey(PEPPER).key).not.toBe(k.key);
  });

  it('parse only in their exact shape', () => {
    for (const s of ['', 'qmsk_', 'qmsk_abc.def', `qmsk_${'g'.repeat(16)}.${'a'.repeat(43)}`, `qmsk_${'a'.repeat(16)}.${'a'.repeat(42)}`, `x${newOrgKey(PEPPER).key}`]) {
      expect(parseKey(s), s).toBeNull();
    }
  });

  it('compare in constant time whatever the lengths', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'x')).toBe(false);
  });

  it('come as Bearer only', () => {
    expect(bearerKey('Bearer abc')).toBe('abc');
    expect(bearerKey('bearer   abc  ')).toBe('abc');
    for (const h of [undefined, '', 'Bearer', 'Basic abc', 'Bearer a b', 'abc']) expect(bearerKey(h), String(h)).toBeNull();
  });
});

describe('Basic credentials', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('split at the first colon (passwords may hold colons)', () => {
    expect(basicCredentials(`Basic ${b64('ops:pa:ss')}`)).toEqual({ user: 'ops', password: 'pa:ss' });
  });
  it('are null when absent or malformed', () => {
    for (const h of [undefined, '', 'Basic', `Bearer ${b64('a:b')}`, `Basic ${b64('nocolon')}`, 'Basic !!!']) expect(basicCredentials(h), String(h)).toBeNull();
  });
});

describe('error mapping', () => {
  it('maps domain codes to their status, keeping details', () => {
    const e = toApiError(new DomainError('seat_quota_exceeded', 'No seat', { seatsNeeded: 2, seatsFree: 1 }));
    expect(e.status).toBe(409);
    expect(errorBody(e)).toEqual({ error: { code: 'seat_quota_exceeded', message: 'No seat', seatsNeeded: 2, seatsFree: 1 } });
    expect(toApiError(new DomainError('org_not_found', 'x')).status).toBe(404);
    expect(toApiError(new DomainError('invalid_org_id', 'x')).status).toBe(404);
    expect(toApiError(new SyncError('qbo_not_connected', 'x')).status).toBe(409);
    expect(toApiError(new ConnectionUnavailableError('connection_needs_reauth', 'x')).status).toBe(409);
  });

  it('asks to retry contention later and hides our own misconfiguration', () => {
    const busy = toApiError(new SyncError('sync_request_contention', 'x'));
    expect([busy.status, busy.headers['Retry-After']]).toEqual([429, '1']);
    const key = toApiError(new ConnectionUnavailableError('token_key_mismatch', 'realm 123 does not decrypt'));
    expect(key.status).toBe(500);
    expect(key.message).not.toContain('123');
  });

  it('gives unknown domain codes 400, not 500', () => {
    expect(toApiError(new DomainError('something_new', 'x')).status).toBe(400);
    expect(Object.values(DOMAIN_STATUS).every((s) => [400, 404, 409, 429, 500].includes(s))).toBe(true);
  });

  it('maps framework errors: body too large, media type, bad JSON', () => {
    const fst = (code: string, statusCode: number) => Object.assign(new Error('x'), { code, statusCode });
    expect(toApiError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413))).toMatchObject({ status: 413, code: 'body_too_large' });
    expect(toApiError(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(toApiError(fst('FST_ERR_CTP_EMPTY_JSON_BODY', 400))).toMatchObject({ status: 400, code: 'invalid_json' });
    expect(toApiError(Object.assign(new SyntaxError('Unexpected end'), { statusCode: 400 }))).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('answers 503 for a database or Redis that is away', () => {
    const mongo = Object.assign(new Error('connect ECONNREFUSED'), { name: 'MongoServerSelectionError' });
    expect(toApiError(mongo)).toMatchObject({ status: 503, code: 'database_unavailable' });
    expect(toApiError(new Error('Connection is closed.'))).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const dup = Object.assign(new Error('E11000'), { name: 'MongoServerError', code: 11000 });
    expect(toApiError(dup).status).toBe(500);
  });

  it('says nothing of internals for anything else', () => {
    const e = toApiError(new Error('secret path /etc/x at line 3'));
    expect(e).toMatchObject({ status: 500, code: 'internal_error' });
    expect(e.message).not.toContain('secret');
    expect(toApiError(new ApiError(418, 'teapot', 'short and stout')).status).toBe(418);
  });
});

describe('JSON request bodies', () => {
  const refusal = (text: string) => {
    try {
      parseJsonRequestBody(text);
      return null;
    } catch (err) {
      return err instanceof ApiError ? { status: err.status, code: err.code, message: err.message } : err;
    }
  };

  it('reads an empty body as no body, and says why it refuses the rest', () => {
    expect(parseJsonRequestBody('')).toBeUndefined();
    expect(parseJsonRequestBody('  \n')).toBeUndefined();
    expect(parseJsonRequestBody('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] });
    expect(refusal('{"a":')).toEqual({ status: 400, code: 'invalid_json', message: 'The request body is not valid JSON' });
    for (const text of ['{"__proto__":{"x":1}}', '{"a":{"b":[{"\\u005f_proto__":1}]}}', '{"constructor":{"prototype":{}}}', '[{"constructor":{"prototype":null}}]']) {
      expect(refusal(text), text).toEqual({ status: 400, code: 'invalid_json', message: POISONED_MESSAGE });
    }
    // A "constructor" or "prototype" field alone is only data.
    expect(hasPrototypeKeys(JSON.parse('{"constructor":"x","prototype":{},"c":{"constructor":{"name":"y"}}}'))).toBe(false);
  });
});

describe('numbers JSON cannot hold', () => {
  it('are named as such, not "expected number, received number"', () => {
    const schema = z.object({ hours: z.number().int(), rate: z.number().optional() });
    const res = schema.safeParse({ hours: JSON.parse('1e400') as number, rate: -Infinity }, { error: numberIssueMessage });
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['hours', 'must be a finite number'],
      ['rate', 'must be a finite number'],
    ]);
    // Other issues keep zod's own message.
    expect(schema.safeParse({ hours: 'x' }, { error: numberIssueMessage }).error?.issues[0]?.message).toBe('Invalid input: expected number, received string');
  });
});
