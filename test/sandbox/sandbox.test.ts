// The QBO sandbox over real HTTP: Intuit's shapes, paging, CDC, OAuth and every fault kind.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateCompany, startQboSandbox } from '../../sandbox/server';
import type { CompanyInput, QboSandbox, RawEmployee } from '../../sandbox/server';
import { fixtureText } from '../helpers/qbo-fixtures';

const root = fileURLToPath(new URL('../..', import.meta.url));
const demo = JSON.parse(readFileSync(path.join(root, 'sandbox/companies/demo.json'), 'utf8')) as CompanyInput & {
  realmId: string;
};

const REALM = '9130357766431234';
const OTHER = '4620816365000000';
const CLIENT = { id: 'test-client', secret: 'test-secret' };
const BASIC = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
const REDIRECT = 'http://localhost:3000/qbo/callback';
const T0 = Date.parse('2026-03-02T18:00:00Z');

let clock = T0;
let sb: QboSandbox;

beforeEach(async () => {
  clock = T0;
  sb = await startQboSandbox({ clientId: CLIENT.id, clientSecret: CLIENT.secret, now: () => new Date(clock) });
  sb.loadCompany(REALM, demo);
  sb.loadCompany(OTHER, generateCompany(1200, { seed: 7 }));
});

afterEach(async () => {
  await sb.close();
});

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  x_refresh_token_expires_in: number;
  x_refresh_token_hard_expires_in?: number;
  token_type: string;
}

