import { describe, expect, it } from 'vitest';
import { HeldMap, pack, unpack, type Held } from '../../src/sync/held';
import { EMPTY_EMPLOYEE } from '../../src/sync/merge';

/** A held employee with overridable parts; every field set to something distinguishable. */
const held = (over: Partial<Held> = {}): Held => ({
  data: {
    syncToken: '3',
    givenName: 'Émilie',
    middleName: 'Q',
    familyName: "O'Brien \"Jr\"",
    displayName: 'Émilie O’Brien',
    email: 'emilie@example.com',
    employeeNumber: 'E-17',
    active: true,
    deleted: false,
    qboUpdatedAt: new Date('2024-03-01T10:20:30.456Z'),
  },
  link: { status: 'connected', reason: null, memberId: '65f0c0ffee0000000000abcd', matchedBy: 'email', hint: null },
  version: 4,
  newDetected: true,
  changedAt: new Date('2024-03-02T00:00:00.001Z'),
  ...over,
});

describe('held employees packed as text', () => {
  it('round-trips every field of a linked employee', () => {
    const h = held();
    expect(unpack(pack(h))).toEqual(h);
  });

  it('round-trips nulls, false flags and missing dates', () => {
    const h = held({ data: { ...EMPTY_EMPLOYEE, active: false, deleted: true }, version: 0, newDetected: false, changedAt: null });
    expect(unpack(pack(h))).toEqual(h);
  });

  it('round-trips a near-miss hint and a reason', () => {
    const h = held({
      link: { status: 'cannot_connect', reason: 'no_match', memberId: null, matchedBy: null, hint: { memberId: '65f0c0ffee0000000000beef', fullName: 'Emilie OBrien', kind: 'accents' } },
    });
    expect(unpack(pack(h))).toEqual(h);
  });

  it('round-trips every status, reason and way of matching', () => {
    for (const [status, reason, matchedBy] of [
      ['disconnected', null, 'manual'],
      ['connected', null, 'import'],
      ['connected', null, 'name'],
      ['cannot_connect', 'ambiguous_name', null],
      ['cannot_connect', 'member_taken', null],
      ['cannot_connect', 'no_identity', null],
      ['cannot_connect', 'employee_deleted', null],
    ] as const) {
      const h = held({ link: { status, reason, memberId: status === 'cannot_connect' ? null : '65f0c0ffee0000000000abcd', matchedBy, hint: null } });
      expect(unpack(pack(h))).toEqual(h);
    }
  });

  it('packs without field names, far smaller than the object as JSON', () => {
    const h = held();
    expect(pack(h)).not.toContain('givenName');
    expect(pack(h).length).toBeLessThan(JSON.stringify(h).length / 2);
  });

  it('a HeldMap hands back copies: changing one does not change what is held', () => {
    const map = new HeldMap();
    map.set('7', held());
    const got = map.get('7')!;
    got.data.givenName = 'Changed';
    expect(map.get('7')?.data.givenName).toBe('Émilie');
    expect(map.get('8')).toBeUndefined();
    expect(map.size).toBe(1);
    expect([...map.entries()]).toEqual([['7', held()]]);
  });
});
