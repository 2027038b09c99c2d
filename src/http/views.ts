import { z } from 'zod/v4';
import type { MemberDoc, OrganizationDoc, QboConnectionDoc, SyncRunDoc } from '../db/models';

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
    realmId: c.realmId,
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