function tokenRequest(params: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(sb.tokenUrl, {
    method: 'POST',
    headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

async function connect(realmId = REALM): Promise<Tokens> {
  const code = sb.issueAuthorizationCode(realmId, REDIRECT);
  const res = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

function get(pathAndQuery: string, token: string | null): Promise<Response> {
  return fetch(`${sb.url}${pathAndQuery}`, {
    headers: token ? { authorization: `Bearer ${token}`, accept: 'application/json' } : { accept: 'application/json' },
  });
}

function query(q: string, token: string, realmId = REALM): Promise<Response> {
  return get(`/v3/company/${realmId}/query?query=${encodeURIComponent(q)}&minorversion=75`, token);
}

interface Page {
  QueryResponse: { Employee?: RawEmployee[]; startPosition?: number; maxResults?: number; totalCount?: number };
  time: string;
}

async function page(q: string, token: string, realmId = REALM): Promise<Page> {
  const res = await query(q, token, realmId);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json;charset=UTF-8');
  return (await res.json()) as Page;
}

interface CdcBody {
  CDCResponse: [{ QueryResponse: [{ Employee?: Array<Record<string, unknown>>; startPosition?: number; maxResults?: number }] }];
  time: string;
}

function cdc(since: string, token: string, realmId = REALM): Promise<Response> {
  // Like node-quickbooks: changedSince is NOT URL-encoded.
  return get(`/v3/company/${realmId}/cdc?entities=Employee&changedSince=${since}&minorversion=75`, token);
}

const iso = (ms: number): string => new Date(ms).toISOString();

describe('OAuth', () => {
  it('exchanges an authorization code once, in the shape of token-response.json', async () => {
    const code = sb.issueAuthorizationCode(REALM, REDIRECT);
    const first = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(first.status).toBe(200);
    const body = (await first.json()) as Tokens;
    const fixtureKeys = Object.keys(JSON.parse(fixtureText('token-response.json')) as object).filter(
      (k) => k !== 'x_refresh_token_hard_expires_in',
    );
    expect(Object.keys(body).sort()).toEqual(fixtureKeys.sort());
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8726400 });
    expect(body.refresh_token).toMatch(/^AB11/);

    const again = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid_grant' });

    const unknown = await tokenRequest({ grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: 'invalid_grant' });
  });

  it('refuses wrong client credentials and a mismatched redirect_uri', async () => {
    const code = sb.issueAuthorizationCode(REALM, REDIRECT);
    const bad = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { authorization: `Basic ${Buffer.from('test-client:wrong').toString('base64')}` },
    );
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'invalid_client' });
    const wrongRedirect = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: 'http://evil/cb' });
    expect(wrongRedirect.status).toBe(400);
  });

  it('adds the hard expiry only when asked', async () => {
    const code = sb.issueAuthorizationCode(REALM);
    const res = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { 'x-include-refresh-token-hard-expires-in': 'true' });
    const body = (await res.json()) as Tokens;
    expect(body.x_refresh_token_hard_expires_in).toBe(5 * 365 * 24 * 3600);
  });

  it('rotates refresh tokens: each works once, the used one answers invalid_grant', async () => {
    const first = await connect();
    const r1 = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(r1.status).toBe(200);
    const second = (await r1.json()) as Tokens;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);

    const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({ error: 'invalid_grant' });

    const r2 = await tokenRequest({ grant_type: 'refresh_token', refresh_token: second.refresh_token });
    expect(r2.status).toBe(200);
    const unknown = await tokenRequest({ grant_type: 'refresh_token', refresh_token: 'AB11000' });
    expect(await unknown.json()).toEqual({ error: 'invalid_grant' });
  });

  it('answers 401 with the lower-case fault once access tokens expire, and a refresh fixes it', async () => {
    const t = await connect();
    expect((await query('SELECT COUNT(*) FROM Employee', t.access_token)).status).toBe(200);
    sb.expireAccessTokens();
    const res = await query('SELECT COUNT(*) FROM Employee', t.access_token);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { fault: { error: Array<{ code: string }>; type: string }; time: number };
    expect(Object.keys(body)).toEqual(Object.keys(JSON.parse(fixtureText('fault-401-expired.json')) as object));
    expect(body.fault.error[0]?.code).toBe('3200');
    expect(body.fault.type).toBe('AUTHENTICATION');
    expect(typeof body.time).toBe('number');

    const refreshed = (await (await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token })).json()) as Tokens;
    expect((await query('SELECT COUNT(*) FROM Employee', refreshed.access_token)).status).toBe(200);
  });

  it('expires access tokens on the sandbox clock', async () => {
    const t = await connect();
    clock += 3600 * 1000;
    expect((await query('SELECT * FROM Employee', t.access_token)).status).toBe(401);
  });

  it('answers 401 without a token and 403 (3100) for another realm or an unknown one', async () => {
    const t = await connect(REALM);
    expect((await get(`/v3/company/${REALM}/employee/55`, null)).status).toBe(401);
    for (const realm of [OTHER, '123']) {
      const res = await query('SELECT * FROM Employee', t.access_token, realm);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { Fault: { Error: Array<{ code: string; Message: string }> } };
      expect(body.Fault.Error[0]?.code).toBe('3100');
      expect(body.Fault.Error[0]?.Message).toContain('ApplicationAuthorizationFailed');
    }
  });

  it('revokes the whole grant (form or JSON body)', async () => {
    const t = await connect();
    const res = await fetch(sb.revokeUrl, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/json' },
      body: JSON.stringify({ token: t.refresh_token }),
    });
    expect(res.status).toBe(200);
    expect((await query('SELECT * FROM Employee', t.access_token)).status).toBe(401);
    expect((await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token })).status).toBe(400);

    const t2 = await connect();
    const form = await fetch(sb.revokeUrl, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t2.access_token }).toString(),
    });
    expect(form.status).toBe(200);
    expect((await tokenRequest({ grant_type: 'refresh_token', refresh_token: t2.refresh_token })).status).toBe(400);
  });

  it('auto-consents: authorize redirects with code, state and realmId', async () => {
    const url = new URL(sb.authorizeUrl);
    url.search = new URLSearchParams({
      client_id: CLIENT.id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'com.intuit.quickbooks.accounting',
      state: 's-123',
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe('s-123');
    expect(location.searchParams.get('realmId')).toBe(REALM); // the first realm loaded
    const code = location.searchParams.get('code') ?? '';
    const tok = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(tok.status).toBe(200);

    url.searchParams.set('realmId', OTHER);
    const other = await fetch(url, { redirect: 'manual' });
    expect(new URL(other.headers.get('location') ?? '').searchParams.get('realmId')).toBe(OTHER);
  });
});

