import mongoose, { Schema, type Types } from 'mongoose';

/**
 * Durable state. Every index here works on MongoDB 7 and FerretDB 1.24 alike: plain and
 * unique compound indexes only (no TTL, partial or sparse ones).
 */

export const PLANS = ['free', 'paid'] as const;

const organizationSchema = new Schema(
  {
    name: { type: String, required: true, trim: true },
    plan: { type: String, enum: PLANS, required: true, default: 'free' },
    // Seats the organisation bought; null on the free plan (unlimited).
    seatLimit: { type: Number, default: null },
    seatsUsed: { type: Number, required: true, default: 0 },
    // Imports whose seats are already counted in seatsUsed: makes a retried reservation a no-op.
    seatHolds: { type: [String], default: [] },
    settings: {
      syncIntervalMinutes: { type: Number, default: null },
      autoImport: { type: Boolean, default: false },
      inviteByDefault: { type: Boolean, default: false },
    },
  },
  { timestamps: true },
);

export const INVITATION_STATES = ['none', 'queued', 'sent', 'failed'] as const;
export const MEMBER_ORIGINS = ['manual', 'qbo_import'] as const;

const memberSchema = new Schema(
  {
    orgId: { type: Schema.Types.ObjectId, required: true },
    fullName: { type: String, required: true, trim: true },
    email: { type: String, default: null, trim: true },
    // Normalised keys the matcher compares; kept beside the raw values so lookups are indexed.
    emailKey: { type: String, default: null },
    nameKey: { type: String, default: null },
    loginAccess: { type: Boolean, required: true, default: false },
    invitation: {
      state: { type: String, enum: INVITATION_STATES, default: 'none' },
      reason: { type: String, default: null },
    },
    origin: { type: String, enum: MEMBER_ORIGINS, required: true, default: 'manual' },
    // The QBO employee ("<orgId>:<qboId>") an import created this member from.
    sourceEmployeeId: { type: String, default: null },
  },
  { timestamps: true },
);
memberSchema.index({ orgId: 1, emailKey: 1 });
memberSchema.index({ orgId: 1, nameKey: 1 });

export const CONNECTION_STATUSES = ['connected', 'needs_reauth', 'disconnected'] as const;

const qboConnectionSchema = new Schema(
  {
    orgId: { type: Schema.Types.ObjectId, required: true, unique: true },
    realmId: { type: String, required: true, unique: true },
    environment: { type: String, enum: ['sandbox', 'production'], required: true },
    status: { type: String, enum: CONNECTION_STATUSES, required: true, default: 'connected' },
    statusReason: { type: String, default: null },
    // AES-256-GCM sealed (see src/crypto.ts); never stored or logged in clear.
    accessTokenEnc: { type: String, required: true },
    refreshTokenEnc: { type: String, required: true },
    accessTokenExpiresAt: { type: Date, required: true },
    refreshTokenExpiresAt: { type: Date, default: null },
    // Incremented on every stored refresh: lets a process see that someone else refreshed.
    tokenVersion: { type: Number, required: true, default: 0 },
    lastFullSyncAt: { type: Date, default: null },
    // The CDC cursor: QBO time of the newest change already applied.
    lastCdcAt: { type: Date, default: null },
    // The member directory as the last sync saw it (count and newest change): when it moved,
    // an incremental sync also decides every link again from stored data.
    directoryStamp: { type: String, default: null },
  },
  { timestamps: true },
);

export const LINK_STATUSES = ['connected', 'disconnected', 'cannot_connect'] as const;
// `employee_deleted` is ours: the employee was deleted or merged away in QBO, so its link ended.
export const LINK_REASONS = ['no_match', 'ambiguous_name', 'member_taken', 'no_identity', 'employee_deleted'] as const;
export const MATCHED_BY = ['email', 'name', 'import', 'manual'] as const;

