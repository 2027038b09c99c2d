import { describe, expect, it } from 'vitest';
import { backoffMs, classifyQboError, DEFAULT_THROTTLE_WAIT_MS, retryAfterMs } from '../../src/qbo/classify';
import { parseQueryPage, QboBodyError } from '../../src/qbo/parse';
import { fixtureJson, fixtureText } from '../helpers/qbo-fixtures';

const NOW = Date.parse('2026-03-02T18:00:00Z');

/** The shape of an AxiosError as node-quickbooks (≥ 2.0.48) hands it over. */
function axiosError(opts: { status?: number; data?: unknown; headers?: Record<string, string>; code?: string; message?: string } = {}) {
  const err = new Error(opts.message ?? (opts.status ? `Request failed with status code ${opts.status}` : 'socket hang up')) as Error & Record<string, unknown>;
  err.name = 'AxiosError';
  err.isAxiosError = true;
  if (opts.code) err.code = opts.code;
  // What a real AxiosError also carries: the request config, Authorization header included.
  err.config = { headers: { Authorization: 'Bearer eyJhbGciOiJkaXIifQ..secret-access' } };
  if (opts.status !== undefined) {
    err.response = { status: opts.status, headers: opts.headers ?? {}, data: opts.data };
    err.status = opts.status;
  }
  return err;
}

/** What intuit-oauth's createError wraps a failed token call into. */
function intuitOauthError(body: unknown, status = 400) {
  const err = new Error(typeof body === 'object' && body && 'error' in body ? String(body.error) : 'Bad Request') as Error & Record<string, unknown>;
  err.error = typeof body === 'object' && body && 'error' in body ? body.error : '';
  err.authResponse = { body: JSON.stringify(body), json: body, response: { status, headers: {} } };
  err.originalMessage = `Request failed with status code ${status}`;
  err.intuit_tid = '1-abc';
  return err;
}

function expectNoSecrets(reason: string): void {
  expect(reason).not.toMatch(/eyJ|secret-access|AB0173000000|AB1178/);
  expect(reason).not.toMatch(/@example\.com/);
}

describe('throttling', () => {
  it('JSON 429 Fault → throttled 3001 with the default wait', () => {
    const c = classifyQboError(axiosError({ status: 429, data: fixtureJson('fault-429-throttle.json') }), NOW);
    expect(c).toMatchObject({ kind: 'throttled', code: '3001', status: 429, waitMs: DEFAULT_THROTTLE_WAIT_MS });
  });

  it('XML 429 Fault → throttled 3001', () => {
    const c = classifyQboError(axiosError({ status: 429, data: fixtureText('fault-429-throttle.xml') }), NOW);
    expect(c).toMatchObject({ kind: 'throttled', code: '3001', status: 429, waitMs: 60_000 });
  });

  it('XML ThrottleExceeded with status 403 → throttled, not reauth', () => {
    const c = classifyQboError(axiosError({ status: 403, data: fixtureText('fault-429-throttle.xml') }), NOW);
    expect(c).toMatchObject({ kind: 'throttled', code: '3001', status: 403 });
  });

  it('JSON 3001 Fault with status 403 → throttled', () => {
    expect(classifyQboError(axiosError({ status: 403, data: fixtureJson('fault-429-throttle.json') }), NOW).kind).toBe('throttled');
  });

  it('a 3001 Fault on a 200 (the body itself as the error) → throttled', () => {
    expect(classifyQboError(fixtureJson('fault-429-throttle.json'), NOW)).toMatchObject({ kind: 'throttled', code: '3001', status: null });
  });

  it('the XML Fault as bytes → throttled', () => {
    expect(classifyQboError(axiosError({ status: 403, data: Buffer.from(fixtureText('fault-429-throttle.xml')) }), NOW).code).toBe('3001');
  });

  it('a bare 429 without a body → throttled http_429', () => {
    expect(classifyQboError(axiosError({ status: 429 }), NOW)).toMatchObject({ kind: 'throttled', code: 'http_429', waitMs: 60_000 });
  });

  it('a plain-text ThrottleExceeded body → throttled', () => {
    expect(classifyQboError(axiosError({ status: 403, data: 'ThrottleExceeded' }), NOW).kind).toBe('throttled');
  });

  it('Retry-After in seconds sets the wait', () => {
    const c = classifyQboError(axiosError({ status: 429, headers: { 'retry-after': '17' }, data: fixtureJson('fault-429-throttle.json') }), NOW);
    expect(c.waitMs).toBe(17_000);
  });

  it('Retry-After is read whatever the header case', () => {
    expect(classifyQboError(axiosError({ status: 429, headers: { 'Retry-After': '5' } }), NOW).waitMs).toBe(5_000);
  });

  it('Retry-After as an HTTP date sets the wait relative to now', () => {
    const at = new Date(NOW + 42_000).toUTCString();
    expect(classifyQboError(axiosError({ status: 429, headers: { 'retry-after': at } }), NOW).waitMs).toBe(42_000);
  });

  it('a Retry-After date in the past still waits a second', () => {
    const at = new Date(NOW - 60_000).toUTCString();
    expect(classifyQboError(axiosError({ status: 429, headers: { 'retry-after': at } }), NOW).waitMs).toBe(1_000);
  });

  it('an unreadable Retry-After falls back to 60 s', () => {
    expect(classifyQboError(axiosError({ status: 429, headers: { 'retry-after': 'later' } }), NOW).waitMs).toBe(60_000);
  });

  it('reads Retry-After from headers with a get() method (AxiosHeaders / fetch Headers)', () => {
    const err = axiosError({ status: 429 });
    (err.response as Record<string, unknown>).headers = new Headers({ 'Retry-After': '9' });
    expect(classifyQboError(err, NOW).waitMs).toBe(9_000);
  });

  it("intuit-oauth's RATE_LIMIT_EXCEEDED → throttled", () => {
    const err = Object.assign(new Error('Rate limit exceeded'), { name: 'OAuthError', code: 'RATE_LIMIT_EXCEEDED' });
    expect(classifyQboError(err, NOW).kind).toBe('throttled');
  });
});

