import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { eventJobId } from '../../queues/member-events';
import { employeeKey, QboEmployee, type EmployeeLink, type QboEmployeeDoc } from '../db/models';
import { DomainError } from '../errors';
import { acquire, orgLinkLockKey } from '../lock';
import type { Logger } from '../logger';
import type { QboClient } from '../qbo/client';
import { parseEmployee, parseRead } from '../qbo/parse';
import { getAccessToken, loadConnection } from '../qbo/tokens';
import { publishEvents } from '../sync/events';
import { mergeEmployee, pickData, sameData, type EmployeeData } from '../sync/merge';
import { getOrganization } from './organizations';
import { loadClaims, loadDirectory } from './snapshot';

/**
 * An admin cuts or restores one employee's link. Both run under the org's link lease (the
 * `member-links` worker holds it), so no sync interleaves, and both are idempotent.
 * - disconnect: `disconnected`; the member and the employee both stay; syncs never relink it.
 * - connect: the matching rules for this employee alone, on a fresh read from QBO when QBO
 *   answers (the admin may just have fixed the name there); ends `connected` or
 *   `cannot_connect` with the reason.
 */
export interface LinkActionDeps {
  queues: Queues;
  redis: Redis;
  keyPrefix: string;
}

export interface ConnectDeps extends LinkActionDeps {
  qbo: QboClient;
  tokenKey: Buffer;
  logger: Logger;
}

export interface LinkActionResult {
  qboId: string;
  changed: boolean;
  status: EmployeeLink['status'];
  reason: EmployeeLink['reason'];
  memberId: string | null;
  matchedBy: EmployeeLink['matchedBy'];
  /** Whether connect decided on data just read from QBO (false: the stored copy). */
  fresh?: boolean;
}

// A running sync holds the lease for its whole run; a direct caller waits this long for it.
const LEASE_WAIT_MS = 60_000;

const resultOf = (qboId: string, link: EmployeeLink, changed: boolean, fresh?: boolean): LinkActionResult => ({
  qboId,
  changed,
  status: link.status,
  reason: link.reason ?? null,
  memberId: link.memberId ? String(link.memberId) : null,
  matchedBy: link.matchedBy ?? null,
  ...(fresh === undefined ? {} : { fresh }),
});

/** For callers outside the `member-links` worker (tests, scripts): takes the lease itself. */
export async function disconnectEmployee(deps: LinkActionDeps, orgId: string, qboId: string): Promise<LinkActionResult> {
  const org = await getOrganization(orgId);
  const lease = await acquire(deps.redis, orgLinkLockKey(deps.keyPrefix, String(org._id)), 30_000, LEASE_WAIT_MS);
  if (!lease) throw new DomainError('org_busy', 'A sync of this organisation is running; try again in a minute');
  try {
    return await disconnectUnderLease(deps, org._id, qboId);
  } finally {
    await lease.release();
  }
}

async function findEmployee(orgId: Types.ObjectId, qboId: string): Promise<QboEmployeeDoc> {
  const emp = await QboEmployee.findById(employeeKey(orgId, qboId)).lean<QboEmployeeDoc>();
  if (!emp) throw new DomainError('employee_not_found', `QuickBooks employee ${qboId} is not known for this organisation`);
  return emp;
}

/** Announces, then writes, a new link (and refreshed data) for one employee. */
async function writeLink(deps: LinkActionDeps, emp: QboEmployeeDoc, next: Omit<EmployeeLink, 'version' | 'changedAt'>, cause: 'admin', data?: EmployeeData): Promise<EmployeeLink> {
  const version = emp.link.version + 1;
  const now = new Date();
  const link: EmployeeLink = { ...next, version, changedAt: now };
  const orgId = String(emp.orgId);
  await publishEvents(deps.queues, [
    {
      id: eventJobId.linkChanged(orgId, emp.qboId, version),
      name: 'member.link_changed',
      data: {
        orgId,
        qboId: emp.qboId,
        employeeId: emp._id,
        version,
        from: { status: emp.link.status, reason: emp.link.reason ?? null, memberId: emp.link.memberId ? String(emp.link.memberId) : null },
        to: { status: link.status, reason: link.reason ?? null, memberId: link.memberId ? String(link.memberId) : null },
        cause,
        at: now.toISOString(),
      },
    },
  ]);
  const res = await QboEmployee.updateOne({ _id: emp._id }, { $set: { ...(data ?? {}), link, updatedAt: now } });
  if (res.matchedCount !== 1) throw new DomainError('employee_not_found', `QuickBooks employee ${emp.qboId} is gone`);
  return link;
}

