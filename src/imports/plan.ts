import type { LinkReason, QboEmployeeDoc } from '../db/models';
import type { Directory } from '../matching/match';
import { employeeFullName, normalizeEmail } from '../matching/normalize';
import type { Claims } from '../sync/link';

/**
 * Which of the chosen employees an import creates a member for, and why the others are
 * skipped. Pure: decided from the stored employees and the member directory as they are now,
 * so an employee that was linked, deleted or deactivated since the admin saw the list is
 * skipped with a reason instead of failing the whole request.
 */

export type SkipReason =
  | 'employee_not_found'
  | 'employee_deleted'
  | 'employee_inactive'
  | 'already_linked'
  | 'link_disconnected'
  | 'matches_existing_member'
  | 'email_in_use'
  | Exclude<LinkReason, 'no_match'>;

export type PlannedItem =
  | { qboId: string; action: 'create'; fullName: string; email: string | null; invite: boolean }
  | { qboId: string; action: 'skip'; reason: SkipReason };

export interface PlanOptions {
  sendInvites: boolean;
  includeInactive: boolean;
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A usable address for a new member, or null (blank, or not shaped like an address). */
export function memberEmail(raw: string | null | undefined): string | null {
  const email = raw?.trim() ?? '';
  return EMAIL_SHAPE.test(email) ? email : null;
}

function skipReason(e: QboEmployeeDoc | undefined, opts: PlanOptions): SkipReason | null {
  if (!e) return 'employee_not_found';
  if (e.deleted) return 'employee_deleted';
  if (!e.active && !opts.includeInactive) return 'employee_inactive';
  if (e.link.status === 'connected') return 'already_linked';
  if (e.link.status === 'disconnected') return 'link_disconnected';
  if (e.link.reason && e.link.reason !== 'no_match') return e.link.reason;
  return null;
}

export function planImport(
  qboIds: readonly string[],
  employees: ReadonlyMap<string, QboEmployeeDoc>,
  directory: Directory,
  claims: Claims,
  opts: PlanOptions,
): PlannedItem[] {
  const emailsTaken = new Set<string>();
  return qboIds.map((qboId): PlannedItem => {
    const e = employees.get(qboId);
    const reason = skipReason(e, opts);
    if (reason || !e) return { qboId, action: 'skip', reason: reason ?? 'employee_not_found' };
    // A member added since the last sync may carry this name or address: the next sync links
    // the two, and creating a second member would split one person in two.
    const now = directory.match(e, (memberId) => {
      const holder = claims.get(memberId);
      return holder !== undefined && holder.qboId !== qboId;
    });
    if (now.status === 'connected') return { qboId, action: 'skip', reason: 'matches_existing_member' };
    const fullName = employeeFullName(e);
    if (!fullName) return { qboId, action: 'skip', reason: 'no_identity' };
    const email = memberEmail(e.email);
    const key = normalizeEmail(email);
    if (key && emailsTaken.has(key)) return { qboId, action: 'skip', reason: 'email_in_use' };
    if (key) emailsTaken.add(key);
    return { qboId, action: 'create', fullName, email, invite: opts.sendInvites && email !== null };
  });
}
