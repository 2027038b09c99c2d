import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { QboEmployee, type BlockReason, type QboConnectionDoc, type QboEmployeeDoc } from '../db/models';
import { employeeFullName } from '../matching/normalize';

/**
 * The export gate: a member's time may go to QBO only while the member is linked (`connected`)
 * to an active, not deleted QBO employee, over a connection that works. Decided from stored
 * links (authoritative), and mirrored per member in Redis by the member-events consumer so a
 * running export notices a link cut while it sends.
 */

export type Gate = { ok: true; employee: { qboId: string; name: string | null; active: boolean; deleted: boolean } } | { ok: false; reason: BlockReason };

export function connectionGate(conn: Pick<QboConnectionDoc, 'status'> | null): BlockReason | null {
  return !conn || conn.status !== 'connected' ? 'connection_needs_reauth' : null;
}

/** Pure: a member's gate from the employees whose link names it. */
export function gateOf(linked: readonly Pick<QboEmployeeDoc, 'qboId' | 'link' | 'active' | 'deleted' | 'givenName' | 'familyName' | 'displayName'>[]): Gate {
  const connected = linked.find((e) => e.link.status === 'connected');
  if (connected) {
    if (connected.deleted) return { ok: false, reason: 'qbo_employee_deleted' };
    if (!connected.active) return { ok: false, reason: 'qbo_employee_inactive' };
    return { ok: true, employee: { qboId: connected.qboId, name: employeeFullName(connected), active: connected.active, deleted: connected.deleted } };
  }
  if (linked.some((e) => e.link.status === 'disconnected')) return { ok: false, reason: 'member_disconnected' };
  return { ok: false, reason: 'member_not_linked' };
}

/** Every member's gate, from one read of the employees linked to them. */
export async function loadGates(orgId: Types.ObjectId, memberIds: readonly string[]): Promise<Map<string, Gate>> {
  const employees = await QboEmployee.find(
    { orgId, 'link.memberId': { $in: memberIds.map((id) => new Types.ObjectId(id)) } },
    { qboId: 1, link: 1, active: 1, deleted: 1, givenName: 1, familyName: 1, displayName: 1 },
  ).lean<QboEmployeeDoc[]>();
  const byMember = new Map<string, QboEmployeeDoc[]>();
  for (const e of employees) {
    const key = String(e.link.memberId);
    const linked = byMember.get(key) ?? [];
    linked.push(e);
    byMember.set(key, linked);
  }
  return new Map(memberIds.map((m) => [m, gateOf(byMember.get(m) ?? [])]));
}

// ---------------------------------------------------------------------------------------------
// The Redis mirror (written by src/timesheets/gate-events.ts): `export-gate:<org>:<member>`
// holds { qboId, v, reason } while the member's link is cut.

export const gateKey = (prefix: string, orgId: string, memberId: string) => `${prefix}:export-gate:${orgId}:${memberId}`;

/** Members the mirror says are blocked now, with the reason. */
export async function blockedNow(redis: Redis, prefix: string, orgId: string, memberIds: readonly string[]): Promise<Map<string, BlockReason>> {
  if (memberIds.length === 0) return new Map();
  const values = await redis.mget(...memberIds.map((m) => gateKey(prefix, orgId, m)));
  const out = new Map<string, BlockReason>();
  memberIds.forEach((m, i) => {
    const v = values[i];
    if (v) out.set(m, (JSON.parse(v) as { reason: BlockReason }).reason);
  });
  return out;
}