describe('query', () => {
  let token: string;
  beforeEach(async () => {
    token = (await connect(OTHER)).access_token;
  });

  it('pages 1-based: 100 by default, at most 1000, maxResults = rows in the page', async () => {
    const first = await page('SELECT * FROM Employee WHERE Active IN (true, false) ORDERBY Id', token, OTHER);
    expect(first.QueryResponse.startPosition).toBe(1);
    expect(first.QueryResponse.maxResults).toBe(100);
    expect(first.QueryResponse.Employee?.[0]?.Id).toBe('1');
    expect(first.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-08:00$/);

    const big = await page('SELECT * FROM Employee WHERE Active IN (true, false) STARTPOSITION 1 MAXRESULTS 5000', token, OTHER);
    expect(big.QueryResponse.maxResults).toBe(1000);
    expect(big.QueryResponse.Employee).toHaveLength(1000);

    const tail = await page('SELECT * FROM Employee WHERE Active IN (true, false) ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000', token, OTHER);
    expect(tail.QueryResponse).toMatchObject({ startPosition: 1001, maxResults: 200 });
    expect(tail.QueryResponse.Employee?.[0]?.Id).toBe('1001');

    const res = await query('SELECT * FROM Employee WHERE Active IN (true, false) STARTPOSITION 1201 MAXRESULTS 1000', token, OTHER);
    const raw = await res.text();
    expect(JSON.parse(raw)).toEqual({ QueryResponse: {}, time: expect.any(String) as string });
    expect(raw).not.toContain('Employee');
  });

  it('walks every active employee page by page', async () => {
    const seen: string[] = [];
    for (let start = 1; ; start += 300) {
      const p = await page(`SELECT * FROM Employee ORDERBY Id STARTPOSITION ${start} MAXRESULTS 300`, token, OTHER);
      const rows = p.QueryResponse.Employee ?? [];
      seen.push(...rows.map((e) => e.Id));
      if (rows.length < 300) break;
    }
    expect(seen).toHaveLength(1080); // every 10th of 1200 is inactive
    expect(new Set(seen).size).toBe(1080);
  });

  it('returns active rows only unless Active is named; COUNT(*) agrees', async () => {
    const count = async (where: string): Promise<number | undefined> =>
      (await page(`SELECT COUNT(*) FROM Employee${where}`, token, OTHER)).QueryResponse.totalCount;
    expect(await count('')).toBe(1080);
    expect(await count(' WHERE Active IN (true, false)')).toBe(1200);
    expect(await count(' WHERE Active = false')).toBe(120);
    expect(await count(' WHERE Active = true')).toBe(1080);
    const body = await page('SELECT COUNT(*) FROM Employee', token, OTHER);
    expect(Object.keys(body.QueryResponse)).toEqual(['totalCount']);
  });

  it('reads quoted strings with escapes and LIKE', async () => {
    const t = (await connect(REALM)).access_token;
    const p = await page("SELECT * FROM Employee WHERE DisplayName = 'Kevin O\\'Brien'", t);
    expect(p.QueryResponse.Employee?.map((e) => e.Id)).toEqual(['58']);
    const like = await page("SELECT * FROM Employee WHERE DisplayName LIKE '%morgan%'", t);
    expect(like.QueryResponse.Employee?.map((e) => e.DisplayName)).toEqual(['Chris Morgan', 'Chris Morgan (Night shift)']);
    const ids = await page("select * from employee where Id in ('55', '84', '999')", t);
    expect(ids.QueryResponse.Employee?.map((e) => e.Id)).toEqual(['55']); // 84 is inactive
  });

  it('orders by Id numerically and by other fields', async () => {
    const t = (await connect(REALM)).access_token;
    sb.addEmployee(REALM, { Id: '100', GivenName: 'Zed', FamilyName: 'Last' });
    const desc = await page('SELECT * FROM Employee ORDERBY Id DESC MAXRESULTS 3', t);
    expect(desc.QueryResponse.Employee?.map((e) => e.Id)).toEqual(['100', '91', '90']);
    const byName = await page("SELECT * FROM Employee WHERE FamilyName LIKE 'A%' ORDERBY GivenName", t);
    expect(byName.QueryResponse.Employee?.map((e) => e.GivenName)).toEqual(['José', 'Rachel', 'Rae']);
  });

  it('answers an unparseable query with Fault 4000', async () => {
    const res = await query('SELECT * FROM Employee WHERE Active IS true', token, OTHER);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { Fault: { Error: Array<Record<string, string>>; type: string }; time: string };
    expect(body.Fault.type).toBe('ValidationFault');
    expect(body.Fault.Error[0]).toMatchObject({ Message: 'Error parsing query', code: '4000' });
    expect(body.Fault.Error[0]?.Detail).toMatch(/^QueryParserError: /);
    expect(typeof body.time).toBe('string');
  });

  it('omits empty attributes and keeps Intuit fields', async () => {
    const t = (await connect(REALM)).access_token;
    const p = await page("SELECT * FROM Employee WHERE Id IN ('55', '57')", t);
    const [emily, miguel] = p.QueryResponse.Employee ?? [];
    expect(emily?.PrimaryEmailAddr).toEqual({ Address: 'emily.platt@harborpine.example' });
    expect(miguel && 'PrimaryEmailAddr' in miguel).toBe(false);
    expect(emily).toMatchObject({ domain: 'QBO', sparse: false, SyncToken: '3', Active: true });
  });

  it('loads an Intuit query body as a company', async () => {
    sb.loadCompany('310687', JSON.parse(fixtureText('employee-query-sandbox-company.json')) as CompanyInput);
    const t = (await connect('310687')).access_token;
    const p = await page('SELECT * FROM Employee ORDERBY Id', t, '310687');
    expect(p.QueryResponse.Employee?.map((e) => e.Id)).toEqual(['54', '55', '63']);
    expect(p.QueryResponse.Employee?.[0]?.PrimaryPhone).toEqual({ FreeFormNumber: '(540) 555-9645' });
  });

  it('accepts the query as a POST body too', async () => {
    const res = await fetch(`${sb.url}/v3/company/${OTHER}/query?minorversion=75`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/text' },
      body: 'SELECT COUNT(*) FROM Employee',
    });
    expect(((await res.json()) as Page).QueryResponse.totalCount).toBe(1080);
    expect(sb.count('count', OTHER)).toBe(1);
  });
});

