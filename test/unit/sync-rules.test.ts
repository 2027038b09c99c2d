import { describe, expect, it } from 'vitest';
import { Directory } from '../../src/matching/match';
import type { QboDeletedStub, QboEmployeeRecord } from '../../src/qbo/parse';
import { decideLink, INITIAL_LINK, type Claims, type LinkState } from '../../src/sync/link';
import { EMPTY_EMPLOYEE, mergeEmployee, sameData, type EmployeeData } from '../../src/sync/merge';
import { canMove } from '../../src/sync/run-state';

const record = (over: Partial<QboEmployeeRecord> = {}): QboEmployeeRecord => ({
  qboId: '1',
  syncToken: '0',
  givenName: 'Emily',
  middleName: null,
  familyName: 'Platt',
  displayName: 'Emily Platt',
  email: 'emily@example.com',
  employeeNumber: null,
  active: true,
  deleted: false,
  qboUpdatedAt: new Date('2026-03-01T10:00:00Z'),
  ...over,
});
const held = (over: Partial<EmployeeData> = {}): EmployeeData => ({ ...mergeEmployee(null, record()), ...over });
const stub = (at = '2026-03-02T10:00:00Z'): QboDeletedStub => ({ qboId: '1', deleted: true, qboUpdatedAt: new Date(at) });

describe('mergeEmployee', () => {
  it('takes an active row as the truth, emptied fields included', () => {
    const next = mergeEmployee(held(), record({ email: null, syncToken: '1', qboUpdatedAt: new Date('2026-03-02T00:00:00Z') }));
    expect(next.email).toBeNull();
  });
  it('never lets an inactive row erase data', () => {
    const next = mergeEmployee(held(), record({ active: false, email: null, givenName: null, syncToken: '2', qboUpdatedAt: new Date('2026-03-03T00:00:00Z') }));
    expect(next).toMatchObject({ active: false, email: 'emily@example.com', givenName: 'Emily', syncToken: '2' });
  });
  it('never lets a deleted stub erase data', () => {
    const next = mergeEmployee(held(), stub());
    expect(next).toMatchObject({ deleted: true, givenName: 'Emily', email: 'emily@example.com', active: true });
  });
  it('ignores a row older than the copy held', () => {
    const h = held({ qboUpdatedAt: new Date('2026-04-01T00:00:00Z') });
    expect(sameData(mergeEmployee(h, record({ givenName: 'Old' })), h)).toBe(true);
  });
  it('starts from an empty record for a new employee', () => {
    expect(mergeEmployee(null, record()).givenName).toBe('Emily');
    expect(sameData(EMPTY_EMPLOYEE, EMPTY_EMPLOYEE)).toBe(true);
  });
});

describe('decideLink', () => {
  const dir = new Directory([
    { id: 'm1', fullName: 'Emily Platt', email: 'emily@example.com' },
    { id: 'm2', fullName: 'John Johnson', email: null },
  ]);
  const connected = (memberId: string, matchedBy: LinkState['matchedBy']): LinkState => ({ status: 'connected', reason: null, memberId, matchedBy, hint: null });

  it('links by the rules and claims the member', () => {
    const claims: Claims = new Map();
    expect(decideLink('1', INITIAL_LINK, held(), dir, claims)).toMatchObject({ status: 'connected', memberId: 'm1', matchedBy: 'email' });
    expect(claims.get('m1')).toEqual({ qboId: '1', by: 'email' });
  });
  it('gives member_taken when another employee holds the member', () => {
    const claims: Claims = new Map([['m1', { qboId: '9', by: 'email' as const }]]);
    expect(decideLink('1', INITIAL_LINK, held(), dir, claims)).toMatchObject({ status: 'cannot_connect', reason: 'member_taken' });
  });
  it('lets an e-mail match take a member another employee holds by name, and says whom it displaced', () => {
    const claims: Claims = new Map([['m1', { qboId: '9', by: 'name' as const }]]);
    const displaced = new Set<string>();
    expect(decideLink('1', INITIAL_LINK, held(), dir, claims, displaced)).toMatchObject({ status: 'connected', memberId: 'm1', matchedBy: 'email' });
    expect([...displaced]).toEqual(['9']);
    expect(claims.get('m1')).toEqual({ qboId: '1', by: 'email' });
  });
  it('keeps a disconnected link whatever matches', () => {
    const prev: LinkState = { status: 'disconnected', reason: null, memberId: 'm1', matchedBy: null, hint: null };
    expect(decideLink('1', prev, held(), dir, new Map())).toBe(prev);
  });
  it('keeps an admin-made link while the member exists, even if names differ', () => {
    const prev = connected('m2', 'import');
    expect(decideLink('1', prev, held({ givenName: 'Zed', email: null }), dir, new Map())).toBe(prev);
  });
  it('ends the link of a deleted employee and frees the member', () => {
    const claims: Claims = new Map([['m1', { qboId: '1', by: 'email' as const }]]);
    const next = decideLink('1', connected('m1', 'email'), held({ deleted: true }), dir, claims);
    expect(next).toMatchObject({ status: 'cannot_connect', reason: 'employee_deleted', memberId: null });
    expect(claims.has('m1')).toBe(false);
  });
  it('re-evaluates an automatic link when QBO no longer matches', () => {
    const claims: Claims = new Map([['m1', { qboId: '1', by: 'email' as const }]]);
    const next = decideLink('1', connected('m1', 'email'), held({ givenName: 'Zed', email: 'zed@example.com' }), dir, claims);
    expect(next).toMatchObject({ status: 'cannot_connect', reason: 'no_match' });
    expect(claims.has('m1')).toBe(false);
  });
});

describe('sync run transitions', () => {
  it('allows only the listed moves', () => {
    expect(canMove('queued', 'running')).toBe(true);
    expect(canMove('running', 'running')).toBe(true);
    expect(canMove('running', 'succeeded')).toBe(true);
    expect(canMove('succeeded', 'running')).toBe(false);
    expect(canMove('failed', 'succeeded')).toBe(false);
    expect(canMove('queued', 'succeeded')).toBe(false);
  });
});
