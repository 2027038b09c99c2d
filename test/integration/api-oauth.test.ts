// Connecting QuickBooks over HTTP through the sandbox's OAuth: the state is signed, expiring and
// single use, bound to one organisation; each code is exchanged once (the sandbox counts token
// requests); a realm connected elsewhere is refused before any exchange.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QboConnection } from '../../src/db/models';
import { signState } from '../../src/qbo/oauth-state';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApi, STATE_SECRET, type TestApi } from '../helpers/api';

const REALM_A = '4620816365000401';
const REALM_B = '4620816365000402';

describe('QuickBooks OAuth over HTTP', () => {
  let env: TestEnv;
  let api: TestApi;
  let orgA: string;
  let keyA: string;
  let orgB: string;
  let keyB: string;

  /** GET …/qbo/connect, then the sandbox's consent page; answers the callback path with query. */
  async function consent(orgId: string, key: string, realmId: string): Promise<{ callback: string; state: string; code: string }> {
    const start = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/connect`, { key });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location') as string);
    expect(authorize.origin).toBe(new URL(api.app.sandbox.authorizeUrl).origin);
    authorize.searchParams.set('realmId', realmId);
    const back = await fetch(authorize, { redirect: 'manual' });
    expect(back.status).toBe(302);
    const to = new URL(back.headers.get('location') as string);
    return { callback: `/qbo/callback${to.search}`, state: to.searchParams.get('state') as string, code: to.searchParams.get('code') as string };
  }

  beforeAll(async () => {
    env = await setupTestEnv('api-oauth');
    api = await startTestApi(env);
    api.app.sandbox.loadCompany(REALM_A, { employees: [{ Id: '1', GivenName: 'Ada', FamilyName: 'Byron' }] });
    api.app.sandbox.loadCompany(REALM_B, { employees: [{ Id: '1', GivenName: 'Grace', FamilyName: 'Hopper' }] });
    const a = await api.call('POST', '/api/v1/orgs', { body: { name: 'A' } });
    const b = await api.call('POST', '/api/v1/orgs', { body: { name: 'B' } });
    ({ id: orgA } = a.body.organization);
    keyA = a.body.apiKey;
    ({ id: orgB } = b.body.organization);
    keyB = b.body.apiKey;
  });
  afterAll(async () => {
    await api?.close();
    await env?.close();
  });

  it('connects with a signed state, exchanging the code exactly once', async () => {
    const { callback, state } = await consent(orgA, keyA, REALM_A);
    expect(state).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    api.app.sandbox.resetRequests();
    const res = await api.call('GET', callback, { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'connected', orgId: orgA, realmId: REALM_A, firstSyncRunId: expect.any(String) });
    expect(api.app.sandbox.count('token')).toBe(1);
    expect((await QboConnection.findOne({ orgId: orgA }).lean())?.status).toBe('connected');

    // The very same callback again (a browser reload, a replay): refused, no second exchange.
    const again = await api.call('GET', callback, { key: null });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('state_already_used');
    expect(api.app.sandbox.count('token')).toBe(1);
  });

  it('refuses a code already exchanged even under a fresh state', async () => {
    const first = await consent(orgB, keyB, REALM_B);
    const second = await consent(orgB, keyB, REALM_B);
    api.app.sandbox.resetRequests();
    expect((await api.call('GET', first.callback, { key: null })).status).toBe(200);
    const replay = new URL(second.callback, api.url);
    replay.searchParams.set('code', first.code);
    const res = await api.call('GET', `${replay.pathname}${replay.search}`, { key: null });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('code_already_used');
    expect(api.app.sandbox.count('token')).toBe(1);
  });

  it('refuses tampered, foreign, missing and expired states before any token request', async () => {
    const org = (await api.call('POST', '/api/v1/orgs', { body: { name: 'C' } })).body;
    const { callback, state } = await consent(org.organization.id, org.apiKey, REALM_A);
    const [v, body, sig] = state.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as { o: string; n: string; e: number };
    const withState = (s: string | null) => {
      const u = new URL(callback, api.url);
      if (s === null) u.searchParams.delete('state');
      else u.searchParams.set('state', s);
      return `${u.pathname}${u.search}`;
    };
    const otherOrg = Buffer.from(JSON.stringify({ ...payload, o: orgA })).toString('base64url');
    const cases: [string, string | null, string][] = [
      ['another org, old signature', `${v}.${otherOrg}.${sig}`, 'invalid_state'],
      ['flipped signature', `${v}.${body}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`, 'invalid_state'],
      ['signed with another secret', signState({ orgId: payload.o, nonce: 'n1', expiresAt: payload.e }, 'some-other-secret-0123456789abcdefgh'), 'invalid_state'],
      ['garbage', 'hello', 'invalid_state'],
      ['missing', null, 'invalid_state'],
      ['expired', signState({ orgId: payload.o, nonce: 'n2', expiresAt: Math.floor(Date.now() / 1000) - 1 }, STATE_SECRET), 'state_expired'],
    ];
    api.app.sandbox.resetRequests();
    for (const [what, s, code] of cases) {
      const res = await api.call('GET', withState(s), { key: null });
      expect(res.status, what).toBe(400);
      expect(res.body.error.code, what).toBe(code);
    }
    expect(api.app.sandbox.count('token')).toBe(0);
    expect(await QboConnection.exists({ orgId: org.organization.id })).toBeNull();
    // The untouched state still passes every state check after all that (and then meets realm A, taken by org A).
    expect((await api.call('GET', callback, { key: null })).body.error.code).toBe('realm_taken');
    expect(api.app.sandbox.count('token')).toBe(0);
  });

  it('refuses a realm connected to another organisation with a clear page, before any exchange', async () => {
    const org = (await api.call('POST', '/api/v1/orgs', { body: { name: 'D' } })).body;
    const { callback } = await consent(org.organization.id, org.apiKey, REALM_A);
    api.app.sandbox.resetRequests();
    const res = await fetch(`${api.url}${callback}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('already connected to another organisation');
    expect(api.app.sandbox.count('token')).toBe(0);
  });

  it('reports a denied consent, and can hand the consent URL over as JSON', async () => {
    const start = await api.call('GET', `/api/v1/orgs/${orgB}/qbo/connect?redirect=false`, { key: keyB });
    expect(start.status).toBe(200);
    const url = new URL(start.body.authorizeUrl as string);
    const state = url.searchParams.get('state') as string;
    expect(new Date(start.body.expiresAt as string).getTime()).toBeGreaterThan(Date.now());
    const denied = await api.call('GET', `/qbo/callback?error=access_denied&state=${encodeURIComponent(state)}`, { key: null });
    expect(denied.status).toBe(400);
    expect(denied.body.error.code).toBe('qbo_consent_denied');
  });

  it('tells a code Intuit refuses (400) from Intuit being down (502)', async () => {
    const realm = '4620816365000405';
    api.app.sandbox.loadCompany(realm, { employees: [{ Id: '1', GivenName: 'Mary', FamilyName: 'Somerville' }] });
    const org = (await api.call('POST', '/api/v1/orgs', { body: { name: 'E' } })).body;
    const refused = new URL((await consent(org.organization.id, org.apiKey, realm)).callback, api.url);
    refused.searchParams.set('code', 'AB11-not-a-code-the-sandbox-issued');
    const r1 = await api.call('GET', `${refused.pathname}${refused.search}`, { key: null });
    expect(r1.status).toBe(400);
    expect(r1.body.error.code).toBe('authorization_code_refused');

    const down = (await consent(org.organization.id, org.apiKey, realm)).callback;
    api.app.sandbox.injectFault({ kind: 'server-error', endpoint: 'token', times: 5 });
    try {
      const r2 = await api.call('GET', down, { key: null });
      expect(r2.status).toBe(502);
      expect(r2.body.error.code).toBe('qbo_unavailable');
      expect(r2.headers.get('retry-after')).toBe('60');
    } finally {
      api.app.sandbox.clearFaults();
    }
    expect(await QboConnection.exists({ orgId: org.organization.id })).toBeNull();
  });
});