describe('retryAfterMs', () => {
  it('reads seconds, fractions, dates, arrays; rejects junk', () => {
    expect(retryAfterMs('120', NOW)).toBe(120_000);
    expect(retryAfterMs(' 1.5 ', NOW)).toBe(1_500);
    expect(retryAfterMs(3, NOW)).toBe(3_000);
    expect(retryAfterMs(['2'], NOW)).toBe(2_000);
    expect(retryAfterMs('Mon, 02 Mar 2026 18:01:00 GMT', NOW)).toBe(60_000);
    expect(retryAfterMs('-5', NOW)).toBeNull();
    expect(retryAfterMs('soon', NOW)).toBeNull();
    expect(retryAfterMs(undefined, NOW)).toBeNull();
  });
});

describe('expired access token', () => {
  it('the lower-case 401 body → token_expired 3200', () => {
    const c = classifyQboError(axiosError({ status: 401, data: fixtureJson('fault-401-expired.json') }), NOW);
    expect(c).toMatchObject({ kind: 'token_expired', code: '3200', status: 401 });
  });

  it('the 401 reason never repeats the token fragment from Detail', () => {
    const c = classifyQboError(axiosError({ status: 401, data: fixtureJson('fault-401-expired.json') }), NOW);
    expectNoSecrets(c.reason);
    expectNoSecrets(JSON.stringify(c));
  });

  it('the 401 body as a JSON string → token_expired', () => {
    expect(classifyQboError(axiosError({ status: 401, data: fixtureText('fault-401-expired.json') }), NOW).code).toBe('3200');
  });

  it('the 3200 body without a status → token_expired', () => {
    expect(classifyQboError(fixtureJson('fault-401-expired.json'), NOW)).toMatchObject({ kind: 'token_expired', code: '3200', status: null });
  });

  it('a bare 401 → token_expired http_401', () => {
    expect(classifyQboError(axiosError({ status: 401 }), NOW)).toMatchObject({ kind: 'token_expired', code: 'http_401' });
  });
});

describe('refresh token refused', () => {
  it('the invalid_grant token answer as an axios error → reauth', () => {
    const c = classifyQboError(axiosError({ status: 400, data: fixtureJson('token-invalid-grant.json') }), NOW);
    expect(c).toMatchObject({ kind: 'reauth', code: 'invalid_grant', status: 400 });
  });

  it('{ response: { status: 400, data: { error: "invalid_grant" } } } → reauth', () => {
    expect(classifyQboError({ response: { status: 400, data: { error: 'invalid_grant' } } }, NOW)).toMatchObject({ kind: 'reauth', code: 'invalid_grant' });
  });

  it("intuit-oauth's wrapped error (.error, .authResponse, .originalMessage) → reauth", () => {
    const c = classifyQboError(intuitOauthError(fixtureJson('token-invalid-grant.json')), NOW);
    expect(c).toMatchObject({ kind: 'reauth', code: 'invalid_grant', status: 400 });
  });

  it('an object with only .error === "invalid_grant" → reauth', () => {
    expect(classifyQboError({ error: 'invalid_grant' }, NOW).kind).toBe('reauth');
  });

  it('an Error whose message mentions invalid_grant → reauth', () => {
    expect(classifyQboError(new Error('Token refresh failed: invalid_grant'), NOW).code).toBe('invalid_grant');
  });

  it('invalid_client → permanent (our credentials, not the customer)', () => {
    expect(classifyQboError(intuitOauthError({ error: 'invalid_client' }, 401), NOW)).toMatchObject({ kind: 'permanent', code: 'invalid_client' });
  });
});

