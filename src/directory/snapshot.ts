import type { Types } from 'mongoose';
import { Member, QboEmployee, type MemberDoc, type QboEmployeeDoc } from '../db/models';
import { Directory } from '../matching/match';
import type { Claims } from '../sync/link';

/**
 * The member directory and who holds which member, read from storage: what the matcher needs
 * to decide a link (syncs, imports, an admin's connect).
 */

/** Every member of the org as the matcher sees them, and a stamp that moves when any changes. */
export async function loadDirectory(orgId: Types.ObjectId): Promise<{ directory: Directory; stamp: string }> {
  const members = await Member.find({ orgId }, { fullName: 1, email: 1, updatedAt: 1 }).lean<Pick<MemberDoc, '_id' | 'fullName' | 'email' | 'updatedAt'>[]>();
  let newest = 0;
  for (const m of members) newest = Math.max(newest, m.updatedAt ? new Date(m.updatedAt).getTime() : 0);
  return {
    directory: new Directory(members.map((m) => ({ id: String(m._id), fullName: m.fullName, email: m.email }))),
    stamp: `${members.length}:${newest}`,
  };
}

/** Member id → the connected employee holding it. */
export async function loadClaims(orgId: Types.ObjectId): Promise<Claims> {
  const linked = await QboEmployee.find({ orgId, 'link.status': 'connected' }, { qboId: 1, 'link.memberId': 1, 'link.matchedBy': 1 }).lean<
    Pick<QboEmployeeDoc, 'qboId' | 'link'>[]
  >();
  const claims: Claims = new Map();
  for (const e of linked) if (e.link.memberId) claims.set(String(e.link.memberId), { qboId: e.qboId, by: e.link.matchedBy ?? null });
  return claims;
}
