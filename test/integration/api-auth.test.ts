// Tenant isolation and authentication over HTTP: no key / a wrong key → 401; an organisation
// key sees its own organisation and gets 404 (the same answer as for a missing one) on every
// route of another; the admin key sees all. Also the error envelope and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/db/models';
import { buildApi } from '../../src/http/app';
import { ROUTE_FILES } from '../../src/http/routes/index';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { ADMIN_KEY, startTestApi, type TestApi } from '../helpers/api';

describe('API authentication and tenant isolation', () => {
  let env: TestEnv;
  let api: TestApi;
  let orgA: string;
  let orgB: string;
  let keyA: string;
  let keyB: string;
  const realmA = '4620816365000201';

  /** Every route of ROUTE_FILES with an :orgId, filled in for `orgId`. */
  const orgRoutes = (orgId: string) =>
    ROUTE_FILES.flatMap((f) => f.routes.filter((r) => r.url.includes(':orgId')).map((r) => ({ method: r.method, path: `${f.prefix}${r.url}`.replace(':orgId', orgId).replace(':id', '000000000000000000000000') })));

  beforeAll(async () => {
    env = await setupTestEnv('api-auth');
    api = await startTestApi(env);
    api.app.sandbox.loadCompany(realmA, { employees: [{ Id: '1', GivenName: 'Ada', FamilyName: 'Byron', DisplayName: 'Ada Byron' }] });
    const a = await api.call('POST', '/api/v1/orgs', { body: { name: 'Org A' } });
    const b = await api.call('POST', '/api/v1/orgs', { body: { name: 'Org B', plan: 'paid', seatLimit: 3 } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    orgA = a.body.organization.id;
    orgB = b.body.organization.id;
    keyA = a.body.apiKey;
    keyB = b.body.apiKey;
    await api.app.connect(orgA, realmA);
  });
  afterAll(async () => {
    await api?.close();
    await env?.close();
  });

  it('creates an organisation with a key shown once and stored only as a hash', async () => {
    expect(keyA).toMatch(/^qmsk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const stored = await ApiKey.find({ orgId: orgA }).lean();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(keyA.split('.')[1]);
    const again = await api.call('GET', `/api/v1/orgs/${orgA}`, { key: keyA });
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.body)).not.toContain('qmsk_');
  });

  it('answers 401 without a key, with a wrong key, and with another scheme', async () => {
    for (const key of [null, 'nope', `${keyA}x`, `qmsk_0000000000000000.${'A'.repeat(43)}`, `${ADMIN_KEY}-`]) {
      const res = await api.call('GET', `/api/v1/orgs/${orgA}/members`, { key });
      expect(res.status, String(key)).toBe(401);
      expect(res.body.error.code).toBe(key === null ? 'unauthorized' : 'invalid_api_key');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const basic = await api.call('GET', `/api/v1/orgs/${orgA}`, { key: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect(basic.status).toBe(401);
  });

  it('refuses an organisation key where only the admin key may act (403)', async () => {
    const res = await api.call('POST', '/api/v1/orgs', { key: keyA, body: { name: 'Sneaky' } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: 'admin_only', message: 'Only the admin key may do this' } });
  });

  // A body each POST route accepts, so the answer is about the organisation, not the body.
  const SAMPLE_BODIES: [RegExp, unknown][] = [
    [/\/members$/, { fullName: 'X Y' }],
    [/\/qbo\/imports$/, { employeeIds: ['1'], sendInvites: false }],
    [/\/time-entries$/, { memberId: '0123456789abcdef01234567', date: '2026-11-02', hours: 1 }],
    [/\/time-entries\/[0-9a-f]{24}$/, { date: '2026-11-02', hours: 1 }],
    [/\/qbo\/timesheet-exports$/, { from: '2026-11-01', to: '2026-11-30' }],
  ];
  const sampleBody = (path: string): unknown => SAMPLE_BODIES.find(([re]) => re.test(path))?.[1] ?? {};

  it("gives an organisation key 404 on every route of another organisation, the same answer as for a missing one", async () => {
    const missing = '0123456789abcdef01234567';
    const routes = orgRoutes(orgA);
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const r of routes) {
      const res = await api.call(r.method, r.path, { key: keyB, ...(r.method === 'POST' || r.method === 'PATCH' ? { body: sampleBody(r.path) } : {}) });
      expect(res.status, `${r.method} ${r.path}`).toBe(404);
      expect(res.body.error.code).toBe('org_not_found');
      expect(JSON.stringify(res.body)).not.toMatch(/Ada|Byron|realm|4620816365000201/);
      const none = await api.call(r.method, r.path.replace(orgA, missing), { key: ADMIN_KEY, ...(r.method === 'POST' || r.method === 'PATCH' ? { body: sampleBody(r.path) } : {}) });
      expect(none.status, `${r.method} ${r.path} (missing org)`).toBe(404);
    }
    // Nothing was written to org A by org B's attempts.
    expect((await api.call('GET', `/api/v1/orgs/${orgA}/members`, { key: keyA })).body.members).toEqual([]);
    expect((await api.call('GET', `/api/v1/orgs/${orgA}/qbo`, { key: keyA })).body.connection.status).toBe('connected');
  });

  it('lets an organisation key and the admin key see the organisation', async () => {
    for (const key of [keyA, ADMIN_KEY]) {
      const tab = await api.call('GET', `/api/v1/orgs/${orgA}/qbo/members`, { key });
      expect(tab.status).toBe(200);
      expect(tab.body.rows.map((r: { name: string }) => r.name)).toEqual(['Ada Byron']);
    }
    expect((await api.call('GET', `/api/v1/orgs/${orgB}`, { key: keyB })).body.organization).toMatchObject({ name: 'Org B', plan: 'paid', seatLimit: 3 });
  });

  it('validates requests strictly, with the error envelope', async () => {
    const unknown = await api.call('POST', `/api/v1/orgs/${orgB}/members`, { key: keyB, body: { fullName: 'Ann Lee', admin: true } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('validation_failed');
    const noName = await api.call('POST', '/api/v1/orgs', { body: { plan: 'paid' } });
    expect(noName.status).toBe(400);
    expect(noName.body.error.issues[0]).toMatchObject({ in: 'body', path: 'name' });
    const badJson = await api.call('POST', '/api/v1/orgs', { body: '{"name": ' });
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('invalid_json');
    const text = await api.call('POST', '/api/v1/orgs', { body: 'name=x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const big = await api.call('POST', '/api/v1/orgs', { body: { name: 'x'.repeat(2 * 1024 * 1024) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('body_too_large');
    const paidNoSeats = await api.call('POST', '/api/v1/orgs', { body: { name: 'Paid', plan: 'paid' } });
    expect(paidNoSeats.status).toBe(400);
    expect(paidNoSeats.body.error.code).toBe('invalid_seat_limit');
    const query = await api.call('GET', `/api/v1/orgs/${orgB}/members?admin=1`, { key: keyB });
    expect(query.status).toBe(400);
    const route = await api.call('GET', '/api/v1/nothing-here?code=secret');
    expect(route.status).toBe(404);
    expect(route.body.error.message).not.toContain('secret');
  });

  it('maps domain refusals to statuses: seats 409, e-mail taken 409, not connected 409', async () => {
    for (const name of ['A One', 'B Two', 'C Three']) {
      expect((await api.call('POST', `/api/v1/orgs/${orgB}/members`, { key: keyB, body: { fullName: name, email: `${name.replace(' ', '.').toLowerCase()}@example.com` } })).status).toBe(201);
    }
    const taken = await api.call('POST', `/api/v1/orgs/${orgA}/members`, { key: keyA, body: { fullName: 'Dup', email: 'dup@example.com' } });
    expect(taken.status).toBe(201);
    const dup = await api.call('POST', `/api/v1/orgs/${orgA}/members`, { key: keyA, body: { fullName: 'Dup Two', email: 'DUP@example.com' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('member_email_taken');
    const full = await api.call('POST', `/api/v1/orgs/${orgB}/members`, { key: keyB, body: { fullName: 'D Four' } });
    expect(full.status).toBe(409);
    expect(full.body.error).toMatchObject({ code: 'seat_quota_exceeded', seatsNeeded: 1, seatsFree: 0 });
    const sync = await api.call('POST', `/api/v1/orgs/${orgB}/qbo/sync`, { key: keyB });
    expect(sync.status).toBe(409);
    expect(sync.body.error.code).toBe('qbo_not_connected');
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const res = await api.call('GET', '/api/v1/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const f of ROUTE_FILES) {
      for (const r of f.routes) {
        const path = `${f.prefix}${r.url}`.replace(/:([A-Za-z]+)/g, '{$1}');
        expect(res.body.paths[path]?.[r.method.toLowerCase()], path).toBeDefined();
      }
    }
    const post = res.body.paths['/api/v1/orgs'].post;
    expect(post.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['name'] });
    expect(post.requestBody.required).toBe(true);
    expect(res.body.paths['/api/v1/orgs/{orgId}/qbo/sync'].post.requestBody.required).toBe(false);
    expect(res.body.paths['/webhooks/quickbooks'].post).toBeDefined();
    expect(res.body.components.schemas.Error).toBeDefined();
  });

  it('limits each organisation key per minute (429 with Retry-After), not the admin key', async () => {
    const rt = api.app.rt;
    const limited = await buildApi({ ...rt, config: { ...rt.config, API_RATE_LIMIT_PER_MINUTE: 3 } });
    try {
      const get = (key: string) => limited.inject({ method: 'GET', url: `/api/v1/orgs/${orgB}`, headers: { authorization: `Bearer ${key}` } });
      // Whatever this key spent earlier in the current minute counts too.
      let res = await get(keyB);
      for (let i = 0; i < 5 && res.statusCode === 200; i++) res = await get(keyB);
      expect(res.statusCode).toBe(429);
      expect(res.json()).toMatchObject({ error: { code: 'rate_limited' } });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      for (let i = 0; i < 5; i++) expect((await get(ADMIN_KEY)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
