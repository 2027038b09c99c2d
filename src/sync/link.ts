import type { EmployeeLink, LinkReason, LinkStatus, MatchedBy } from '../db/models';
import type { Directory, MatchHint } from '../matching/match';
import type { EmployeeData } from './merge';

/**
 * What a sync does to one employee's link. Pure apart from the `claims` map it keeps current
 * (member id → the QBO employee id holding it), so one member links to at most one employee.
 */

export interface LinkState {
  status: LinkStatus;
  reason: LinkReason | null;
  memberId: string | null;
  matchedBy: MatchedBy | null;
  hint: MatchHint | null;
}

export const INITIAL_LINK: LinkState = { status: 'cannot_connect', reason: null, memberId: null, matchedBy: null, hint: null };

export function linkStateOf(link: EmployeeLink | null | undefined): LinkState {
  if (!link) return INITIAL_LINK;
  return {
    status: link.status,
    reason: link.reason ?? null,
    memberId: link.memberId ? String(link.memberId) : null,
    matchedBy: link.matchedBy ?? null,
    hint: link.hint?.memberId
      ? { memberId: String(link.hint.memberId), fullName: link.hint.fullName ?? '', kind: (link.hint.kind ?? 'accents') as MatchHint['kind'] }
      : null,
  };
}

/** Member id → the employee holding it and how it matched. */
export interface Claim {
  qboId: string;
  by: MatchedBy | null;
}
export type Claims = Map<string, Claim>;

/**
 * `displaced` collects employees whose name-matched member this employee's e-mail match took
 * over: an e-mail match wins over a name match whatever order the rows come in, and the
 * displaced employees must be decided again.
 */
export function decideLink(qboId: string, prev: LinkState, emp: EmployeeData, directory: Directory, claims: Claims, displaced?: Set<string>): LinkState {
  const release = () => {
    if (prev.memberId && claims.get(prev.memberId)?.qboId === qboId) claims.delete(prev.memberId);
  };
  // An admin's disconnect stands until an admin connects again.
  if (prev.status === 'disconnected') return prev;
  if (emp.deleted) {
    release();
    return { status: 'cannot_connect', reason: 'employee_deleted', memberId: null, matchedBy: null, hint: prev.hint };
  }
  // Links an admin made (import, explicit connect) hold while the member exists.
  if (prev.status === 'connected' && prev.memberId && (prev.matchedBy === 'import' || prev.matchedBy === 'manual') && directory.get(prev.memberId)) {
    claims.set(prev.memberId, { qboId, by: prev.matchedBy });
    return prev;
  }
  const outcome = directory.match(emp, (memberId, matchedBy) => {
    const holder = claims.get(memberId);
    if (holder === undefined || holder.qboId === qboId) return false;
    return !(matchedBy === 'email' && holder.by === 'name');
  });
  release();
  if (outcome.status === 'connected') {
    const holder = claims.get(outcome.memberId);
    if (holder && holder.qboId !== qboId) displaced?.add(holder.qboId);
    claims.set(outcome.memberId, { qboId, by: outcome.matchedBy });
    return { status: 'connected', reason: null, memberId: outcome.memberId, matchedBy: outcome.matchedBy, hint: null };
  }
  return { status: 'cannot_connect', reason: outcome.reason, memberId: null, matchedBy: null, hint: outcome.hint };
}

export function sameLink(a: LinkState, b: LinkState): boolean {
  return a.status === b.status && a.reason === b.reason && a.memberId === b.memberId && a.matchedBy === b.matchedBy;
}

export function sameHint(a: LinkState, b: LinkState): boolean {
  return (a.hint?.memberId ?? null) === (b.hint?.memberId ?? null) && (a.hint?.kind ?? null) === (b.hint?.kind ?? null);
}
