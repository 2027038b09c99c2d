import { z } from 'zod/v4';
import { BLOCK_REASONS, ENTRY_STATES, EXPORT_STATES, IMPORT_STATES, type ImportDoc, type MemberDoc, type OrganizationDoc, type QboConnectionDoc, type SyncRunDoc, type TimeEntryDoc, type TimesheetExportDoc } from '../db/models';
import type { CandidateRow } from '../imports/candidates';
import { companyOf } from '../qbo/connect';
import type { EntryView } from '../timesheets/entries';

/** What the API shows of stored documents, with the schemas that document it. */

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export const organizationView = z
  .object({
    id: z.string(),
    name: z.string(),
    plan: z.enum(['free', 'paid']),
    seatLimit: z.number().int().nullable(),
    seatsUsed: z.number().int(),
    settings: z.object({ syncIntervalMinutes: z.number().int().nullable(), autoImport: z.boolean(), inviteByDefault: z.boolean() }),
    createdAt: z.string().nullable(),
  })
  .meta({ id: 'Organization' });

export function showOrganization(o: OrganizationDoc): z.infer<typeof organizationView> {
  return {
    id: String(o._id),
    name: o.name,
    plan: o.plan,
    seatLimit: o.seatLimit ?? null,
    seatsUsed: o.seatsUsed,
    settings: {
      syncIntervalMinutes: o.settings?.syncIntervalMinutes ?? null,
      autoImport: o.settings?.autoImport ?? false,
      inviteByDefault: o.settings?.inviteByDefault ?? false,
    },
    createdAt: iso(o.createdAt),
  };
}

export const memberView = z
  .object({
    id: z.string(),
    fullName: z.string(),
    email: z.string().nullable(),
    loginAccess: z.boolean(),
    invitation: z.object({ state: z.string(), reason: z.string().nullable() }),
    origin: z.string(),
    createdAt: z.string().nullable(),
  })
  .meta({ id: 'Member' });

export function showMember(m: MemberDoc): z.infer<typeof memberView> {
  return {
    id: String(m._id),
    fullName: m.fullName,
    email: m.email ?? null,
    loginAccess: m.loginAccess,
    invitation: { state: m.invitation?.state ?? 'none', reason: m.invitation?.reason ?? null },
    origin: m.origin,
    createdAt: iso(m.createdAt),
  };
}

export const connectionView = z
  .object({
    status: z.enum(['connected', 'needs_reauth', 'disconnected']),
    statusReason: z.string().nullable(),
    realmId: z.string(),
    environment: z.enum(['sandbox', 'production']),
    lastFullSyncAt: z.string().nullable(),
    lastCdcAt: z.string().nullable(),
  })
  .meta({ id: 'QboConnection' });

export function showConnection(c: QboConnectionDoc): z.infer<typeof connectionView> {
  return {
    status: c.status,
    statusReason: c.statusReason ?? null,
    realmId: companyOf(c.realmId),
    environment: c.environment,
    lastFullSyncAt: iso(c.lastFullSyncAt),
    lastCdcAt: iso(c.lastCdcAt),
  };
}

const counts = z.object({
  fetched: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  deleted: z.number(),
  skipped: z.number(),
  linkChanges: z.number(),
  newDetected: z.number(),
  candidates: z.number(),
  qboRequests: z.number(),
});

export const syncRunView = z
  .object({
    id: z.string(),
    trigger: z.enum(['schedule', 'manual', 'webhook', 'connect']),
    requestedMode: z.enum(['full', 'incremental']),
    mode: z.enum(['full', 'incremental']).nullable(),
    state: z.enum(['queued', 'running', 'succeeded', 'failed']),
    coalesced: z.number().int(),
    counts,
    message: z.string().nullable().describe('"No new members detected to sync" or "New members detected to sync" once succeeded'),
    error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
    problems: z.array(z.object({ qboId: z.string(), problem: z.string() })),
    createdAt: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'SyncRun' });

export function showSyncRun(r: SyncRunDoc): z.infer<typeof syncRunView> {
  const c = r.counts ?? ({} as SyncRunDoc['counts']);
  return {
    id: String(r._id),
    trigger: r.trigger,
    requestedMode: r.requestedMode,
    mode: r.mode ?? null,
    state: r.state,
    coalesced: r.coalesced ?? 0,
    counts: {
      fetched: c.fetched ?? 0,
      created: c.created ?? 0,
      updated: c.updated ?? 0,
      unchanged: c.unchanged ?? 0,
      deleted: c.deleted ?? 0,
      skipped: c.skipped ?? 0,
      linkChanges: c.linkChanges ?? 0,
      newDetected: c.newDetected ?? 0,
      candidates: c.candidates ?? 0,
      qboRequests: c.qboRequests ?? 0,
    },
    message: r.message ?? null,
    error: r.error?.code ? { code: r.error.code, message: r.error.message ?? null } : null,
    problems: (r.problems ?? []).map((p) => ({ qboId: p.qboId, problem: p.problem })),
    createdAt: iso(r.createdAt),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  };
}

export const candidateView = z
  .object({
    qboId: z.string(),
    name: z.string(),
    email: z.string().nullable().describe('without one, the member is added without login access and never invited'),
    active: z.boolean(),
    detectedAt: z.string().nullable(),
    hint: z.object({ memberId: z.string(), fullName: z.string().nullable(), kind: z.string().nullable() }).nullable().describe('a member who nearly matches: fix the data rather than import a second copy'),
  })
  .meta({ id: 'ImportCandidate' });

export function showCandidate(c: CandidateRow): z.infer<typeof candidateView> {
  return { ...c, detectedAt: iso(c.detectedAt) };
}

