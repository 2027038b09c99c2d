import { describe, expect, it } from 'vitest';
import { Directory } from '../../src/matching/match';
import type { DirectoryMember, MatchOutcome } from '../../src/matching/match';
import { employeeFullName, normalizeEmail, normalizeName } from '../../src/matching/normalize';

let nextId = 1;
function member(fullName: string, email: string | null = null, id?: string): DirectoryMember {
  return { id: id ?? `m${nextId++}`, fullName, email };
}

const nobodyTaken = (): boolean => false;
const takenSet = (...ids: string[]) => (id: string): boolean => ids.includes(id);

const noMatch: MatchOutcome = { status: 'cannot_connect', reason: 'no_match', hint: null };

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Emily.Platt@Example.COM \t')).toBe('emily.platt@example.com');
  });
  it('turns blank and whitespace-only values into null', () => {
    expect(normalizeEmail('')).toBeNull();
    expect(normalizeEmail('   \t\n')).toBeNull();
    expect(normalizeEmail(null)).toBeNull();
    expect(normalizeEmail(undefined)).toBeNull();
  });
  it('rejects a value without @', () => {
    expect(normalizeEmail('emily.platt')).toBeNull();
  });
});

describe('normalizeName', () => {
  it('lower-cases, trims and collapses tabs, NBSP and repeated spaces', () => {
    expect(normalizeName('  Emily\u00A0\t  PLATT  ')).toBe('emily platt');
  });
  it('drops zero-width spaces instead of splitting the word', () => {
    expect(normalizeName('Em\u200Bily\u2060 Platt')).toBe('emily platt');
  });
  it('composes NFD input to NFC', () => {
    expect(normalizeName('Jose\u0301')).toBe('jos\u00E9');
  });
  it('turns blank values into null', () => {
    expect(normalizeName(' \u00A0 ')).toBeNull();
    expect(normalizeName(null)).toBeNull();
    expect(normalizeName(undefined)).toBeNull();
  });
});

describe('employeeFullName', () => {
  it('joins Given and Family with one space', () => {
    expect(employeeFullName({ givenName: ' Emily ', familyName: 'Platt', displayName: 'Em (Warehouse)' })).toBe('Emily Platt');
  });
  it('uses whichever of Given/Family is present', () => {
    expect(employeeFullName({ givenName: '  ', familyName: 'Platt' })).toBe('Platt');
    expect(employeeFullName({ givenName: 'Emily', familyName: null })).toBe('Emily');
  });
  it('falls back to DisplayName when Given and Family are missing or blank', () => {
    expect(employeeFullName({ givenName: ' ', familyName: undefined, displayName: 'Emily Platt' })).toBe('Emily Platt');
  });
  it('leaves MiddleName out', () => {
    expect(employeeFullName({ givenName: 'Emily', middleName: 'Jane', familyName: 'Platt' })).toBe('Emily Platt');
  });
  it('returns null when nothing usable is present', () => {
    expect(employeeFullName({ givenName: ' ', familyName: '', displayName: '\t' })).toBeNull();
    expect(employeeFullName({})).toBeNull();
  });
});

