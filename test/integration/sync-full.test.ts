import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QboEmployee, type QboEmployeeDoc } from '../../src/db/models';
import { MESSAGES } from '../../src/sync/run-sync';
import { generateCompany } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const REALM = '4620816365000001';

describe('full sync of a large company', () => {
  let env: TestEnv;
  let app: TestApp;
  beforeAll(async () => {
    env = await setupTestEnv('sync-full');
    app = await startTestApp(env);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it('stores 2,350 employees once each, in ceil(2350/1000) list requests, with the right statuses', async () => {
    const company = generateCompany(2350, { inactiveEvery: 10, noEmailEvery: 7 });
    app.sandbox.loadCompany(REALM, company);
    const byId = new Map(company.employees.map((e) => [e.Id, e]));
    const e = (id: string) => byId.get(id)!;
    const nameOf = (id: string) => `${e(id).GivenName} ${e(id).FamilyName}`;
    // Members chosen among employees whose Given+Family name is unique in the company.
    const nameCount = new Map<string, number>();
    for (const emp of company.employees) nameCount.set(nameOf(emp.Id), (nameCount.get(nameOf(emp.Id)) ?? 0) + 1);
    const unique = company.employees.filter((x) => nameCount.get(nameOf(x.Id)) === 1 && x.PrimaryEmailAddr?.Address).map((x) => x.Id);
    expect(unique.length).toBeGreaterThan(20);
    const [byEmail, byName, ambiguous] = [unique[0]!, unique[1]!, unique[2]!];

    const orgId = await app.createOrg([
      // e-mail in other case and padded; a different name: the e-mail decides
      { fullName: 'Somebody Else', email: `  ${e(byEmail).PrimaryEmailAddr!.Address!.toUpperCase()} ` },
      { fullName: `  ${nameOf(byName).toUpperCase()}  ` },
      { fullName: nameOf(ambiguous) },
      { fullName: nameOf(ambiguous) },
    ]);
    app.sandbox.resetRequests();
    const { run } = await app.connect(orgId, REALM);

    expect(run?.state).toBe('succeeded');
    expect(run?.mode).toBe('full');
    expect(app.sandbox.count('query', REALM)).toBe(Math.ceil(2350 / 1000));
    expect(run?.counts.fetched).toBe(2350);
    expect(run?.counts.created).toBe(2350);

    const docs = await QboEmployee.find({ orgId }).lean<QboEmployeeDoc[]>();
    expect(docs).toHaveLength(2350);
    expect(new Set(docs.map((d) => d.qboId)).size).toBe(2350);
    const doc = (id: string) => docs.find((d) => d.qboId === id)!;

    expect(doc(byEmail).link).toMatchObject({ status: 'connected', matchedBy: 'email' });
    expect(doc(byName).link).toMatchObject({ status: 'connected', matchedBy: 'name' });
    expect(doc(ambiguous).link).toMatchObject({ status: 'cannot_connect', reason: 'ambiguous_name' });
    expect(doc('10').active).toBe(false);
    expect(doc('11').active).toBe(true);
    expect(doc('7').email).toBeNull();

    const activeNoMatch = docs.filter((d) => d.active && d.link.status === 'cannot_connect' && d.link.reason === 'no_match').length;
    expect(run?.counts.candidates).toBe(activeNoMatch);
    expect(run?.message).toBe(MESSAGES.some);
    // Each active candidate is reported once as a new member; inactive ones are not candidates.
    const detected = await app.rt.queues.memberEvents.getJobs(['waiting', 'delayed', 'completed', 'active'], 0, -1);
    expect(detected.filter((j) => j.name === 'member.new_detected')).toHaveLength(activeNoMatch);
  });
});
