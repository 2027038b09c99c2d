import { Member, QboEmployee, SyncRun, type MemberDoc, type QboEmployeeDoc, type SyncRunDoc } from '../db/models';
import { employeeFullName } from '../matching/normalize';
import { getOrganization } from './organizations';

/** One row of the members tab: a QBO employee as QBO names it, its link, and its member. */
export interface MembersTabRow {
  qboId: string;
  name: string;
  email: string | null;
  active: boolean;
  deleted: boolean;
  status: string;
  reason: string | null;
  matchedBy: string | null;
  member: { id: string; fullName: string; email: string | null } | null;
  hint: { memberId: string; fullName: string | null; kind: string | null } | null;
}

export interface MembersTab {
  rows: MembersTabRow[];
  lastSync: Pick<SyncRunDoc, 'state' | 'message' | 'counts' | 'finishedAt'> & { id: string } | null;
}

export async function membersTab(orgId: string): Promise<MembersTab> {
  const org = await getOrganization(orgId);
  const employees = await QboEmployee.find({ orgId: org._id }).lean<QboEmployeeDoc[]>();
  employees.sort((a, b) => Number(a.qboId) - Number(b.qboId) || a.qboId.localeCompare(b.qboId));
  const members = new Map(
    (await Member.find({ orgId: org._id }, { fullName: 1, email: 1 }).lean<Pick<MemberDoc, '_id' | 'fullName' | 'email'>[]>()).map((m) => [String(m._id), m]),
  );
  const rows = employees.map((e): MembersTabRow => {
    const m = e.link.memberId ? members.get(String(e.link.memberId)) : undefined;
    return {
      qboId: e.qboId,
      // employeeFullName already falls back to DisplayName; null means it is blank or invisible.
      name: employeeFullName(e) ?? '(no name)',
      email: e.email,
      active: e.active,
      deleted: e.deleted,
      status: e.link.status,
      reason: e.link.reason ?? null,
      matchedBy: e.link.matchedBy ?? null,
      member: m ? { id: String(m._id), fullName: m.fullName, email: m.email } : null,
      hint: e.link.hint?.memberId ? { memberId: String(e.link.hint.memberId), fullName: e.link.hint.fullName ?? null, kind: e.link.hint.kind ?? null } : null,
    };
  });
  const last = await SyncRun.findOne({ orgId: org._id }).sort({ createdAt: -1 }).lean<SyncRunDoc>();
  return {
    rows,
    lastSync: last ? { id: String(last._id), state: last.state, message: last.message, counts: last.counts, finishedAt: last.finishedAt } : null,
  };
}