describe('Directory.match', () => {
  it('email wins over a name match pointing at a different member', () => {
    const byEmail = member('Someone Else', 'emily@example.com');
    const byName = member('Emily Platt', 'other@example.com');
    const dir = new Directory([byName, byEmail]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: 'emily@example.com' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: byEmail.id, matchedBy: 'email' });
  });

  it('ignores case and surrounding spaces in emails', () => {
    const m = member('Someone', 'emily.platt@example.com');
    const dir = new Directory([m]);
    expect(dir.match({ email: '  Emily.Platt@EXAMPLE.com ' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'email' });
  });

  it('ignores case and extra spaces in names', () => {
    const m = member('  emily   PLATT ');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily\t', familyName: '\u00A0Platt' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
  });

  it('links an NFD-encoded employee name to the NFC member name', () => {
    const m = member('Jos\u00E9 M\u00FCller');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Jose\u0301', familyName: 'Mu\u0308ller' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
  });

  it('a missing employee email never matches a member without email', () => {
    const m = member('Somebody Else', null);
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: null }, nobodyTaken)).toEqual(noMatch);
  });

  it('an empty employee email never matches a member with an empty email', () => {
    const m = member('Somebody Else', '');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: '' }, nobodyTaken)).toEqual(noMatch);
  });

  it('a whitespace-only email never matches a whitespace-only member email', () => {
    const m = member('Somebody Else', '   ');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: ' \t ' }, nobodyTaken)).toEqual(noMatch);
  });

  it('a blank email alone is no identity even when members have blank emails', () => {
    const dir = new Directory([member('Somebody', ''), member('Other', '  ')]);
    expect(dir.match({ email: '  ' }, nobodyTaken)).toEqual({ status: 'cannot_connect', reason: 'no_identity', hint: null });
  });

  it('uses DisplayName when Given and Family are missing', () => {
    const m = member('Emily Platt');
    const dir = new Directory([m]);
    expect(dir.match({ displayName: 'Emily Platt' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
  });

  it('ignores MiddleName when comparing names', () => {
    const m = member('Emily Platt');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', middleName: 'Jane', familyName: 'Platt' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
  });

  it('two members with the same name → ambiguous_name', () => {
    const dir = new Directory([member('John Smith'), member('john  smith')]);
    expect(dir.match({ givenName: 'John', familyName: 'Smith' }, nobodyTaken))
      .toEqual({ status: 'cannot_connect', reason: 'ambiguous_name', hint: null });
  });

  it('a member already linked to another employee by name → member_taken', () => {
    const m = member('Emily Platt');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, takenSet(m.id))).toEqual({
      status: 'cannot_connect', reason: 'member_taken',
      hint: { memberId: m.id, fullName: 'Emily Platt', kind: 'taken_by_other' },
    });
  });

  it('a member already linked by email → member_taken, without falling through to the name', () => {
    const byEmail = member('Emily P.', 'emily@example.com');
    const byName = member('Emily Platt');
    const dir = new Directory([byEmail, byName]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: 'emily@example.com' }, takenSet(byEmail.id))).toEqual({
      status: 'cannot_connect', reason: 'member_taken',
      hint: { memberId: byEmail.id, fullName: 'Emily P.', kind: 'taken_by_other' },
    });
  });

  it('no names and no email → no_identity', () => {
    const dir = new Directory([member('Emily Platt', 'emily@example.com')]);
    expect(dir.match({ givenName: ' ', familyName: null, displayName: '', email: undefined }, nobodyTaken))
      .toEqual({ status: 'cannot_connect', reason: 'no_identity', hint: null });
  });

  it('an email that matches nobody and no name → no_match', () => {
    const dir = new Directory([member('Emily Platt', 'emily@example.com')]);
    expect(dir.match({ email: 'nobody@example.com' }, nobodyTaken)).toEqual(noMatch);
  });

  it('an unknown name → no_match without hint', () => {
    const dir = new Directory([member('Emily Platt')]);
    expect(dir.match({ givenName: 'John', familyName: 'Johnson' }, nobodyTaken)).toEqual(noMatch);
  });

  it('several members sharing the email fall back to the name', () => {
    const a = member('Front Desk', 'office@example.com');
    const b = member('Emily Platt', 'office@example.com');
    const dir = new Directory([a, b]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: 'office@example.com' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: b.id, matchedBy: 'name' });
  });

  it('several members sharing the email and no name match → no_match', () => {
    const dir = new Directory([member('A One', 'office@example.com'), member('B Two', 'office@example.com')]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: 'Office@example.com' }, nobodyTaken)).toEqual(noMatch);
  });

  it('an email without @ is not used, the name still matches', () => {
    const m = member('Emily Platt', 'not-an-email');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt', email: 'not-an-email' }, nobodyTaken))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
  });

  it('the member linked to this very employee is not taken and connects again', () => {
    const m = member('Emily Platt');
    const dir = new Directory([m]);
    expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, takenSet('someone-else')))
      .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
  });

  describe('near misses never link but say who nearly matched', () => {
    it('accents: same name once diacritics are stripped', () => {
      const m = member('José Müller');
      const dir = new Directory([m]);
      expect(dir.match({ givenName: 'Jose', familyName: 'Muller' }, nobodyTaken)).toEqual({
        status: 'cannot_connect', reason: 'no_match', hint: { memberId: m.id, fullName: 'José Müller', kind: 'accents' },
      });
    });

    it('accents: letters without a decomposition (ß, ø, ł) count as accents', () => {
      const m = member('Jørn Strauß');
      const dir = new Directory([m]);
      expect(dir.match({ givenName: 'Jorn', familyName: 'Strauss' }, nobodyTaken)).toMatchObject({
        reason: 'no_match', hint: { memberId: m.id, kind: 'accents' },
      });
    });

    it('middle_name: the employee name has an extra middle word', () => {
      const m = member('Emily Platt');
      const dir = new Directory([m]);
      expect(dir.match({ givenName: 'Emily Jane', familyName: 'Platt' }, nobodyTaken)).toEqual({
        status: 'cannot_connect', reason: 'no_match', hint: { memberId: m.id, fullName: 'Emily Platt', kind: 'middle_name' },
      });
    });

    it('middle_name: the member name has an extra middle word', () => {
      const m = member('Emily Jane Platt');
      const dir = new Directory([m]);
      expect(dir.match({ givenName: 'Emily', middleName: 'Jane', familyName: 'Platt' }, nobodyTaken)).toEqual({
        status: 'cannot_connect', reason: 'no_match', hint: { memberId: m.id, fullName: 'Emily Jane Platt', kind: 'middle_name' },
      });
    });

    it('name_order: same words in another order', () => {
      const m = member('Platt Emily');
      const dir = new Directory([m]);
      expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, nobodyTaken)).toEqual({
        status: 'cannot_connect', reason: 'no_match', hint: { memberId: m.id, fullName: 'Platt Emily', kind: 'name_order' },
      });
    });

    it('name_order: "Family, Given" with a comma', () => {
      const m = member('Platt, Emily');
      const dir = new Directory([m]);
      expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, nobodyTaken)).toMatchObject({
        reason: 'no_match', hint: { memberId: m.id, kind: 'name_order' },
      });
    });

    it('prefers pointing at a member who is not taken', () => {
      const taken = member('Emily Platt', null, 'taken');
      const free = member('Emily Platt', null, 'free');
      const dir = new Directory([taken, free]);
      expect(dir.match({ givenName: 'Emily', middleName: null, familyName: 'Jane Platt' }, takenSet('taken'))).toMatchObject({
        reason: 'no_match', hint: { memberId: 'free', kind: 'middle_name' },
      });
    });

    it('single-word names give no middle-name hint', () => {
      const dir = new Directory([member('Emily')]);
      expect(dir.match({ displayName: 'Emil' }, nobodyTaken)).toEqual(noMatch);
    });
  });

  describe('add and get', () => {
    it('members added later are matched', () => {
      const dir = new Directory([]);
      expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, nobodyTaken)).toEqual(noMatch);
      const m = member('Emily Platt');
      dir.add(m);
      expect(dir.get(m.id)).toEqual(m);
      expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, nobodyTaken))
        .toEqual({ status: 'connected', memberId: m.id, matchedBy: 'name' });
    });

    it('re-adding a member replaces its old name and email', () => {
      const dir = new Directory([member('Emily Platt', 'emily@example.com', 'x')]);
      dir.add(member('Emily Jones', 'ej@example.com', 'x'));
      expect(dir.get('x')?.fullName).toBe('Emily Jones');
      expect(dir.match({ email: 'emily@example.com' }, nobodyTaken)).toEqual(noMatch);
      expect(dir.match({ givenName: 'Emily', familyName: 'Platt' }, nobodyTaken)).toEqual(noMatch);
      expect(dir.match({ email: 'EJ@example.com' }, nobodyTaken))
        .toEqual({ status: 'connected', memberId: 'x', matchedBy: 'email' });
    });

    it('get answers undefined for an unknown id', () => {
      expect(new Directory([]).get('nope')).toBeUndefined();
    });
  });

  // Speed lives in bench/matching.bench.ts; here only the bulk result.
  it('matches a large directory by its indexes: every exact key found, every miss missed', () => {
    const n = 5_000;
    const members: DirectoryMember[] = [];
    for (let i = 0; i < n; i++) members.push({ id: `p${i}`, fullName: `Given${i} Family${i}`, email: i % 2 ? `user${i}@example.com` : null });
    const dir = new Directory(members);
    let connected = 0;
    for (let i = 0; i < n; i++) {
      // A quarter miss on the name; of those, odd ones still match by e-mail when they carry one.
      const employee = { givenName: i % 4 === 0 ? `Other${i}` : `Given${i}`, familyName: `Family${i}`, email: i % 3 ? `User${i}@example.com` : null };
      if (dir.match(employee, nobodyTaken).status === 'connected') connected++;
    }
    expect(connected).toBe(n * 0.75);
  });
});
