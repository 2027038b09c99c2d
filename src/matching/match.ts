// Decides which directory member a QBO employee is, following DESIGN.md "Link statuses":
// an email match wins, a name counts only when exactly one member carries it, near misses
// never link but name the member that nearly matched so an admin can fix the data.
import {
  employeeFullName, looseName, nameTokens, normalizeEmail, normalizeName,
} from './normalize';
import type { EmployeeIdentity } from './normalize';

export type { EmployeeIdentity } from './normalize';

export interface DirectoryMember {
  id: string;
  fullName: string;
  email: string | null;
}

export type HintKind = 'accents' | 'middle_name' | 'name_order' | 'taken_by_other';

export interface MatchHint {
  memberId: string;
  fullName: string;
  kind: HintKind;
}

export type CannotConnectReason = 'no_match' | 'ambiguous_name' | 'member_taken' | 'no_identity';

export type MatchOutcome =
  | { status: 'connected'; memberId: string; matchedBy: 'email' | 'name' }
  | { status: 'cannot_connect'; reason: CannotConnectReason; hint: MatchHint | null };

/** The keys one member is filed under; kept so that re-adding a member can unfile it. */
interface MemberKeys {
  email: string | null;
  name: string | null;
  loose: string | null;
  sortedTokens: string | null;
  firstLast: string | null;
}

/** Keys for near-miss hints: only needed for members, and for employees nobody matched. */
interface HintKeys {
  loose: string;
  sortedTokens: string;
  firstLast: string | null;
}

function hintKeys(name: string): HintKeys {
  const loose = looseName(name);
  const tokens = nameTokens(loose);
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  return {
    loose,
    sortedTokens: tokens.length > 1 ? [...tokens].sort().join(' ') : loose,
    // A single word has no middle to add or drop.
    firstLast: tokens.length >= 2 && first !== undefined && last !== undefined ? `${first} ${last}` : null,
  };
}

/**
 * key → member ids in the order members were added (keeps hints deterministic). Almost every
 * key has one member, so a lone id is stored as a string: no array per entry at 100k members.
 */
class MultiIndex {
  private readonly map = new Map<string, string | string[]>();

  add(key: string | null, id: string): void {
    if (key === null) return;
    const ids = this.map.get(key);
    if (ids === undefined) this.map.set(key, id);
    else if (typeof ids === 'string') this.map.set(key, [ids, id]);
    else ids.push(id);
  }

  remove(key: string | null, id: string): void {
    if (key === null) return;
    const ids = this.map.get(key);
    if (ids === undefined) return;
    if (typeof ids === 'string') {
      if (ids === id) this.map.delete(key);
      return;
    }
    const rest = ids.filter((other) => other !== id);
    if (rest.length === 0) this.map.delete(key);
    else this.map.set(key, rest.length === 1 && rest[0] !== undefined ? rest[0] : rest);
  }

  get(key: string | null): readonly string[] {
    if (key === null) return [];
    const ids = this.map.get(key);
    if (ids === undefined) return [];
    return typeof ids === 'string' ? [ids] : ids;
  }
}

const NO_MATCH: MatchOutcome = { status: 'cannot_connect', reason: 'no_match', hint: null };

export class Directory {
  private readonly members = new Map<string, DirectoryMember>();
  private readonly keys = new Map<string, MemberKeys>();
  private readonly byEmail = new MultiIndex();
  private readonly byName = new MultiIndex();
  private readonly byLoose = new MultiIndex();
  private readonly bySortedTokens = new MultiIndex();
  private readonly byFirstLast = new MultiIndex();

  constructor(members: Iterable<DirectoryMember> = []) {
    for (const member of members) this.add(member);
  }

  get size(): number {
    return this.members.size;
  }

  /** Adds a member, or replaces the one with the same id (its old name and email stop matching). */
  add(member: DirectoryMember): void {
    const previous = this.keys.get(member.id);
    if (previous) this.unfile(member.id, previous);
    const name = normalizeName(member.fullName);
    const hints = name === null ? null : hintKeys(name);
    const keys: MemberKeys = {
      email: normalizeEmail(member.email),
      name,
      loose: hints?.loose ?? null,
      sortedTokens: hints?.sortedTokens ?? null,
      firstLast: hints?.firstLast ?? null,
    };
    this.members.set(member.id, { ...member });
    this.keys.set(member.id, keys);
    this.byEmail.add(keys.email, member.id);
    this.byName.add(keys.name, member.id);
    this.byLoose.add(keys.loose, member.id);
    this.bySortedTokens.add(keys.sortedTokens, member.id);
    this.byFirstLast.add(keys.firstLast, member.id);
  }

  get(memberId: string): DirectoryMember | undefined {
    return this.members.get(memberId);
  }

  /**
   * @param isTaken whether a member is already linked to ANOTHER employee (a member links to at
   *   most one employee; the employee's own current link must answer false).
   */
  match(employee: EmployeeIdentity, isTaken: (memberId: string, matchedBy?: 'email' | 'name') => boolean): MatchOutcome {
    const email = normalizeEmail(employee.email);
    const name = normalizeName(employeeFullName(employee));
    if (email === null && name === null) {
      return { status: 'cannot_connect', reason: 'no_identity', hint: null };
    }

    // Several members sharing one address is a data problem, not a decision: the name decides.
    const byEmail = this.byEmail.get(email);
    if (byEmail.length === 1 && byEmail[0] !== undefined) {
      return this.claim(byEmail[0], 'email', isTaken);
    }

    if (name === null) return NO_MATCH;
    const byName = this.byName.get(name);
    if (byName.length > 1) return { status: 'cannot_connect', reason: 'ambiguous_name', hint: null };
    if (byName.length === 1 && byName[0] !== undefined) return this.claim(byName[0], 'name', isTaken);

    const hint = this.nearMiss(hintKeys(name), isTaken);
    return hint ? { status: 'cannot_connect', reason: 'no_match', hint } : NO_MATCH;
  }

  private claim(memberId: string, matchedBy: 'email' | 'name', isTaken: (memberId: string, matchedBy?: 'email' | 'name') => boolean): MatchOutcome {
    if (!isTaken(memberId, matchedBy)) return { status: 'connected', memberId, matchedBy };
    return { status: 'cannot_connect', reason: 'member_taken', hint: this.hint(memberId, 'taken_by_other') };
  }

  /** The most telling near miss: accents, then word order, then a middle name. */
  private nearMiss(names: HintKeys, isTaken: (memberId: string) => boolean): MatchHint | null {
    const lookups: [HintKind, readonly string[]][] = [
      ['accents', this.byLoose.get(names.loose)],
      ['name_order', this.bySortedTokens.get(names.sortedTokens)],
      ['middle_name', this.byFirstLast.get(names.firstLast)],
    ];
    for (const [kind, ids] of lookups) {
      // Point at a member who could actually be linked once the data is fixed, if there is one.
      const id = ids.find((candidate) => !isTaken(candidate)) ?? ids[0];
      if (id !== undefined) return this.hint(id, kind);
    }
    return null;
  }

  private hint(memberId: string, kind: HintKind): MatchHint {
    return { memberId, fullName: this.members.get(memberId)?.fullName ?? '', kind };
  }

  private unfile(id: string, keys: MemberKeys): void {
    this.byEmail.remove(keys.email, id);
    this.byName.remove(keys.name, id);
    this.byLoose.remove(keys.loose, id);
    this.bySortedTokens.remove(keys.sortedTokens, id);
    this.byFirstLast.remove(keys.firstLast, id);
  }
}
