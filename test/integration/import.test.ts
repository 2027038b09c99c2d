/**
 * The members tab actions against real Redis, FerretDB, the QBO sandbox over HTTP and a real
 * SMTP receiver: import with invitations and seats, connect and disconnect, auto-import, and
 * the bad input each of them must refuse without leaving anything half done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detection, employeeKey, Import, Invitation, Member, Organization, QboEmployee, type ImportDoc, type MemberDoc, type QboEmployeeDoc } from '../../src/db/models';
import { requestLinkAction } from '../../src/directory/link-requests';
import { listMembers } from '../../src/directory/members';
import { DomainError } from '../../src/errors';
import { listImportCandidates } from '../../src/imports/candidates';
import { requestImport } from '../../src/imports/request';
import { waitForImport } from '../../src/imports/wait';
import { baseDeps } from '../../src/runtime';
import { employee } from '../helpers/factories';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';
import { until } from '../helpers/processes';

const emp = employee;

const company = (tag: string) => ({
  employees: [
    emp('1', 'Emily', 'Platt', `emily.${tag}@example.com`), // linked by e-mail
    emp('2', 'Grace', 'Holloway', `grace.${tag}@example.com`), // candidate
    emp('3', 'Marcus', 'Bell', `marcus.${tag}@example.com`), // candidate
    emp('4', 'Tomasz', 'Nowak'), // candidate without e-mail
    emp('5', 'Leila', 'Haddad', `leila.${tag}@example.com`), // candidate
    emp('6', 'Dana', 'Whitaker', `dana.${tag}@example.com`, false), // inactive candidate
    emp('7', 'Ben', 'Okafor', `ben.${tag}@example.com`), // candidate
    emp('8', 'Pat', 'Quinn', `pat.${tag}@example.com`), // linked, disconnected in a test
    emp('9', 'Samuel', 'Leigh'), // no match until QBO fixes the name to "Sam Lee"
    emp('10', 'Zed', 'Nobody'), // nothing matches, ever
  ],
});
const MEMBERS = (tag: string) => [
  { fullName: 'Emily Platt', email: `emily.${tag}@example.com` },
  { fullName: 'Pat Quinn', email: `pat.${tag}@example.com` },
  { fullName: 'Sam Lee' },
];

describe('members tab actions', () => {
  let env: TestEnv;
  let app: TestApp;
  let realmSeq = 4620816365000300;
  const deps = () => baseDeps(app.rt);

  /** A connected org on a realm of its own, first sync done. */
  async function connectedOrg(tag: string, org: Parameters<TestApp['createOrg']>[1] = {}): Promise<{ orgId: string; realm: string }> {
    const realm = String(realmSeq++);
    app.sandbox.loadCompany(realm, company(tag));
    const orgId = await app.createOrg(MEMBERS(tag), org);
    const { run } = await app.connect(orgId, realm);
    expect(run?.state).toBe('succeeded');
    return { orgId, realm };
  }
  const employee = async (orgId: string, qboId: string) => (await QboEmployee.findById(employeeKey(orgId, qboId)).lean<QboEmployeeDoc>())!;
  const members = (orgId: string) => Member.find({ orgId }).lean<MemberDoc[]>();
  const mailTo = (addr: string) => app.mailbox.messages.filter((m) => m.to.includes(addr));
  async function importAndWait(orgId: string, ids: string[], sendInvites: boolean): Promise<ImportDoc> {
    const req = await requestImport(deps(), orgId, { employeeIds: ids, sendInvites });
    const done = await waitForImport(req.importId, 30_000);
    if (!done) throw new Error('import did not finish');
    return done;
  }
  /** Every invited member of `orgId` has a recorded outcome. */
  async function invitationsSettled(orgId: string): Promise<void> {
    await until(
      'every invitation to be recorded',
      async () => {
        const invited = await Member.countDocuments({ orgId, 'invitation.state': 'queued' });
        return (await Invitation.countDocuments({ orgId })) >= invited;
      },
      30_000,
    );
  }
  async function refusal(p: Promise<unknown>): Promise<DomainError> {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }

  beforeAll(async () => {
    env = await setupTestEnv('import');
    app = await startTestApp(env);
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it('lists the active no-match employees as candidates, inactive ones only when asked', async () => {
    const { orgId } = await connectedOrg('cand');
    expect((await listImportCandidates(orgId)).map((r) => r.qboId)).toEqual(['2', '3', '4', '5', '7', '9', '10']);
    const all = await listImportCandidates(orgId, { includeInactive: true });
    expect(all.map((r) => r.qboId)).toContain('6');
    expect(all.find((r) => r.qboId === '4')).toMatchObject({ name: 'Tomasz Nowak', email: null, active: true });
  });

  it('imports three candidates with invitations: three linked members, two e-mails, no login without an address', async () => {
    const { orgId } = await connectedOrg('three');
    const seatsBefore = (await Organization.findById(orgId).lean())!.seatsUsed;
    const imp = await importAndWait(orgId, ['2', '3', '4'], true);
    expect(imp.state).toBe('succeeded');
    expect(imp.counts).toEqual({ requested: 3, created: 3, skipped: 0, invited: 2 });
    expect(imp.items?.map((i) => i.outcome)).toEqual(['created', 'created', 'created']);

    const byName = new Map((await members(orgId)).map((m) => [m.fullName, m]));
    expect(byName.size).toBe(3 + 3);
    const tomasz = byName.get('Tomasz Nowak')!;
    expect(tomasz).toMatchObject({ email: null, loginAccess: false, origin: 'qbo_import' });
    expect(tomasz.invitation.state).toBe('none');
    expect(byName.get('Grace Holloway')).toMatchObject({ email: 'grace.three@example.com', loginAccess: true, origin: 'qbo_import' });
    for (const qboId of ['2', '3', '4']) {
      const e = await employee(orgId, qboId);
      expect(e.link).toMatchObject({ status: 'connected', matchedBy: 'import' });
      expect(String(e.link.memberId)).toBe(String(byName.get(`${e.givenName} ${e.familyName}`)!._id));
    }
    expect((await Organization.findById(orgId).lean())!.seatsUsed).toBe(seatsBefore + 3);

    await invitationsSettled(orgId);
    const mails = app.mailbox.messages.filter((m) => m.to.some((t) => t.endsWith('.three@example.com')));
    expect(mails.map((m) => m.to[0]).sort()).toEqual(['grace.three@example.com', 'marcus.three@example.com']);
    expect(mails[0]!.text).toMatch(/https?:\/\/\S+\?token=[A-Za-z0-9_-]{20,}/);
    expect(mails[0]!.messageId).toMatch(/^<invite\.[0-9a-f]{24}@harbor\.example>$/);
    const shown = new Map((await listMembers(orgId)).map((m) => [m.fullName, m.invitation.state]));
    expect(shown.get('Grace Holloway')).toBe('sent');
    expect(shown.get('Tomasz Nowak')).toBe('none');

    // The same import again: nothing new, nothing sent twice.
    const again = await importAndWait(orgId, ['2', '3', '4'], true);
    expect(again.state).toBe('succeeded');
    expect(again.counts).toMatchObject({ created: 0, skipped: 3 });
    expect(again.items?.map((i) => i.reason)).toEqual(['already_linked', 'already_linked', 'already_linked']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await Member.countDocuments({ orgId })).toBe(6);
    expect(mailTo('grace.three@example.com')).toHaveLength(1);
    expect((await Organization.findById(orgId).lean())!.seatsUsed).toBe(seatsBefore + 3);

    // A Redis that lost its data (the send claims with it), then the invitations queued again,
    // as a batch and one by one: the ledger in MongoDB still says they were sent.
    const invited = [byName.get('Grace Holloway')!, byName.get('Marcus Bell')!].map((m) => String(m._id));
    for (const m of invited) await app.rt.redis.del(`${app.config.QUEUE_PREFIX}:invite-claim:${m}`);
    const batch = await app.rt.queues.memberInvites.add('invite-batch', { orgId, importId: String(imp._id), memberIds: invited }, { jobId: 'after-redis-loss-batch' });
    const single = await app.rt.queues.memberInvites.add('invite', { orgId, memberId: invited[0]! }, { jobId: 'after-redis-loss-single' });
    await until('both jobs to finish', async () => (await batch.isCompleted()) && (await single.isCompleted()), 20_000);
    expect(mailTo('grace.three@example.com')).toHaveLength(1);
    expect(mailTo('marcus.three@example.com')).toHaveLength(1);
  });

  it('the same import submitted twice at once creates each member, link and e-mail once', async () => {
    const { orgId } = await connectedOrg('twice');
    const [a, b] = await Promise.all([
      requestImport(deps(), orgId, { employeeIds: ['5', '7'], sendInvites: true }),
      requestImport(deps(), orgId, { employeeIds: ['5', '7'], sendInvites: true }),
    ]);
    const [da, db] = await Promise.all([waitForImport(a.importId, 30_000), waitForImport(b.importId, 30_000)]);
    expect([da?.counts.created, db?.counts.created].sort()).toEqual([0, 2]);
    await invitationsSettled(orgId);
    expect(await Member.countDocuments({ orgId, origin: 'qbo_import' })).toBe(2);
    expect(mailTo('leila.twice@example.com')).toHaveLength(1);
    expect(mailTo('ben.twice@example.com')).toHaveLength(1);
    const links = await QboEmployee.find({ orgId, 'link.matchedBy': 'import' }).lean<QboEmployeeDoc[]>();
    expect(links).toHaveLength(2);
    // One link_changed per new link, whatever the second request did.
    const events = (await app.rt.queues.memberEvents.getJobs(['waiting', 'active', 'completed', 'delayed'], 0, -1)).filter(
      (j) => j.name === 'member.link_changed' && (j.data as { orgId: string }).orgId === orgId && (j.data as { cause: string }).cause === 'import',
    );
    expect(events).toHaveLength(2);
  });

  it('refuses an import a paid plan has too few seats for, and changes nothing', async () => {
    const { orgId } = await connectedOrg('seats', { plan: 'paid', seatLimit: 5 }); // 3 used, 2 free
    const err = await refusal(requestImport(deps(), orgId, { employeeIds: ['2', '3', '5'], sendInvites: true }));
    expect(err.code).toBe('seat_quota_exceeded');
    expect(err.details).toEqual({ seatsNeeded: 3, seatsFree: 2 });
    expect(await Import.countDocuments({ orgId })).toBe(0);
    expect(await Member.countDocuments({ orgId })).toBe(3);
    expect(await QboEmployee.countDocuments({ orgId, 'link.matchedBy': 'import' })).toBe(0);
    expect(app.mailbox.messages.filter((m) => m.to.some((t) => t.endsWith('.seats@example.com')))).toHaveLength(0);
  });

  it('two imports racing for the last seats: one succeeds, the other is refused, seatsUsed exact', async () => {
    const { orgId } = await connectedOrg('race', { plan: 'paid', seatLimit: 5 }); // 2 free
    const [a, b] = await Promise.all([
      requestImport(deps(), orgId, { employeeIds: ['2', '3'], sendInvites: false }),
      requestImport(deps(), orgId, { employeeIds: ['5'], sendInvites: false }),
    ]);
    const done = await Promise.all([waitForImport(a.importId, 30_000), waitForImport(b.importId, 30_000)]);
    const states = done.map((d) => d?.state).sort();
    expect(states).toEqual(['refused', 'succeeded']);
    const refused = done.find((d) => d?.state === 'refused')!;
    expect(refused.error.code).toBe('seat_quota_exceeded');
    const org = (await Organization.findById(orgId).lean())!;
    expect(org.seatsUsed).toBe(await Member.countDocuments({ orgId }));
    expect(org.seatsUsed).toBeLessThanOrEqual(5);
    expect(org.seatHolds).toEqual([]);
  });

  it('retries invitations while the SMTP server is down, delivers once it is back, and records a rejected address as failed', async () => {
    const { orgId } = await connectedOrg('smtp');
    app.mailbox.rejectRecipients.add('leila.smtp@example.com');
    await app.mailbox.stop();
    const imp = await importAndWait(orgId, ['2', '5'], true);
    expect(imp.counts.invited).toBe(2);
    await new Promise((r) => setTimeout(r, 1500)); // several attempts fail meanwhile
    expect(await Invitation.countDocuments({ orgId })).toBe(0);
    const grace = (await Member.findOne({ orgId, fullName: 'Grace Holloway' }).lean<MemberDoc>())!;
    const job = await app.rt.queues.memberInvites.getJob(`invite-${String(grace._id)}`);
    expect(job?.attemptsMade).toBeGreaterThan(0);

    await app.mailbox.start();
    await invitationsSettled(orgId);
    expect(mailTo('grace.smtp@example.com')).toHaveLength(1);
    expect(mailTo('leila.smtp@example.com')).toHaveLength(0);
    const outcomes = new Map((await listMembers(orgId)).map((m) => [m.fullName, m.invitation]));
    expect(outcomes.get('Grace Holloway')).toEqual({ state: 'sent', reason: null });
    expect(outcomes.get('Leila Haddad')?.state).toBe('failed');
    expect(outcomes.get('Leila Haddad')?.reason).toMatch(/^SMTP 550/);
    // The member stays, linked.
    expect((await employee(orgId, '5')).link).toMatchObject({ status: 'connected', matchedBy: 'import' });
  });

  it('disconnect holds across syncs; connect decides again on what QBO has now', async () => {
    const { orgId, realm } = await connectedOrg('links');
    const q = app.rt.queues;
    const cut = await requestLinkAction(q, orgId, '8', 'disconnect');
    expect(cut).toMatchObject({ done: true, result: { status: 'disconnected', changed: true } });
    expect(await requestLinkAction(q, orgId, '8', 'disconnect')).toMatchObject({ done: true, result: { status: 'disconnected', changed: false } });
    await app.sync(orgId, 'full');
    await app.sync(orgId, 'incremental');
    expect((await employee(orgId, '8')).link.status).toBe('disconnected');
    expect((await employee(orgId, '8')).email).toBe('pat.links@example.com');

    // Nothing matches "Samuel Leigh" yet.
    expect(await requestLinkAction(q, orgId, '9', 'connect')).toMatchObject({ done: true, result: { status: 'cannot_connect', reason: 'no_match', changed: false } });
    // The admin fixes the name in QBO; connect reads it there, no sync needed.
    app.sandbox.updateEmployee(realm, '9', { GivenName: 'Sam', FamilyName: 'Lee', DisplayName: 'Sam Lee' });
    const fixed = await requestLinkAction(q, orgId, '9', 'connect');
    expect(fixed).toMatchObject({ done: true, result: { status: 'connected', matchedBy: 'name', changed: true, fresh: true } });
    expect((await employee(orgId, '9')).givenName).toBe('Sam');
    // A disconnected row comes back by an explicit connect.
    expect(await requestLinkAction(q, orgId, '8', 'connect')).toMatchObject({ done: true, result: { status: 'connected', matchedBy: 'email' } });
    // Nothing matches at all: cannot connect, with the reason.
    expect(await requestLinkAction(q, orgId, '10', 'connect')).toMatchObject({ done: true, result: { status: 'cannot_connect', reason: 'no_match' } });

    const changes = (await q.memberEvents.getJobs(['waiting', 'active', 'completed', 'delayed'], 0, -1)).filter(
      (j) => j.name === 'member.link_changed' && (j.data as { orgId: string }).orgId === orgId && (j.data as { cause: string }).cause === 'admin',
    );
    expect(changes.map((j) => `${(j.data as { qboId: string }).qboId}:${(j.data as { to: { status: string } }).to.status}`).sort()).toEqual([
      '8:connected',
      '8:disconnected',
      '9:connected',
    ]);
  });

  it('refuses bad input with a clear code and creates nothing', async () => {
    const { orgId } = await connectedOrg('bad');
    const other = await connectedOrg('bad-other');
    app.sandbox.addEmployee(other.realm, { Id: '77', GivenName: 'Only', FamilyName: 'There', DisplayName: 'Only There', Active: true });
    await app.sync(other.orgId, 'incremental');
    const cases: [unknown, string][] = [
      [[], 'invalid_request'],
      ['2', 'invalid_request'],
      [['2', '3', '2'], 'duplicate_employee_ids'],
      [['999'], 'unknown_employees'],
      [['2', '77'], 'unknown_employees'], // 77 belongs to another organisation's company
      [[{ id: '2' }], 'invalid_employee_id'],
    ];
    for (const [employeeIds, code] of cases) {
      expect((await refusal(requestImport(deps(), orgId, { employeeIds, sendInvites: true }))).code).toBe(code);
    }
    expect((await refusal(requestImport(deps(), orgId, { employeeIds: ['2'], sendInvites: 'yes' }))).code).toBe('invalid_request');
    const noQbo = await app.createOrg([]);
    expect((await refusal(requestImport(deps(), noQbo, { employeeIds: ['2'], sendInvites: false }))).code).toBe('qbo_not_connected');
    expect((await refusal(requestImport(deps(), '0123456789abcdef01234567', { employeeIds: ['2'] }))).code).toBe('org_not_found');
    expect((await refusal(requestLinkAction(app.rt.queues, orgId, '999', 'connect'))).code).toBe('employee_not_found');
    expect((await refusal(requestLinkAction(app.rt.queues, orgId, '77', 'disconnect'))).code).toBe('employee_not_found');
    expect(await Import.countDocuments({ orgId })).toBe(0);
    expect(await Member.countDocuments({ orgId })).toBe(3);
  });

  it('auto-import: what a sync detects is imported and invited under the org defaults', async () => {
    const { orgId } = await connectedOrg('auto', { autoImport: true, inviteByDefault: true });
    const imp = await until('the auto-import to finish', () => Import.findOne({ orgId, requestedBy: 'auto', state: 'succeeded' }).lean<ImportDoc>(), 30_000);
    expect(imp.sendInvites).toBe(true);
    expect(imp.employeeIds.sort()).toEqual(['10', '2', '3', '4', '5', '7', '9']);
    expect(imp.counts.created).toBe(7);
    expect(await Detection.countDocuments({ orgId })).toBe(7);
    await invitationsSettled(orgId);
    expect(mailTo('grace.auto@example.com')).toHaveLength(1);
    expect(await listImportCandidates(orgId)).toEqual([]);
    // A later sync detects nothing new: no second auto-import.
    await app.sync(orgId, 'full');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await Import.countDocuments({ orgId })).toBe(1);
  });
});