describe('read by id', () => {
  it('returns active and inactive employees, 610 for unknown ones', async () => {
    const t = (await connect()).access_token;
    const ok = await get(`/v3/company/${REALM}/employee/84?minorversion=75`, t);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { Employee: RawEmployee; time: string };
    expect(body.Employee).toMatchObject({ Id: '84', Active: false, GivenName: 'Victor' });
    expect(typeof body.time).toBe('string');

    const missing = await get(`/v3/company/${REALM}/employee/4242`, t);
    expect(missing.status).toBe(400);
    const fault = (await missing.json()) as { Fault: { Error: Array<{ code: string; Message: string }>; type: string } };
    expect(fault.Fault.Error[0]).toMatchObject({ code: '610', Message: 'Object Not Found' });
    expect(fault.Fault.type).toBe('ValidationFault');
  });
});

describe('CDC', () => {
  let token: string;
  beforeEach(async () => {
    token = (await connect()).access_token;
  });

  it('returns nothing in Intuit shape when nothing changed', async () => {
    const res = await cdc(iso(clock - 3600_000), token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ CDCResponse: [{ QueryResponse: [{}] }], time: expect.any(String) as string });
  });

  it('returns updates, deactivations and deleted stubs changed strictly after changedSince', async () => {
    const since = clock;
    clock += 1000;
    sb.updateEmployee(REALM, '55', { GivenName: 'Em' });
    clock += 1000;
    sb.deactivateEmployee(REALM, '57');
    clock += 1000;
    sb.deleteEmployee(REALM, '78');
    clock += 1000;

    const res = await cdc(iso(since), token);
    const body = (await res.json()) as CdcBody;
    const inner = body.CDCResponse[0].QueryResponse[0];
    expect(inner.startPosition).toBe(1);
    expect(inner.maxResults).toBe(3);
    const [a, b, c] = inner.Employee ?? [];
    expect(a).toMatchObject({ Id: '55', GivenName: 'Em', SyncToken: '4' });
    expect(b).toMatchObject({ Id: '57', Active: false, SyncToken: '1' });
    expect(c).toEqual({ domain: 'QBO', status: 'Deleted', Id: '78', MetaData: { LastUpdatedTime: '2026-03-02T10:00:03-08:00' } });

    // Strictly after: the first change's own second excludes it.
    const later = (await (await cdc('2026-03-02T10:00:01-08:00', token)).json()) as CdcBody;
    expect(later.CDCResponse[0].QueryResponse[0].Employee?.map((e) => e.Id)).toEqual(['57', '78']);

    // An offset with '+', unencoded, arrives as a space and still works.
    const plus = (await (await cdc('2026-03-02T19:00:01+01:00', token)).json()) as CdcBody;
    expect(plus.CDCResponse[0].QueryResponse[0].Employee?.map((e) => e.Id)).toEqual(['57', '78']);
  });

  it('refuses changedSince older than 30 days or unparseable', async () => {
    const old = await cdc(iso(clock - 31 * 24 * 3600_000), token);
    expect(old.status).toBe(400);
    const body = (await old.json()) as { Fault: { type: string; Error: Array<{ code: string }> } };
    expect(body.Fault.type).toBe('ValidationFault');
    expect((await cdc(iso(clock - 29 * 24 * 3600_000), token)).status).toBe(200);
    expect((await cdc('yesterday', token)).status).toBe(400);
    expect((await get(`/v3/company/${REALM}/cdc?entities=Employee`, token)).status).toBe(400);
  });

  it('caps at 1000 objects, oldest changes first', async () => {
    const t = (await connect(OTHER)).access_token;
    const since = clock;
    for (let i = 1; i <= 1200; i++) {
      clock = since + (1201 - i) * 1000; // employee 1200 changes first, employee 1 last
      sb.updateEmployee(OTHER, String(i), { EmployeeNumber: `E${i}` });
    }
    const body = (await (await cdc(iso(since), t, OTHER)).json()) as CdcBody;
    const rows = body.CDCResponse[0].QueryResponse[0].Employee ?? [];
    expect(rows).toHaveLength(1000);
    expect(rows[0]?.Id).toBe('1200');
    expect(rows[999]?.Id).toBe('201');
    expect(rows.filter((e) => e.Active === false)).toHaveLength(100); // inactive ones included
  });
});

