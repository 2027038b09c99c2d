import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { employeeKey, QboConnection, QboEmployee, type QboEmployeeDoc } from '../../src/db/models';
import { disconnectEmployee } from '../../src/directory/links';
import { addMember } from '../../src/directory/members';
import { baseDeps } from '../../src/runtime';
import { MESSAGES } from '../../src/sync/run-sync';
import { employee } from '../helpers/factories';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const emp = employee;

const COMPANY = {
  employees: [
    emp('1', 'Emily', 'Platt', 'emily@example.com'), // linked by e-mail; will be renamed
    emp('2', 'John', 'Johnson'), // no match; will get the e-mail of member Jon J
    emp('3', 'Miguel', 'Estevez', 'miguel@example.com'), // linked by name+email; will be deactivated
    emp('4', 'Ana', 'Silva', 'ana@example.com'), // linked; will be deleted in QBO
    emp('5', 'Pat', 'Quinn', 'pat@example.com'), // linked, then disconnected by an admin
    emp('6', 'Lee', 'Wong'), // untouched no-match
    emp('7', 'Kim', 'Park', 'kim@example.com'), // untouched, linked
  ],
};
const MEMBERS = [
  { fullName: 'Emily Platt', email: 'emily@example.com' },
  { fullName: 'Jon J', email: 'john.j@example.com' },
  { fullName: 'Miguel Estevez', email: 'miguel@example.com' },
  { fullName: 'Ana Silva', email: 'ana@example.com' },
  { fullName: 'Pat Quinn', email: 'pat@example.com' },
  { fullName: 'Kim Park', email: 'kim@example.com' },
];