const qboEmployeeSchema = new Schema(
  {
    // Deterministic "<orgId>:<qboId>": FerretDB finds and updates by _id far faster than by
    // any other field, and a retried insert of the same employee collides instead of duplicating.
    _id: { type: String, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    realmId: { type: String, required: true },
    qboId: { type: String, required: true },
    syncToken: { type: String, default: null },
    givenName: { type: String, default: null },
    middleName: { type: String, default: null },
    familyName: { type: String, default: null },
    displayName: { type: String, default: null },
    email: { type: String, default: null },
    employeeNumber: { type: String, default: null },
    active: { type: Boolean, default: true },
    deleted: { type: Boolean, default: false },
    qboUpdatedAt: { type: Date, default: null },
    // Set once, when this employee was first reported as a new member.
    newDetectedAt: { type: Date, default: null },
    link: {
      status: { type: String, enum: LINK_STATUSES, required: true, default: 'cannot_connect' },
      reason: { type: String, enum: [...LINK_REASONS, null], default: 'no_match' },
      memberId: { type: Schema.Types.ObjectId, default: null },
      matchedBy: { type: String, enum: [...MATCHED_BY, null], default: null },
      // Who nearly matched (accents, middle name, swapped order): a hint for the admin.
      hint: {
        memberId: { type: Schema.Types.ObjectId, default: null },
        fullName: { type: String, default: null },
        kind: { type: String, default: null },
      },
      // Bumped on every link change; part of the member.link_changed event id.
      version: { type: Number, required: true, default: 0 },
      changedAt: { type: Date, default: null },
    },
    lastSyncRunId: { type: Schema.Types.ObjectId, default: null },
  },
  { timestamps: true },
);
qboEmployeeSchema.index({ orgId: 1, qboId: 1 }, { unique: true });
qboEmployeeSchema.index({ orgId: 1, 'link.status': 1, 'link.reason': 1, active: 1 });
qboEmployeeSchema.index({ orgId: 1, 'link.memberId': 1 });

export const SYNC_TRIGGERS = ['schedule', 'manual', 'webhook', 'connect'] as const;
export const SYNC_MODES = ['full', 'incremental'] as const;
export const employeeKey = (orgId: string | Types.ObjectId, qboId: string) => `${String(orgId)}:${qboId}`;

export const SYNC_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;

const syncRunSchema = new Schema(
  {
    orgId: { type: Schema.Types.ObjectId, required: true },
    trigger: { type: String, enum: SYNC_TRIGGERS, required: true },
    requestedMode: { type: String, enum: SYNC_MODES, required: true },
    // What actually ran: an incremental request with a stale cursor becomes full.
    mode: { type: String, enum: [...SYNC_MODES, null], default: null },
    state: { type: String, enum: SYNC_STATES, required: true, default: 'queued' },
    attempts: { type: Number, default: 0 },
    // Requests that joined this run while it waited.
    coalesced: { type: Number, default: 0 },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    counts: {
      fetched: { type: Number, default: 0 },
      created: { type: Number, default: 0 },
      updated: { type: Number, default: 0 },
      unchanged: { type: Number, default: 0 },
      deleted: { type: Number, default: 0 },
      skipped: { type: Number, default: 0 },
      linkChanges: { type: Number, default: 0 },
      newDetected: { type: Number, default: 0 },
      candidates: { type: Number, default: 0 },
      qboRequests: { type: Number, default: 0 },
    },
    // Employees the sync could not read (malformed rows): kept so the admin sees them.
    problems: { type: [{ qboId: String, problem: String, _id: false }], default: [] },
    // Where a retried full sync resumes (STARTPOSITION of the next page).
    progress: { nextStart: { type: Number, default: null } },
    message: { type: String, default: null },
    error: { code: { type: String, default: null }, message: { type: String, default: null } },
  },
  { timestamps: true },
);
syncRunSchema.index({ orgId: 1, createdAt: -1 });


export const IMPORT_STATES = ['queued', 'running', 'succeeded', 'refused', 'failed'] as const;
export const IMPORT_ITEM_OUTCOMES = ['pending', 'created', 'skipped'] as const;
export const IMPORT_REQUESTERS = ['admin', 'auto'] as const;

const importItemSchema = new Schema(
  {
    qboId: { type: String, required: true },
    outcome: { type: String, enum: IMPORT_ITEM_OUTCOMES, required: true, default: 'pending' },
    // Why an employee was skipped (already_linked, employee_inactive, …).
    reason: { type: String, default: null },
    memberId: { type: Schema.Types.ObjectId, default: null },
    // Snapshot taken when the import was planned: a retry creates exactly this member.
    fullName: { type: String, default: null },
    email: { type: String, default: null },
    invite: { type: Boolean, default: false },
  },
  { _id: false },
);

const importSchema = new Schema(
  {
    orgId: { type: Schema.Types.ObjectId, required: true },
    requestedBy: { type: String, enum: IMPORT_REQUESTERS, required: true, default: 'admin' },
    // For auto-imports: the sync run whose detections this import acts on.
    syncRunId: { type: Schema.Types.ObjectId, default: null },
    employeeIds: { type: [String], required: true },
    sendInvites: { type: Boolean, required: true },
    includeInactive: { type: Boolean, default: false },
    state: { type: String, enum: IMPORT_STATES, required: true, default: 'queued' },
    // The stored plan; null until the worker made it. A retry follows it instead of deciding again.
    items: { type: [importItemSchema], default: null },
    seatsNeeded: { type: Number, default: null },
    seatsFree: { type: Number, default: null },
    counts: {
      requested: { type: Number, default: 0 },
      created: { type: Number, default: 0 },
      skipped: { type: Number, default: 0 },
      invited: { type: Number, default: 0 },
    },
    error: { code: { type: String, default: null }, message: { type: String, default: null } },
    attempts: { type: Number, default: 0 },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true },
);
importSchema.index({ orgId: 1, createdAt: -1 });
importSchema.index({ state: 1 });

export const INVITATION_OUTCOMES = ['sent', 'failed'] as const;

/**
 * The final word on one member's invitation, written once (insert-only, `_id` = member id):
 * a second outcome for the same member cannot be stored. Kept apart from the member so that
 * recording 1000 deliveries costs inserts, not updates (FerretDB rewrites by scanning).
 */
const invitationSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    outcome: { type: String, enum: INVITATION_OUTCOMES, required: true },
    reason: { type: String, default: null },
    messageId: { type: String, default: null },
    // sha256 of the personal accept token; the token itself only ever travels in the e-mail.
    tokenHash: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
invitationSchema.index({ orgId: 1 });

/** One per QBO employee ever reported as a new member (`_id` = "<orgId>:<qboId>"). */
const detectionSchema = new Schema(
  {
    _id: { type: String, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    qboId: { type: String, required: true },
    syncRunId: { type: Schema.Types.ObjectId, default: null },
    detectedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
detectionSchema.index({ orgId: 1, syncRunId: 1 });


export const ENTRY_STATES = ['pending', 'blocked', 'exported', 'failed'] as const;
export const BLOCK_REASONS = ['member_not_linked', 'member_disconnected', 'qbo_employee_inactive', 'qbo_employee_deleted', 'connection_needs_reauth'] as const;

/** Time a member recorded. Its export state is derived (src/timesheets/entries.ts), never stored here. */
const timeEntrySchema = new Schema(
  {
    orgId: { type: Schema.Types.ObjectId, required: true },
    memberId: { type: Schema.Types.ObjectId, required: true },
    // The working day, YYYY-MM-DD (QBO's TxnDate).
    date: { type: String, required: true },
    // Either a duration…
    hours: { type: Number, default: null },
    minutes: { type: Number, default: null },
    // …or a start and an end with their offset, ISO 8601 ("2026-11-02T08:00:00-08:00").
    start: { type: String, default: null },
    end: { type: String, default: null },
    description: { type: String, default: '' },
    billable: {
      customerId: { type: String, default: null },
      hourlyRate: { type: Number, default: null },
    },
    // Bumped on every edit: an export records the revision it sent.
    revision: { type: Number, required: true, default: 1 },
  },
  { timestamps: true },
);
timeEntrySchema.index({ orgId: 1, date: 1 });
timeEntrySchema.index({ orgId: 1, memberId: 1 });

/** The exactly-once record of a sent entry (`_id` = entry id), written once, never updated. */
const entryExportSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    exportId: { type: Schema.Types.ObjectId, required: true },
    revision: { type: Number, required: true },
    qboTimeActivityId: { type: String, required: true },
    requestId: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
entryExportSchema.index({ orgId: 1 });

/** QBO refused an entry for good (`_id` = "<entryId>:<attempt>"); the next attempt gets a new requestid. */
const entryFailureSchema = new Schema(
  {
    _id: { type: String, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    entryId: { type: Schema.Types.ObjectId, required: true },
    exportId: { type: Schema.Types.ObjectId, required: true },
    revision: { type: Number, required: true },
    code: { type: String, default: null },
    message: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
entryFailureSchema.index({ orgId: 1, entryId: 1 });

/** An entry an export held back (`_id` = entry id): released when its member is linked again. */
const entryHoldSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    memberId: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
entryHoldSchema.index({ orgId: 1, memberId: 1 });

/**
 * One batch request, written before it is sent (`_id` = "<exportId>:<seq>"): a retry re-sends
 * exactly these entries under the same requestid, and Intuit answers with the first result.
 */
const exportBatchSchema = new Schema(
  {
    _id: { type: String, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    exportId: { type: Schema.Types.ObjectId, required: true },
    requestId: { type: String, required: true },
    entryIds: { type: [Schema.Types.ObjectId], required: true },
    state: { type: String, enum: ['sending', 'done'], required: true, default: 'sending' },
  },
  { versionKey: false },
);
exportBatchSchema.index({ exportId: 1, state: 1 });

export const EXPORT_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;

const exportOutcome = { entryId: Schema.Types.ObjectId, memberId: Schema.Types.ObjectId, _id: false };
const timesheetExportSchema = new Schema(
  {
    orgId: { type: Schema.Types.ObjectId, required: true },
    requestedBy: { type: String, enum: ['admin', 'release'], required: true, default: 'admin' },
    // A period (admin), or the entries a member's new link released.
    from: { type: String, default: null },
    to: { type: String, default: null },
    entryIds: { type: [Schema.Types.ObjectId], default: null },
    state: { type: String, enum: EXPORT_STATES, required: true, default: 'queued' },
    counts: {
      total: { type: Number, default: 0 },
      exported: { type: Number, default: 0 },
      alreadyExported: { type: Number, default: 0 },
      blocked: { type: Number, default: 0 },
      failed: { type: Number, default: 0 },
      editedAfterExport: { type: Number, default: 0 },
    },
    exported: { type: [{ ...exportOutcome, qboTimeActivityId: String }], default: [] },
    alreadyExported: { type: [{ ...exportOutcome, qboTimeActivityId: String, edited: Boolean }], default: [] },
    blocked: { type: [{ ...exportOutcome, reason: String }], default: [] },
    failed: { type: [{ ...exportOutcome, code: String, message: String }], default: [] },
    attempts: { type: Number, default: 0 },
    error: { code: { type: String, default: null }, message: { type: String, default: null } },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true },
);
timesheetExportSchema.index({ orgId: 1, createdAt: -1 });

// Explicit document shapes: mongoose's schema inference is too heavy for tsc on this schema.
export type Plan = (typeof PLANS)[number];
export type LinkStatus = (typeof LINK_STATUSES)[number];
export type LinkReason = (typeof LINK_REASONS)[number];
export type MatchedBy = (typeof MATCHED_BY)[number];
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];
export type SyncMode = (typeof SYNC_MODES)[number];
export type SyncState = (typeof SYNC_STATES)[number];
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export interface OrganizationDoc {
  _id: Types.ObjectId;
  name: string;
  plan: Plan;
  seatLimit: number | null;
  seatsUsed: number;
  seatHolds: string[];
  settings: { syncIntervalMinutes: number | null; autoImport: boolean; inviteByDefault: boolean };
  createdAt: Date;
  updatedAt: Date;
}

export interface MemberDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  fullName: string;
  email: string | null;
  emailKey: string | null;
  nameKey: string | null;
  loginAccess: boolean;
  invitation: { state: (typeof INVITATION_STATES)[number]; reason: string | null };
  origin: (typeof MEMBER_ORIGINS)[number];
  sourceEmployeeId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface QboConnectionDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  realmId: string;
  environment: 'sandbox' | 'production';
  status: ConnectionStatus;
  statusReason: string | null;
  accessTokenEnc: string;
  refreshTokenEnc: string;
  accessTokenExpiresAt: Date;
  refreshTokenExpiresAt: Date | null;
  tokenVersion: number;
  lastFullSyncAt: Date | null;
  lastCdcAt: Date | null;
  directoryStamp: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface LinkHint {
  memberId: Types.ObjectId | null;
  fullName: string | null;
  kind: string | null;
}

export interface EmployeeLink {
  status: LinkStatus;
  reason: LinkReason | null;
  memberId: Types.ObjectId | null;
  matchedBy: MatchedBy | null;
  hint: LinkHint;
  version: number;
  changedAt: Date | null;
}

export interface QboEmployeeDoc {
  _id: string;
  orgId: Types.ObjectId;
  realmId: string;
  qboId: string;
  syncToken: string | null;
  givenName: string | null;
  middleName: string | null;
  familyName: string | null;
  displayName: string | null;
  email: string | null;
  employeeNumber: string | null;
  active: boolean;
  deleted: boolean;
  qboUpdatedAt: Date | null;
  newDetectedAt: Date | null;
  link: EmployeeLink;
  lastSyncRunId: Types.ObjectId | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SyncCounts {
  fetched: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  skipped: number;
  linkChanges: number;
  newDetected: number;
  candidates: number;
  qboRequests: number;
}

export interface SyncRunDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  trigger: SyncTrigger;
  requestedMode: SyncMode;
  mode: SyncMode | null;
  state: SyncState;
  attempts: number;
  coalesced: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  counts: SyncCounts;
  problems: { qboId: string; problem: string }[];
  progress: { nextStart: number | null };
  message: string | null;
  error: { code: string | null; message: string | null };
  createdAt: Date;
  updatedAt: Date;
}


export type ImportState = (typeof IMPORT_STATES)[number];
export type ImportItemOutcome = (typeof IMPORT_ITEM_OUTCOMES)[number];

export interface ImportItem {
  qboId: string;
  outcome: ImportItemOutcome;
  reason: string | null;
  memberId: Types.ObjectId | null;
  fullName: string | null;
  email: string | null;
  invite: boolean;
}

export interface ImportDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  requestedBy: (typeof IMPORT_REQUESTERS)[number];
  syncRunId: Types.ObjectId | null;
  employeeIds: string[];
  sendInvites: boolean;
  includeInactive: boolean;
  state: ImportState;
  items: ImportItem[] | null;
  seatsNeeded: number | null;
  seatsFree: number | null;
  counts: { requested: number; created: number; skipped: number; invited: number };
  error: { code: string | null; message: string | null };
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface InvitationDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  outcome: (typeof INVITATION_OUTCOMES)[number];
  reason: string | null;
  messageId: string | null;
  tokenHash: string | null;
  at: Date;
}

export interface DetectionDoc {
  _id: string;
  orgId: Types.ObjectId;
  qboId: string;
  syncRunId: Types.ObjectId | null;
  detectedAt: Date;
}

export type EntryState = (typeof ENTRY_STATES)[number];
export type BlockReason = (typeof BLOCK_REASONS)[number];
export type ExportState = (typeof EXPORT_STATES)[number];

export interface TimeEntryDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  memberId: Types.ObjectId;
  date: string;
  hours: number | null;
  minutes: number | null;
  start: string | null;
  end: string | null;
  description: string;
  billable: { customerId: string | null; hourlyRate: number | null };
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface EntryExportDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  exportId: Types.ObjectId;
  revision: number;
  qboTimeActivityId: string;
  requestId: string;
  at: Date;
}

export interface EntryFailureDoc {
  _id: string;
  orgId: Types.ObjectId;
  entryId: Types.ObjectId;
  exportId: Types.ObjectId;
  revision: number;
  code: string | null;
  message: string | null;
  at: Date;
}

export interface EntryHoldDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  memberId: Types.ObjectId;
  at: Date;
}

export interface ExportBatchDoc {
  _id: string;
  orgId: Types.ObjectId;
  exportId: Types.ObjectId;
  requestId: string;
  entryIds: Types.ObjectId[];
  state: 'sending' | 'done';
}

export interface ExportOutcome {
  entryId: Types.ObjectId;
  memberId: Types.ObjectId;
}

export interface TimesheetExportDoc {
  _id: Types.ObjectId;
  orgId: Types.ObjectId;
  requestedBy: 'admin' | 'release';
  from: string | null;
  to: string | null;
  entryIds: Types.ObjectId[] | null;
  state: ExportState;
  counts: { total: number; exported: number; alreadyExported: number; blocked: number; failed: number; editedAfterExport: number };
  exported: (ExportOutcome & { qboTimeActivityId: string })[];
  alreadyExported: (ExportOutcome & { qboTimeActivityId: string; edited: boolean })[];
  blocked: (ExportOutcome & { reason: BlockReason })[];
  failed: (ExportOutcome & { code: string; message: string })[];
  attempts: number;
  error: { code: string | null; message: string | null };
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const Organization = mongoose.model<OrganizationDoc>('Organization', organizationSchema, 'organizations');
export const Member = mongoose.model<MemberDoc>('Member', memberSchema, 'members');
export const QboConnection = mongoose.model<QboConnectionDoc>('QboConnection', qboConnectionSchema, 'qbo_connections');
export const QboEmployee = mongoose.model<QboEmployeeDoc>('QboEmployee', qboEmployeeSchema, 'qbo_employees');
export const SyncRun = mongoose.model<SyncRunDoc>('SyncRun', syncRunSchema, 'sync_runs');

// Organisation API keys: only a peppered hash of the secret part is stored (src/http/auth.ts).
// The key id is the _id, so a request's key is found by _id (fast on FerretDB too).
const apiKeySchema = new Schema(
  {
    _id: { type: String, required: true },
    orgId: { type: Schema.Types.ObjectId, required: true },
    hash: { type: String, required: true },
    revokedAt: { type: Date, default: null },
  },
  { timestamps: true },
);
apiKeySchema.index({ orgId: 1 });

export interface ApiKeyDoc {
  _id: string;
  orgId: Types.ObjectId;
  hash: string;
  revokedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const ApiKey = mongoose.model<ApiKeyDoc>('ApiKey', apiKeySchema, 'api_keys');


export const Import = mongoose.model<ImportDoc>('Import', importSchema, 'imports');
export const Invitation = mongoose.model<InvitationDoc>('Invitation', invitationSchema, 'invitations');
export const Detection = mongoose.model<DetectionDoc>('Detection', detectionSchema, 'member_detections');

export const TimeEntry = mongoose.model<TimeEntryDoc>('TimeEntry', timeEntrySchema, 'time_entries');
export const EntryExport = mongoose.model<EntryExportDoc>('EntryExport', entryExportSchema, 'entry_exports');
export const EntryFailure = mongoose.model<EntryFailureDoc>('EntryFailure', entryFailureSchema, 'entry_failures');
export const EntryHold = mongoose.model<EntryHoldDoc>('EntryHold', entryHoldSchema, 'entry_holds');
export const ExportBatch = mongoose.model<ExportBatchDoc>('ExportBatch', exportBatchSchema, 'export_batches');
export const TimesheetExport = mongoose.model<TimesheetExportDoc>('TimesheetExport', timesheetExportSchema, 'timesheet_exports');

export const ALL_MODELS = [
  Organization,
  Member,
  QboConnection,
  QboEmployee,
  SyncRun,
  Import,
  Invitation,
  Detection,
  ApiKey,
  TimeEntry,
  EntryExport,
  EntryFailure,
  EntryHold,
  ExportBatch,
  TimesheetExport,
] as const;