describe('authorization revoked', () => {
  it('3100 ApplicationAuthorizationFailed → reauth', () => {
    const data = { Fault: { Error: [{ Message: 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403', Detail: '', code: '3100' }], type: 'SERVICE' } };
    expect(classifyQboError(axiosError({ status: 403, data }), NOW)).toMatchObject({ kind: 'reauth', code: '3100', status: 403 });
  });

  it('a 403 without 3001 → reauth', () => {
    expect(classifyQboError(axiosError({ status: 403, data: '<html>Forbidden</html>' }), NOW)).toMatchObject({ kind: 'reauth', code: 'http_403' });
  });
});

describe('validation faults are permanent', () => {
  it('610 object inactive → permanent with Intuit’s Detail', () => {
    const c = classifyQboError(axiosError({ status: 400, data: fixtureJson('fault-inactive-610.json') }), NOW);
    expect(c).toMatchObject({ kind: 'permanent', code: '610', status: 400 });
    expect(c.reason).toContain('Something you\'re trying to use has been made inactive');
  });

  it('5010 stale SyncToken → permanent with Intuit’s Detail', () => {
    const c = classifyQboError(axiosError({ status: 400, data: fixtureJson('fault-stale-5010.json') }), NOW);
    expect(c).toMatchObject({ kind: 'permanent', code: '5010' });
    expect(c.reason).toContain('Stale Object Error');
  });

  it('a 610 Fault on a 200 (body as the error) → permanent', () => {
    expect(classifyQboError(fixtureJson('fault-inactive-610.json'), NOW)).toMatchObject({ kind: 'permanent', code: '610', status: null });
  });

  it.each(['2500', '6240', '4000'])('code %s → permanent', (code) => {
    const data = { Fault: { Error: [{ Message: 'Validation failed', Detail: `detail for ${code}`, code }], type: 'ValidationFault' } };
    const c = classifyQboError(axiosError({ status: 400, data }), NOW);
    expect(c).toMatchObject({ kind: 'permanent', code });
    expect(c.reason).toContain(`detail for ${code}`);
  });

  it('a 404 without a Fault → permanent http_404', () => {
    expect(classifyQboError(axiosError({ status: 404, data: 'Not Found' }), NOW)).toMatchObject({ kind: 'permanent', code: 'http_404' });
  });

  it('a permanent reason masks emails and tokens Intuit might echo', () => {
    const data = { Fault: { Error: [{ Message: 'Bad value', Detail: 'emily@example.com rejected, token AB1178000000000000abc', code: '2050' }], type: 'ValidationFault' } };
    const c = classifyQboError(axiosError({ status: 400, data }), NOW);
    expect(c.kind).toBe('permanent');
    expectNoSecrets(c.reason);
  });
});

describe('transient failures retry', () => {
  it('500 → retry http_500', () => {
    expect(classifyQboError(axiosError({ status: 500, data: 'Internal Server Error' }), NOW)).toMatchObject({ kind: 'retry', code: 'http_500', status: 500 });
  });

  it('503 → retry http_503', () => {
    expect(classifyQboError(axiosError({ status: 503 }), NOW)).toMatchObject({ kind: 'retry', code: 'http_503' });
  });

  it('10000 server error Fault → retry 10000', () => {
    const data = { Fault: { Error: [{ Message: 'An application error has occurred while processing your request', Detail: 'System Failure Error', code: '10000' }], type: 'SystemFault' } };
    expect(classifyQboError(axiosError({ status: 400, data }), NOW)).toMatchObject({ kind: 'retry', code: '10000' });
  });

  it('our QboTimeoutError → retry timeout', () => {
    const err = Object.assign(new Error('employee query got no answer within 32000 ms'), { name: 'QboTimeoutError' });
    expect(classifyQboError(err, NOW)).toMatchObject({ kind: 'retry', code: 'timeout', status: null });
  });

  it.each(['ECONNABORTED', 'ETIMEDOUT'])('axios %s → retry timeout', (code) => {
    expect(classifyQboError(axiosError({ code, message: 'timeout of 30000ms exceeded' }), NOW)).toMatchObject({ kind: 'retry', code: 'timeout' });
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND'])('axios %s → retry network', (code) => {
    expect(classifyQboError(axiosError({ code, message: `connect ${code} 127.0.0.1:443` }), NOW)).toMatchObject({ kind: 'retry', code: 'network' });
  });

  it('an intuit-oauth wrapper that kept only the message → retry network / timeout', () => {
    const reset = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { error: 'connect ECONNREFUSED 127.0.0.1:443', authResponse: '', originalMessage: 'connect ECONNREFUSED 127.0.0.1:443' });
    expect(classifyQboError(reset, NOW)).toMatchObject({ kind: 'retry', code: 'network' });
    const slow = Object.assign(new Error('timeout of 30000ms exceeded'), { error: 'timeout of 30000ms exceeded', authResponse: '' });
    expect(classifyQboError(slow, NOW)).toMatchObject({ kind: 'retry', code: 'timeout' });
  });

  it('an axios error without response or code → retry network', () => {
    expect(classifyQboError(axiosError(), NOW)).toMatchObject({ kind: 'retry', code: 'network' });
  });

  it('a malformed body → retry malformed_body, saying it is probably transient', () => {
    let caught: unknown;
    try {
      parseQueryPage(fixtureText('employee-query-sandbox-company.json').slice(0, 200));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QboBodyError);
    const c = classifyQboError(caught, NOW);
    expect(c).toMatchObject({ kind: 'retry', code: 'malformed_body', status: null });
    expect(c.reason).toMatch(/transient|truncated/);
  });

  it('a QboBodyError carrying an XML throttle Fault → throttled', () => {
    let caught: unknown;
    try {
      parseQueryPage(fixtureText('fault-429-throttle.xml'));
    } catch (err) {
      caught = err;
    }
    expect(classifyQboError(caught, NOW)).toMatchObject({ kind: 'throttled', code: '3001' });
  });

  it('a QboBodyError carrying a 610 Fault → permanent', () => {
    expect(classifyQboError(new QboBodyError('fault', fixtureJson('fault-inactive-610.json')), NOW)).toMatchObject({ kind: 'permanent', code: '610' });
  });

  it('anything unknown → retry unknown', () => {
    expect(classifyQboError(new Error('boom'), NOW)).toMatchObject({ kind: 'retry', code: 'unknown', status: null });
    expect(classifyQboError('weird', NOW)).toMatchObject({ kind: 'retry', code: 'unknown' });
    expect(classifyQboError(undefined, NOW)).toMatchObject({ kind: 'retry', code: 'unknown' });
    expect(classifyQboError(null, NOW)).toMatchObject({ kind: 'retry', code: 'unknown' });
  });

  it('an unknown error reason masks bearer tokens from its message', () => {
    const c = classifyQboError(new Error('failed with Authorization: Bearer eyJhbGciOiJkaXIifQ..secret-access'), NOW);
    expect(c.code).toBe('unknown');
    expectNoSecrets(c.reason);
  });

  it('reasons of axios errors never include the Authorization header from the request config', () => {
    for (const err of [axiosError({ status: 500 }), axiosError({ code: 'ECONNRESET' }), axiosError({ status: 401 })]) {
      expectNoSecrets(classifyQboError(err, NOW).reason);
    }
  });
});

describe('backoffMs', () => {
  it('stays within [0, base·2^(attempt-1)] for the first attempts', () => {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const ceiling = 1_000 * 2 ** (attempt - 1);
      expect(backoffMs(attempt, { random: () => 0 })).toBe(0);
      expect(backoffMs(attempt, { random: () => 0.999999 })).toBeLessThanOrEqual(ceiling);
      expect(backoffMs(attempt, { random: () => 0.999999 })).toBeGreaterThan(ceiling * 0.99);
    }
  });

  it('grows exponentially with the attempt', () => {
    const half = () => 0.5;
    expect(backoffMs(1, { baseMs: 100, random: half })).toBe(50);
    expect(backoffMs(2, { baseMs: 100, random: half })).toBe(100);
    expect(backoffMs(3, { baseMs: 100, random: half })).toBe(200);
  });

  it('is capped', () => {
    expect(backoffMs(30, { baseMs: 1_000, capMs: 60_000, random: () => 1 })).toBe(60_000);
    expect(backoffMs(10_000, { random: () => 1 })).toBe(5 * 60_000);
  });

  it('uses Math.random by default and stays within bounds', () => {
    for (let i = 0; i < 200; i++) {
      const ms = backoffMs(4, { baseMs: 500, capMs: 10_000 });
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(4_000);
      expect(Number.isInteger(ms)).toBe(true);
    }
  });

  it('treats attempt 0, negative or NaN as the first attempt', () => {
    for (const attempt of [0, -3, Number.NaN]) {
      expect(backoffMs(attempt, { baseMs: 100, random: () => 1 })).toBe(100);
    }
  });

  it('survives a random() outside [0, 1]', () => {
    expect(backoffMs(2, { baseMs: 100, random: () => 7 })).toBe(200);
    expect(backoffMs(2, { baseMs: 100, random: () => -1 })).toBe(0);
  });
});
