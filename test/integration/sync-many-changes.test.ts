import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QboEmployee } from '../../src/db/models';
import { generateCompany } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

// FerretDB 1.24 hangs on an update command of 100+ statements (src/db/bulk.ts). A sync that
// changes hundreds of stored rows at once must still finish.
describe('a sync that changes hundreds of rows at once', () => {
  let env: TestEnv;
  let app: TestApp;
  const realm = '4620816365000077';
  let orgId: string;

  beforeAll(async () => {
    env = await setupTestEnv('sync-many-changes');
    app = await startTestApp(env);
    app.sandbox.loadCompany(realm, generateCompany(400, { seed: 7 }));
    orgId = await app.createOrg([]);
    const { run } = await app.connect(orgId, realm);
    expect(run?.state).toBe('succeeded');
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it('renames 250 employees and a full sync stores every new name', async () => {
    const renamed = app.sandbox.employees(realm).slice(0, 250);
    for (const e of renamed) app.sandbox.updateEmployee(realm, e.Id, { FamilyName: `${e.FamilyName ?? 'X'}-Renamed`, DisplayName: `${e.DisplayName} (r)` });
    const run = await app.sync(orgId, 'full');
    expect(run.state).toBe('succeeded');
    expect(run.counts.updated).toBe(250);
    const stored = await QboEmployee.countDocuments({ orgId, familyName: /-Renamed$/ });
    expect(stored).toBe(250);
  });
});
