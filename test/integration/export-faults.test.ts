/**
 * Timesheet export under QuickBooks trouble: throttling (429 with Retry-After) slows that one
 * company down without losing or duplicating an entry and without holding up another
 * company's export; writes that land but whose answer is lost are not written twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, type MemberDoc } from '../../src/db/models';
import { createTimeEntry } from '../../src/timesheets/entries';
import { requestExport, waitForExport } from '../../src/timesheets/request';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const company = (n: number) => ({
  employees: Array.from({ length: n }, (_, i) => ({
    Id: String(i + 1),
    SyncToken: '0',
    GivenName: 'Worker',
    FamilyName: `No${i + 1}`,
    DisplayName: `Worker No${i + 1}`,
    Active: true,
    PrimaryEmailAddr: { Address: `w${i + 1}@example.com` },
  })),
});

describe('timesheet export under QuickBooks faults', () => {
  let env: TestEnv;
  let app: TestApp;

  /** An org linked to `realm` with `perMember` entries for each of its 5 members. */
  async function orgWithEntries(realm: string, perMember: number): Promise<{ orgId: string; descriptions: string[] }> {
    app.sandbox.loadCompany(realm, company(5));
    const orgId = await app.createOrg(Array.from({ length: 5 }, (_, i) => ({ fullName: `Worker No${i + 1}`, email: `w${i + 1}@example.com` })));
    expect((await app.connect(orgId, realm)).run?.state).toBe('succeeded');
    const descriptions: string[] = [];
    for (const m of await Member.find({ orgId }).lean<MemberDoc[]>()) {
      for (let d = 0; d < perMember; d++) {
        const description = `${realm}-${String(m._id)}-${d}`;
        descriptions.push(description);
        await createTimeEntry(orgId, { memberId: String(m._id), date: `2026-10-${String(1 + (d % 28)).padStart(2, '0')}`, hours: 1, minutes: 15, description });
      }
    }
    return { orgId, descriptions };
  }
  const onceEach = (realm: string, descriptions: string[]) => {
    const seen = new Map<string, number>();
    for (const t of app.sandbox.timeActivities(realm)) seen.set(String(t.Description), (seen.get(String(t.Description)) ?? 0) + 1);
    return descriptions.every((d) => seen.get(d) === 1) && seen.size === descriptions.length;
  };

  beforeAll(async () => {
    env = await setupTestEnv('export-faults');
    // One export at a time per worker: a throttled company must hand its turn back.
    app = await startTestApp(env, { config: { EXPORT_CONCURRENCY: '1' } });
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it('a throttled company waits as asked, loses and doubles nothing, and does not hold up another company', async () => {
    const a = await orgWithEntries('4620816365000701', 20); // 100 entries
    const b = await orgWithEntries('4620816365000702', 4); // 20 entries
    // A's first batch is throttled as JSON, its retry as XML; each asks for 8 s.
    app.sandbox.injectFault({ kind: 'throttle-json', endpoint: 'batch', retryAfterSec: 8, times: 1, realmId: '4620816365000701' });
    app.sandbox.injectFault({ kind: 'throttle-xml', endpoint: 'batch', retryAfterSec: 8, times: 1, realmId: '4620816365000701' });
    const reqA = await requestExport(app.rt.queues, a.orgId, { from: '2026-10-01', to: '2026-10-31' });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const reqB = await requestExport(app.rt.queues, b.orgId, { from: '2026-10-01', to: '2026-10-31' });
    const doneB = await waitForExport(reqB.exportId, 30_000, 50);
    const bSeconds = (Date.now() - t0) / 1000;
    expect(doneB?.state).toBe('succeeded');
    expect(doneB?.counts.exported).toBe(20);
    // B went while A waited out its 8 s.
    expect(bSeconds).toBeLessThan(6);
    const doneA = await waitForExport(reqA.exportId, 60_000, 100);
    expect(doneA?.state).toBe('succeeded');
    expect(doneA?.counts).toMatchObject({ total: 100, exported: 100, failed: 0, blocked: 0 });
    expect(doneA!.finishedAt!.getTime()).toBeGreaterThan(doneB!.finishedAt!.getTime());
    expect(app.sandbox.requests.filter((r) => r.realmId === '4620816365000701' && r.status === 429).length).toBe(2);
    expect(onceEach('4620816365000701', a.descriptions)).toBe(true);
    expect(onceEach('4620816365000702', b.descriptions)).toBe(true);
  }, 90_000);

  it('creates that land but whose answer is lost, and server errors, are sent again without duplicates', async () => {
    const c = await orgWithEntries('4620816365000703', 9); // 45 entries
    app.sandbox.injectFault({ kind: 'commit-then-drop', endpoint: 'batch', times: 1, realmId: '4620816365000703' });
    app.sandbox.injectFault({ kind: 'server-error', endpoint: 'batch', times: 1, realmId: '4620816365000703' });
    app.sandbox.injectFault({ kind: 'commit-then-drop', endpoint: 'timeactivity', times: 2, realmId: '4620816365000703' });
    const req = await requestExport(app.rt.queues, c.orgId, { from: '2026-10-01', to: '2026-10-31' });
    const done = await waitForExport(req.exportId, 60_000, 100);
    expect(done?.state).toBe('succeeded');
    expect(done?.counts).toMatchObject({ total: 45, exported: 45 });
    expect(app.sandbox.timeActivities('4620816365000703')).toHaveLength(45);
    expect(onceEach('4620816365000703', c.descriptions)).toBe(true);
  }, 90_000);
});