export async function disconnectUnderLease(deps: LinkActionDeps, orgId: Types.ObjectId, qboId: string): Promise<LinkActionResult> {
  const emp = await findEmployee(orgId, qboId);
  if (emp.link.status === 'disconnected') return resultOf(qboId, emp.link, false);
  // The member stays named on the row, so the admin sees who was cut off.
  const link = await writeLink(deps, emp, { status: 'disconnected', reason: null, memberId: emp.link.memberId, matchedBy: null, hint: emp.link.hint }, 'admin');
  return resultOf(qboId, link, true);
}

/** The employee as QBO has it now, merged into our copy; null when QBO cannot be asked. */
async function freshData(deps: ConnectDeps, emp: QboEmployeeDoc): Promise<EmployeeData | null> {
  try {
    const conn = await loadConnection(emp.orgId);
    const accessToken = await getAccessToken({ ...deps }, conn);
    const body = await deps.qbo.readEmployee({ realmId: conn.realmId, accessToken }, emp.qboId);
    const parsed = parseEmployee(parseRead(body));
    if (!parsed.ok) return null;
    return mergeEmployee(pickData(emp), parsed.value);
  } catch (err) {
    deps.logger.warn({ err, orgId: String(emp.orgId), qboId: emp.qboId }, 'Connect: QuickBooks could not be read; deciding on the stored copy');
    return null;
  }
}

export async function connectUnderLease(deps: ConnectDeps, orgId: Types.ObjectId, qboId: string): Promise<LinkActionResult> {
  const emp = await findEmployee(orgId, qboId);
  const read = await freshData(deps, emp);
  const data = read ?? pickData(emp);
  const dataChanged = read !== null && !sameData(pickData(emp), read);
  const setData = dataChanged ? data : undefined;

  let next: Omit<EmployeeLink, 'version' | 'changedAt'>;
  if (data.deleted) {
    next = { status: 'cannot_connect', reason: 'employee_deleted', memberId: null, matchedBy: null, hint: emp.link.hint };
  } else {
    const { directory } = await loadDirectory(orgId);
    const claims = await loadClaims(orgId);
    // Keeping an admin's earlier link to a member that still exists is not a new decision.
    const keep = emp.link.status === 'connected' && emp.link.memberId && (emp.link.matchedBy === 'import' || emp.link.matchedBy === 'manual') && directory.get(String(emp.link.memberId));
    if (keep) {
      next = emp.link;
    } else {
      const outcome = directory.match(data, (memberId) => {
        const holder = claims.get(memberId);
        return holder !== undefined && holder.qboId !== qboId;
      });
      next =
        outcome.status === 'connected'
          ? { status: 'connected', reason: null, memberId: new Types.ObjectId(outcome.memberId), matchedBy: outcome.matchedBy, hint: { memberId: null, fullName: null, kind: null } }
          : {
              status: 'cannot_connect',
              reason: outcome.reason,
              memberId: null,
              matchedBy: null,
              hint: outcome.hint ? { memberId: new Types.ObjectId(outcome.hint.memberId), fullName: outcome.hint.fullName, kind: outcome.hint.kind } : { memberId: null, fullName: null, kind: null },
            };
    }
  }
  const same =
    next.status === emp.link.status &&
    (next.reason ?? null) === (emp.link.reason ?? null) &&
    String(next.memberId ?? '') === String(emp.link.memberId ?? '') &&
    (next.matchedBy ?? null) === (emp.link.matchedBy ?? null);
  if (same) {
    if (setData) await QboEmployee.updateOne({ _id: emp._id }, { $set: { ...setData, updatedAt: new Date() } });
    return resultOf(qboId, emp.link, false, read !== null);
  }
  const link = await writeLink(deps, emp, next, 'admin', setData);
  return resultOf(qboId, link, true, read !== null);
}