describe('second sync after QBO changed', () => {
  let env: TestEnv;
  let app: TestApp;
  const realm = '4620816365000002';
  let orgId: string;
  const snapshot = async () =>
    new Map((await QboEmployee.find({ orgId }).lean<QboEmployeeDoc[]>()).map((d) => [d.qboId, JSON.stringify(d)]));
  const doc = async (qboId: string) => (await QboEmployee.findById(employeeKey(orgId, qboId)).lean<QboEmployeeDoc>())!;
  const eventsFor = async (name: string, qboId: string) =>
    (await app.rt.queues.memberEvents.getJobs(['waiting', 'delayed', 'completed', 'active', 'failed'], 0, -1)).filter(
      (j) => j.name === name && (j.data as { qboId: string }).qboId === qboId,
    );

  beforeAll(async () => {
    env = await setupTestEnv('sync-second');
    app = await startTestApp(env);
    app.sandbox.loadCompany(realm, COMPANY);
    orgId = await app.createOrg(MEMBERS);
    const { run } = await app.connect(orgId, realm);
    expect(run?.state).toBe('succeeded');
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it('links the first time as the rules say', async () => {
    expect((await doc('1')).link).toMatchObject({ status: 'connected', matchedBy: 'email' });
    expect((await doc('2')).link).toMatchObject({ status: 'cannot_connect', reason: 'no_match' });
    expect((await doc('5')).link.status).toBe('connected');
    expect(await eventsFor('member.new_detected', '2')).toHaveLength(1);
  });

  it('changes exactly the rows QBO changed, through one CDC request', async () => {
    await disconnectEmployee({ queues: app.rt.queues, redis: app.rt.redis, keyPrefix: app.config.QUEUE_PREFIX }, orgId, '5');
    const before = await snapshot();

    app.sandbox.updateEmployee(realm, '1', { GivenName: 'Emilia', DisplayName: 'Emilia Platt' });
    app.sandbox.updateEmployee(realm, '2', { PrimaryEmailAddr: { Address: 'John.J@example.com' } });
    app.sandbox.deactivateEmployee(realm, '3');
    app.sandbox.deleteEmployee(realm, '4');
    app.sandbox.addEmployee(realm, { Id: '8', GivenName: 'Nora', FamilyName: 'Hale', DisplayName: 'Nora Hale', Active: true });
    // The disconnected employee now matches a member by name: it must stay disconnected.
    app.sandbox.updateEmployee(realm, '5', { DisplayName: 'Pat Q. Quinn' });
    app.sandbox.resetRequests();

    const run = await app.sync(orgId, 'incremental');
    expect(run.state).toBe('succeeded');
    expect(run.mode).toBe('incremental');
    expect(app.sandbox.count('cdc', realm)).toBe(1);
    expect(app.sandbox.count('query', realm)).toBe(0);

    const after = await snapshot();
    const changed = [...after.keys()].filter((id) => before.get(id) !== after.get(id)).sort();
    expect(changed).toEqual(['1', '2', '3', '4', '5', '8']);

    // Renamed: data follows QBO, the e-mail link holds.
    expect(await doc('1')).toMatchObject({ givenName: 'Emilia', link: { status: 'connected', matchedBy: 'email' } });
    // New e-mail (other case): now linked by e-mail.
    expect((await doc('2')).link).toMatchObject({ status: 'connected', matchedBy: 'email' });
    // Deactivated: flagged, still linked, names kept.
    expect(await doc('3')).toMatchObject({ active: false, givenName: 'Miguel', email: 'miguel@example.com', link: { status: 'connected' } });
    // Deleted stub: marked deleted, link ended, names and e-mail kept.
    expect(await doc('4')).toMatchObject({ deleted: true, givenName: 'Ana', email: 'ana@example.com', link: { status: 'cannot_connect', reason: 'employee_deleted' } });
    expect((await doc('5')).link.status).toBe('disconnected');
    expect((await doc('8')).link).toMatchObject({ status: 'cannot_connect', reason: 'no_match' });
    expect(run.counts).toMatchObject({ created: 1, updated: 5, deleted: 1, newDetected: 1 });
    expect(run.message).toBe(MESSAGES.some);

    expect(await eventsFor('member.new_detected', '8')).toHaveLength(1);
    expect(await eventsFor('member.link_changed', '2')).toHaveLength(1);
    expect(await eventsFor('qbo.employee_removed', '4')).toHaveLength(1);
  });

  it('reports a new hire once, and a disconnected link stays cut, sync after sync', async () => {
    for (const mode of ['incremental', 'full'] as const) {
      const run = await app.sync(orgId, mode);
      expect(run.state).toBe('succeeded');
      expect(run.counts.newDetected).toBe(0);
    }
    expect(await eventsFor('member.new_detected', '8')).toHaveLength(1);
    expect((await doc('5')).link.status).toBe('disconnected');
  });

  it('falls back to a full sync when the CDC cursor is older than 30 days', async () => {
    await QboConnection.updateOne({ orgId }, { $set: { lastCdcAt: new Date(Date.now() - 31 * 24 * 3600_000) } });
    app.sandbox.resetRequests();
    const run = await app.sync(orgId, 'incremental');
    expect(run.mode).toBe('full');
    expect(app.sandbox.count('cdc', realm)).toBe(0);
    expect(app.sandbox.count('query', realm)).toBe(1);
    const conn = await QboConnection.findOne({ orgId }).lean<{ lastCdcAt: Date }>();
    expect(Date.now() - conn!.lastCdcAt.getTime()).toBeLessThan(5 * 60_000);
  });

  it('links a member added after the last sync on the next (incremental) sync, without asking QBO for more', async () => {
    const member = await addMember(baseDeps(app.rt), orgId, { fullName: 'Lee Wong' });
    app.sandbox.resetRequests();
    const run = await app.sync(orgId, 'incremental');
    expect(run.mode).toBe('incremental');
    expect(app.sandbox.count('query', realm)).toBe(0);
    expect((await doc('6')).link).toMatchObject({ status: 'connected', matchedBy: 'name' });
    expect(String((await doc('6')).link.memberId)).toBe(String(member._id));
  });

  it('lets an e-mail match win over a name match whatever order the employees come in', async () => {
    const org3 = await app.createOrg([{ fullName: 'Zed Name', email: 'zed@example.com' }]);
    const realm3 = '4620816365000004';
    // The lower Id matches by name only; the higher Id carries the member's e-mail.
    app.sandbox.loadCompany(realm3, { employees: [emp('200', 'Zed', 'Name'), emp('201', 'Zedediah', 'Other', 'ZED@example.com')] });
    const { run } = await app.connect(org3, realm3);
    expect(run?.state).toBe('succeeded');
    const d = async (id: string) => (await QboEmployee.findById(employeeKey(org3, id)).lean<QboEmployeeDoc>())!;
    expect((await d('201')).link).toMatchObject({ status: 'connected', matchedBy: 'email' });
    expect((await d('200')).link).toMatchObject({ status: 'cannot_connect', reason: 'member_taken' });
  });

  it('answers "No new members detected to sync" when every active employee is linked or explained', async () => {
    const org2 = await app.createOrg([{ fullName: 'Solo Person', email: 'solo@example.com' }]);
    const realm2 = '4620816365000003';
    app.sandbox.loadCompany(realm2, { employees: [emp('1', 'Solo', 'Person', 'solo@example.com'), emp('2', 'Gone', 'Away', undefined, false)] });
    const { run } = await app.connect(org2, realm2);
    expect(run?.message).toBe(MESSAGES.none);
    expect(run?.counts.candidates).toBe(0);
  });
});