export const importView = z
  .object({
    id: z.string(),
    requestedBy: z.enum(['admin', 'auto']),
    state: z.enum(IMPORT_STATES),
    sendInvites: z.boolean(),
    employeeIds: z.array(z.string()),
    counts: z.object({ requested: z.number(), created: z.number(), skipped: z.number(), invited: z.number() }),
    seatsNeeded: z.number().nullable(),
    seatsFree: z.number().nullable(),
    items: z
      .array(
        z.object({
          qboId: z.string(),
          outcome: z.enum(['pending', 'created', 'skipped']),
          reason: z.string().nullable().describe('why it was skipped: already_linked, employee_inactive, employee_deleted, matches_existing_member, …'),
          memberId: z.string().nullable(),
          invited: z.boolean(),
        }),
      )
      .nullable()
      .describe('one outcome per employee, once the worker planned the import'),
    error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
    createdAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Import' });

export function showImport(i: ImportDoc): z.infer<typeof importView> {
  return {
    id: String(i._id),
    requestedBy: i.requestedBy,
    state: i.state,
    sendInvites: i.sendInvites,
    employeeIds: i.employeeIds,
    counts: i.counts,
    seatsNeeded: i.seatsNeeded ?? null,
    seatsFree: i.seatsFree ?? null,
    items: i.items ? i.items.map((it) => ({ qboId: it.qboId, outcome: it.outcome, reason: it.reason ?? null, memberId: it.memberId ? String(it.memberId) : null, invited: it.invite })) : null,
    error: i.error?.code ? { code: i.error.code, message: i.error.message ?? null } : null,
    createdAt: iso(i.createdAt),
    finishedAt: iso(i.finishedAt),
  };
}

export const linkResultView = z
  .object({
    qboId: z.string(),
    changed: z.boolean().describe('false: it already was in this state (the action is idempotent)'),
    status: z.enum(['connected', 'disconnected', 'cannot_connect']),
    reason: z.string().nullable(),
    memberId: z.string().nullable(),
    matchedBy: z.string().nullable(),
    fresh: z.boolean().optional().describe('connect only: decided on data just read from QuickBooks'),
  })
  .meta({ id: 'LinkResult' });

export const timeEntryView = z
  .object({
    id: z.string(),
    memberId: z.string(),
    date: z.string(),
    hours: z.number().nullable(),
    minutes: z.number().nullable(),
    start: z.string().nullable(),
    end: z.string().nullable(),
    description: z.string(),
    billable: z.object({ customerId: z.string().nullable(), hourlyRate: z.number().nullable() }),
    revision: z.number().int(),
    state: z.enum(ENTRY_STATES).optional(),
    reason: z.string().nullable().optional().describe(`blocked: ${BLOCK_REASONS.join(', ')}`),
    qboTimeActivityId: z.string().nullable().optional(),
    editedAfterExport: z.boolean().optional(),
    failure: z.object({ code: z.string().nullable(), message: z.string().nullable() }).nullable().optional(),
  })
  .meta({ id: 'TimeEntry' });

export function showTimeEntry(e: TimeEntryDoc | EntryView): z.infer<typeof timeEntryView> {
  const base = {
    id: String(e._id),
    memberId: String(e.memberId),
    date: e.date,
    hours: e.hours ?? null,
    minutes: e.minutes ?? null,
    start: e.start ?? null,
    end: e.end ?? null,
    description: e.description ?? '',
    billable: { customerId: e.billable?.customerId ?? null, hourlyRate: e.billable?.hourlyRate ?? null },
    revision: e.revision,
  };
  if (!('state' in e)) return base;
  return { ...base, state: e.state, reason: e.reason, qboTimeActivityId: e.qboTimeActivityId, editedAfterExport: e.editedAfterExport, failure: e.failure };
}

const outcomeRef = { entryId: z.string(), memberId: z.string() };
export const exportView = z
  .object({
    id: z.string(),
    requestedBy: z.enum(['admin', 'release']),
    from: z.string().nullable(),
    to: z.string().nullable(),
    state: z.enum(EXPORT_STATES),
    counts: z.object({ total: z.number(), exported: z.number(), alreadyExported: z.number(), blocked: z.number(), failed: z.number(), editedAfterExport: z.number() }),
    exported: z.array(z.object({ ...outcomeRef, qboTimeActivityId: z.string() })),
    alreadyExported: z.array(z.object({ ...outcomeRef, qboTimeActivityId: z.string(), edited: z.boolean().describe('changed since it was exported: reported, never sent again') })),
    blocked: z.array(z.object({ ...outcomeRef, reason: z.string() })),
    failed: z.array(z.object({ ...outcomeRef, code: z.string(), message: z.string() })),
    error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
    createdAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'TimesheetExport' });

export function showExport(d: TimesheetExportDoc): z.infer<typeof exportView> {
  const ref = (o: { entryId: unknown; memberId: unknown }) => ({ entryId: String(o.entryId), memberId: String(o.memberId) });
  return {
    id: String(d._id),
    requestedBy: d.requestedBy,
    from: d.from ?? null,
    to: d.to ?? null,
    state: d.state,
    counts: d.counts,
    exported: d.exported.map((o) => ({ ...ref(o), qboTimeActivityId: o.qboTimeActivityId })),
    alreadyExported: d.alreadyExported.map((o) => ({ ...ref(o), qboTimeActivityId: o.qboTimeActivityId, edited: Boolean(o.edited) })),
    blocked: d.blocked.map((o) => ({ ...ref(o), reason: o.reason })),
    failed: d.failed.map((o) => ({ ...ref(o), code: o.code, message: o.message })),
    error: d.error?.code ? { code: d.error.code, message: d.error.message ?? null } : null,
    createdAt: iso(d.createdAt),
    finishedAt: iso(d.finishedAt),
  };
}