describe('live changes', () => {
  it('adds, updates, unsets, deactivates and deletes', async () => {
    const t = (await connect()).access_token;
    clock += 60_000;
    const added = sb.addEmployee(REALM, { GivenName: 'Nia', FamilyName: 'Brooks', PrimaryEmailAddr: { Address: 'nia@x.example' } });
    expect(added).toMatchObject({ Id: '92', SyncToken: '0', DisplayName: 'Nia Brooks', Active: true });
    expect(added.MetaData?.LastUpdatedTime).toBe('2026-03-02T10:01:00-08:00');
    expect(() => sb.addEmployee(REALM, { DisplayName: 'Nia Brooks' })).toThrow(/Duplicate Name/);

    clock += 1000;
    const updated = sb.updateEmployee(REALM, '92', { FamilyName: 'Brooks-Hale', unset: ['PrimaryEmailAddr'] });
    expect(updated.SyncToken).toBe('1');
    expect(updated.MetaData).toEqual({ CreateTime: '2026-03-02T10:01:00-08:00', LastUpdatedTime: '2026-03-02T10:01:01-08:00' });
    const read = (await (await get(`/v3/company/${REALM}/employee/92`, t)).json()) as { Employee: RawEmployee };
    expect(read.Employee.FamilyName).toBe('Brooks-Hale');
    expect('PrimaryEmailAddr' in read.Employee).toBe(false);

    sb.updateEmployee(REALM, '92', { PrimaryEmailAddr: { Address: '' } });
    expect('PrimaryEmailAddr' in (sb.employees(REALM).find((e) => e.Id === '92') ?? {})).toBe(false);

    sb.deactivateEmployee(REALM, '92');
    const active = await page("SELECT * FROM Employee WHERE Id = '92'", t);
    expect(active.QueryResponse.Employee).toBeUndefined();
    const all = await page("SELECT * FROM Employee WHERE Id = '92' AND Active IN (true, false)", t);
    expect(all.QueryResponse.Employee?.[0]).toMatchObject({ Active: false, SyncToken: '3' });

    sb.deleteEmployee(REALM, '92');
    expect((await get(`/v3/company/${REALM}/employee/92`, t)).status).toBe(400);
    expect(sb.employees(REALM).some((e) => e.Id === '92')).toBe(false);
    expect(sb.addEmployee(REALM, { GivenName: 'Next', FamilyName: 'One' }).Id).toBe('93');
  });

  it('hands out copies: callers cannot change the company behind its back', () => {
    const [first] = sb.employees(REALM);
    if (first) first.GivenName = 'Mutated';
    expect(sb.employees(REALM)[0]?.GivenName).not.toBe('Mutated');
  });
});

