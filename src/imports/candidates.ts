import { Detection, QboEmployee, type DetectionDoc, type QboEmployeeDoc } from '../db/models';
import { getOrganization } from '../directory/organizations';
import { employeeFullName } from '../matching/normalize';

/**
 * Import candidates: the employees nobody in the directory matches by name or e-mail
 * (`cannot_connect` / `no_match`), active ones only unless asked. One indexed query on
 * {orgId, link.status, link.reason, active}; QBO is not asked.
 */
export interface CandidateRow {
  qboId: string;
  name: string;
  email: string | null;
  active: boolean;
  detectedAt: Date | null;
  hint: { memberId: string; fullName: string | null; kind: string | null } | null;
}

export async function listImportCandidates(orgId: string, opts: { includeInactive?: boolean } = {}): Promise<CandidateRow[]> {
  const org = await getOrganization(orgId);
  const filter = {
    orgId: org._id,
    'link.status': 'cannot_connect',
    'link.reason': 'no_match',
    active: opts.includeInactive ? { $in: [true, false] } : true,
    deleted: false,
  };
  const rows = await QboEmployee.find(filter, { qboId: 1, givenName: 1, familyName: 1, displayName: 1, email: 1, active: 1, newDetectedAt: 1, link: 1 }).lean<
    QboEmployeeDoc[]
  >();
  rows.sort((a, b) => Number(a.qboId) - Number(b.qboId) || a.qboId.localeCompare(b.qboId));
  return rows.map((e) => ({
    qboId: e.qboId,
    name: employeeFullName(e) ?? '(no name)',
    email: e.email,
    active: e.active,
    detectedAt: e.newDetectedAt ?? null,
    hint: e.link.hint?.memberId ? { memberId: String(e.link.hint.memberId), fullName: e.link.hint.fullName ?? null, kind: e.link.hint.kind ?? null } : null,
  }));
}

/** What the member-events consumer recorded for one sync run: the employees it reported as new. */
export async function detectionsOfRun(orgId: string, syncRunId: string): Promise<DetectionDoc[]> {
  const org = await getOrganization(orgId);
  return Detection.find({ orgId: org._id, syncRunId }).lean<DetectionDoc[]>();
}
