import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { eventJobId } from '../../queues/member-events';
import { employeeKey, QboEmployee, type QboEmployeeDoc } from '../db/models';
import { DomainError } from '../errors';
import { acquire, orgLinkLockKey } from '../lock';
import { publishEvents } from '../sync/events';
import { getOrganization } from './organizations';

/**
 * An admin cuts one employee's link. The member and the employee both stay; automatic syncs
 * never relink a disconnected employee. Idempotent: disconnecting twice changes nothing.
 */
export interface LinkActionDeps {
  queues: Queues;
  redis: Redis;
  keyPrefix: string;
}

// A running sync holds the lease for its whole run; an admin action waits this long for it.
const LEASE_WAIT_MS = 60_000;

export async function disconnectEmployee(deps: LinkActionDeps, orgId: string, qboId: string): Promise<{ changed: boolean }> {
  const org = await getOrganization(orgId);
  const lease = await acquire(deps.redis, orgLinkLockKey(deps.keyPrefix, String(org._id)), 30_000, LEASE_WAIT_MS);
  if (!lease) throw new DomainError('org_busy', 'A sync of this organisation is running; try again in a minute');
  try {
    return await disconnectUnderLease(deps, org._id, qboId);
  } finally {
    await lease.release();
  }
}

async function disconnectUnderLease(deps: LinkActionDeps, orgObjectId: Types.ObjectId, qboId: string): Promise<{ changed: boolean }> {
  const org = { _id: orgObjectId };
  const _id = employeeKey(org._id, qboId);
  const emp = await QboEmployee.findById(_id).lean<QboEmployeeDoc>();
  if (!emp) throw new DomainError('employee_not_found', `QuickBooks employee ${qboId} is not known for this organisation`);
  if (emp.link.status === 'disconnected') return { changed: false };
  const version = emp.link.version + 1;
  const now = new Date();
  const from = { status: emp.link.status, reason: emp.link.reason ?? null, memberId: emp.link.memberId ? String(emp.link.memberId) : null };
  await publishEvents(deps.queues, [
    {
      id: eventJobId.linkChanged(String(org._id), qboId, version),
      name: 'member.link_changed',
      data: { orgId: String(org._id), qboId, employeeId: _id, version, from, to: { status: 'disconnected', reason: null, memberId: from.memberId }, cause: 'admin', at: now.toISOString() },
    },
  ]);
  const res = await QboEmployee.updateOne(
    { _id },
    { $set: { 'link.status': 'disconnected', 'link.reason': null, 'link.matchedBy': null, 'link.version': version, 'link.changedAt': now } },
  );
  if (res.matchedCount !== 1) throw new DomainError('employee_not_found', `QuickBooks employee ${qboId} is gone`);
  return { changed: true };
}