describe('faults', () => {
  let token: string;
  beforeEach(async () => {
    token = (await connect()).access_token;
  });
  const q = (): Promise<Response> => query('SELECT COUNT(*) FROM Employee', token);

  it('throttle-json: 429 with the fixture shape and Retry-After, once', async () => {
    sb.injectFault({ kind: 'throttle-json', retryAfterSec: 7 });
    const res = await q();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    const body = (await res.json()) as { Fault: { Error: Array<Record<string, string>>; type: string } };
    const fixture = JSON.parse(fixtureText('fault-429-throttle.json')) as { Fault: { Error: Array<Record<string, string>>; type: string } };
    expect(body.Fault).toEqual(fixture.Fault);
    expect((await q()).status).toBe(200);
  });

  it('throttle-xml and throttle-xml-403: the XML body, as 429 and 403', async () => {
    sb.injectFault({ kind: 'throttle-xml' });
    sb.injectFault({ kind: 'throttle-xml-403' });
    const strip = (s: string): string => s.replace(/ time="[^"]*"/, '');
    for (const status of [429, 403]) {
      const res = await q();
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/xml');
      expect(strip(await res.text())).toBe(strip(fixtureText('fault-429-throttle.xml')));
    }
  });

  it('unauthorized: 401 lower-case body', async () => {
    sb.injectFault({ kind: 'unauthorized' });
    const res = await q();
    expect(res.status).toBe(401);
    expect(((await res.json()) as { fault: { error: Array<{ code: string }> } }).fault.error[0]?.code).toBe('3200');
  });

  it('server-error: 500 SystemFault 10000, `times` times', async () => {
    sb.injectFault({ kind: 'server-error', times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await q();
      expect(res.status).toBe(500);
      const body = (await res.json()) as { Fault: { Error: Array<{ code: string }>; type: string } };
      expect(body.Fault.type).toBe('SystemFault');
      expect(body.Fault.Error[0]?.code).toBe('10000');
    }
    expect((await q()).status).toBe(200);
  });

  it('slow: answers normally after delayMs', async () => {
    sb.injectFault({ kind: 'slow', delayMs: 150 });
    const started = Date.now();
    const res = await q();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
  });

  it('silent: never answers, and close() does not wait for it', async () => {
    sb.injectFault({ kind: 'silent' });
    await expect(fetch(`${sb.url}/v3/company/${REALM}/query?query=x`, { signal: AbortSignal.timeout(150), headers: { authorization: `Bearer ${token}` } })).rejects.toThrow();
    sb.injectFault({ kind: 'silent' });
    const hanging = fetch(`${sb.url}/v3/company/${REALM}/cdc`).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await sb.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hanging).toBeInstanceOf(Error);
    expect(sb.requests.filter((r) => r.status === 0)).toHaveLength(2);
  });

  it('malformed: 200 with a truncated JSON body', async () => {
    sb.injectFault({ kind: 'malformed' });
    const res = await q();
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.startsWith('{"QueryResponse"')).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('fault-200: a ValidationFault inside a 200', async () => {
    sb.injectFault({ kind: 'fault-200' });
    const res = await q();
    expect(res.status).toBe(200);
    const body = (await res.json()) as { Fault: { type: string; Error: unknown[] }; time: string };
    expect(body.Fault.type).toBe('ValidationFault');
    expect(body.Fault.Error).toHaveLength(1);
  });

  it('targets an endpoint; clearFaults drops what is left', async () => {
    sb.injectFault({ kind: 'server-error', endpoint: 'cdc', times: 5 });
    sb.injectFault({ kind: 'throttle-json', endpoint: 'token' });
    expect((await q()).status).toBe(200);
    expect((await get(`/v3/company/${REALM}/employee/55`, token)).status).toBe(200);
    expect((await cdc(iso(clock - 1000), token)).status).toBe(500);
    const tok = await tokenRequest({ grant_type: 'refresh_token', refresh_token: 'whatever' });
    expect(tok.status).toBe(429);
    sb.clearFaults();
    expect((await cdc(iso(clock - 1000), token)).status).toBe(200);
  });
});

describe('request log', () => {
  it('records endpoint, realm, status and query text', async () => {
    const t = (await connect()).access_token;
    sb.resetRequests();
    await query('SELECT * FROM Employee', t);
    await query('SELECT COUNT(*) FROM Employee', t);
    await query('SELECT nonsense', t);
    await get(`/v3/company/${REALM}/employee/55`, t);
    await cdc(iso(clock - 1000), t);
    await get('/nowhere', null);
    expect(sb.requests.map((r) => [r.endpoint, r.realmId, r.status])).toEqual([
      ['query', REALM, 200],
      ['count', REALM, 200],
      ['query', REALM, 400],
      ['read', REALM, 200],
      ['cdc', REALM, 200],
      ['other', null, 404],
    ]);
    expect(sb.requests[1]?.query).toBe('SELECT COUNT(*) FROM Employee');
    expect(sb.count('query')).toBe(2);
    expect(sb.count('query', OTHER)).toBe(0);
    expect(sb.requests[0]?.at).toBe(clock);
    sb.resetRequests();
    expect(sb.requests).toHaveLength(0);
  });
});

describe('limits (opt-in)', () => {
  it('answers 429 past the per-minute budget of a realm', async () => {
    const limited = await startQboSandbox({ clientId: CLIENT.id, clientSecret: CLIENT.secret, limits: { perMinute: 3 } });
    try {
      limited.loadCompany(REALM, demo);
      const code = limited.issueAuthorizationCode(REALM);
      const tokRes = await fetch(limited.tokenUrl, {
        method: 'POST',
        headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code }).toString(),
      });
      const { access_token } = (await tokRes.json()) as Tokens;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${limited.url}/v3/company/${REALM}/employee/55`, { headers: { authorization: `Bearer ${access_token}` } });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await limited.close();
    }
  });
});
