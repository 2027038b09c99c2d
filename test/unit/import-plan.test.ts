import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import type { QboEmployeeDoc } from '../../src/db/models';
import { memberEmail, planImport } from '../../src/imports/plan';
import { Directory } from '../../src/matching/match';
import type { Claims } from '../../src/sync/link';

let seq = 0;
function employee(over: Omit<Partial<QboEmployeeDoc>, 'link'> & { link?: Partial<QboEmployeeDoc['link']> } = {}): QboEmployeeDoc {
  const qboId = over.qboId ?? String(++seq);
  const { link, ...rest } = over;
  return {
    _id: `org:${qboId}`,
    orgId: new Types.ObjectId(),
    realmId: '1',
    qboId,
    syncToken: '0',
    givenName: 'Grace',
    middleName: null,
    familyName: `Holloway${qboId}`,
    displayName: null,
    email: `g${qboId}@example.com`,
    employeeNumber: null,
    active: true,
    deleted: false,
    qboUpdatedAt: null,
    newDetectedAt: null,
    lastSyncRunId: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    ...rest,
    link: { status: 'cannot_connect', reason: 'no_match', memberId: null, matchedBy: null, hint: { memberId: null, fullName: null, kind: null }, version: 1, changedAt: null, ...link },
  };
}

const plan = (emps: QboEmployeeDoc[], opts = { sendInvites: true, includeInactive: false }, members = new Directory(), claims: Claims = new Map()) =>
  planImport(
    emps.map((e) => e.qboId),
    new Map(emps.map((e) => [e.qboId, e])),
    members,
    claims,
    opts,
  );

describe('planImport', () => {
  it('creates a member for each candidate, inviting only those with an address', () => {
    const [a, b] = [employee(), employee({ email: null })];
    expect(plan([a!, b!])).toEqual([
      { qboId: a!.qboId, action: 'create', fullName: `Grace ${a!.familyName}`, email: a!.email, invite: true },
      { qboId: b!.qboId, action: 'create', fullName: `Grace ${b!.familyName}`, email: null, invite: false },
    ]);
  });

  it('invites nobody when invitations are off', () => {
    expect(plan([employee()], { sendInvites: false, includeInactive: false })[0]).toMatchObject({ action: 'create', invite: false });
  });

  it('skips what changed since the list was shown, with the reason', () => {
    const rows = [
      employee({ link: { status: 'connected', reason: null } }),
      employee({ link: { status: 'disconnected', reason: null } }),
      employee({ deleted: true }),
      employee({ active: false }),
      employee({ link: { reason: 'ambiguous_name' } }),
      employee({ link: { reason: 'member_taken' } }),
    ];
    expect(plan(rows).map((p) => (p.action === 'skip' ? p.reason : p.action))).toEqual([
      'already_linked',
      'link_disconnected',
      'employee_deleted',
      'employee_inactive',
      'ambiguous_name',
      'member_taken',
    ]);
  });

  it('imports an inactive employee only when asked', () => {
    expect(plan([employee({ active: false })], { sendInvites: true, includeInactive: true })[0]?.action).toBe('create');
  });

  it('names an employee it has never stored', () => {
    expect(planImport(['404'], new Map(), new Directory(), new Map(), { sendInvites: true, includeInactive: false })).toEqual([
      { qboId: '404', action: 'skip', reason: 'employee_not_found' },
    ]);
  });

  it('skips an employee a member added since the sync now matches, by e-mail or by name', () => {
    const byMail = employee({ email: 'Late@Example.com ' });
    const byName = employee({ email: null, givenName: 'Hiro', familyName: 'Tanaka' });
    const dir = new Directory([
      { id: 'm1', fullName: 'Someone Else', email: 'late@example.com' },
      { id: 'm2', fullName: 'hiro  TANAKA', email: null },
    ]);
    expect(plan([byMail, byName], undefined, dir).map((p) => p.action === 'skip' && p.reason)).toEqual(['matches_existing_member', 'matches_existing_member']);
  });

  it('still imports when the only matching member is already linked to someone else', () => {
    const e = employee({ email: null, givenName: 'Hiro', familyName: 'Tanaka' });
    const dir = new Directory([{ id: 'm2', fullName: 'Hiro Tanaka', email: null }]);
    const claims: Claims = new Map([['m2', { qboId: 'other', by: 'name' }]]);
    expect(plan([e], undefined, dir, claims)[0]?.action).toBe('create');
  });

  it('creates one member per address: a second employee with the same e-mail is skipped', () => {
    const a = employee({ email: 'shared@example.com' });
    const b = employee({ email: 'SHARED@example.com' });
    expect(plan([a, b]).map((p) => (p.action === 'skip' ? p.reason : p.action))).toEqual(['create', 'email_in_use']);
  });

  it('skips an employee with no usable name', () => {
    expect(plan([employee({ givenName: ' ', familyName: null, displayName: '\u200b' })])[0]).toMatchObject({ action: 'skip', reason: 'no_identity' });
  });
});

describe('memberEmail', () => {
  it.each([
    ['a@b.co', 'a@b.co'],
    ['  a@b.co ', 'a@b.co'],
    ['', null],
    ['   ', null],
    [null, null],
    ['n/a', null],
    ['a@b', null],
    ['a b@c.de', null],
  ])('%j → %j', (raw, want) => expect(memberEmail(raw)).toBe(want));
});
