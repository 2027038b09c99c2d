import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { eventJobId } from '../../queues/member-events';
import {
  employeeKey,
  Organization,
  QboConnection,
  QboEmployee,
  SyncRun,
  type QboConnectionDoc,
  type QboEmployeeDoc,
  type SyncCounts,
  type SyncMode,
  type SyncRunDoc,
  type SyncTrigger,
} from '../db/models';
import type { Logger } from '../logger';
import { bulkSetById, insertNew, type SetById } from '../db/bulk';
import { loadClaims, loadDirectory } from '../directory/snapshot';
import type { Directory } from '../matching/match';
import { classifyQboError } from '../qbo/classify';
import type { QboClient, QboContext } from '../qbo/client';
import { parseCdc, parseEmployee, parseQboTime, parseQueryPage, type QboDeletedStub, type QboEmployeeRecord } from '../qbo/parse';
import { getAccessToken, loadConnection } from '../qbo/tokens';
import { publishEvents, type PendingEvent } from './events';
import { HELD_PROJECTION, HeldMap, toHeld, type Held } from './held';
import { decideLink, linkStateOf, sameHint, sameLink, type Claims, type LinkState } from './link';
import { mergeEmployee, sameData } from './merge';
import { moveRun } from './run-state';

export interface SyncDeps {
  redis: Redis;
  queues: Queues;
  qbo: QboClient;
  tokenKey: Buffer;
  logger: Logger;
  keyPrefix: string;
  pageSize: number;
}

export const MESSAGES = {
  none: 'No new members detected to sync',
  some: 'New members detected to sync',
} as const;

// CDC reaches 30 days back; keep a margin so a cursor is never refused at the edge.
const CDC_MAX_AGE_MS = 29 * 24 * 3600_000;
// Intuit caps CDC at 1000 objects with no paging: a full answer may be truncated.
const CDC_CAP = 1000;
// Re-read the last minute on the next CDC: clocks and same-second updates make the edge fuzzy.
const CURSOR_OVERLAP_MS = 60_000;
const SEEN_TTL_S = 2 * 24 * 3600;

export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

type Row = QboEmployeeRecord | QboDeletedStub;

interface SyncState {
  run: SyncRunDoc;
  orgId: Types.ObjectId;
  conn: QboConnectionDoc;
  directory: Directory;
  claims: Claims;
  counts: SyncCounts;
  problems: { qboId: string; problem: string }[];
  /** Employees whose member an e-mail match took over: decided again before the run ends. */
  displaced: Set<string>;
  log: Logger;
}

const zeroCounts = (): SyncCounts => ({
  fetched: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  deleted: 0,
  skipped: 0,
  linkChanges: 0,
  newDetected: 0,
  candidates: 0,
  qboRequests: 0,
});

/** Every employee of the org, read once (full syncs): one scan instead of one per page. */
async function loadAllHeld(orgId: Types.ObjectId): Promise<HeldMap> {
  const held = new HeldMap();
  const cursor = QboEmployee.find({ orgId }, HELD_PROJECTION).lean<QboEmployeeDoc>().cursor({ batchSize: 2000 });
  for await (const d of cursor) held.set(d.qboId, toHeld(d as QboEmployeeDoc));
  return held;
}

/** The few employees a CDC answer names, read by _id. */
async function loadSomeHeld(orgId: Types.ObjectId, qboIds: string[]): Promise<HeldMap> {
  const docs = await Promise.all(qboIds.map((id) => QboEmployee.findById(employeeKey(orgId, id), HELD_PROJECTION).lean<QboEmployeeDoc>()));
  const held = new HeldMap();
  for (const d of docs) if (d) held.set(d.qboId, toHeld(d));
  return held;
}

/**
 * One call to QBO with the connection's token; a 401 forces one refresh and one retry. Each
 * request is counted in `tally` (the run's counts unless the caller counts them later).
 */
async function callQbo<T>(deps: SyncDeps, st: SyncState, fn: (ctx: QboContext) => Promise<T>, tally: { qboRequests: number } = st.counts): Promise<T> {
  let token = await getAccessToken(deps, st.conn);
  for (let attempt = 0; ; attempt++) {
    tally.qboRequests++;
    try {
      return await fn({ realmId: st.conn.realmId, accessToken: token });
    } catch (err) {
      if (attempt > 0 || classifyQboError(err).kind !== 'token_expired') throw err;
      const fresh = await QboConnection.findById(st.conn._id).lean<QboConnectionDoc>();
      if (fresh) st.conn = fresh;
      token = await getAccessToken(deps, st.conn, token);
    }
  }
}

function claimsFrom(held: HeldMap): Claims {
  const claims: Claims = new Map();
  for (const [qboId, h] of held.entries()) {
    if (h.link.status === 'connected' && h.link.memberId) claims.set(h.link.memberId, { qboId, by: h.link.matchedBy });
  }
  return claims;
}

function parseRows(st: SyncState, raw: unknown[]): Row[] {
  // The same employee can appear twice in one answer (CDC): the newest copy wins.
  const byId = new Map<string, Row>();
  for (const r of raw) {
    const parsed = parseEmployee(r);
    if (!parsed.ok) {
      st.counts.skipped++;
      if (st.problems.length < 100) st.problems.push({ qboId: parsed.qboId ?? '?', problem: parsed.problem });
      continue;
    }
    const prev = byId.get(parsed.value.qboId);
    if (!prev || (parsed.value.qboUpdatedAt?.getTime() ?? 0) >= (prev.qboUpdatedAt?.getTime() ?? 0)) {
      byId.set(parsed.value.qboId, parsed.value);
    }
  }
  return [...byId.values()];
}

const snapshot = (l: LinkState) => ({ status: l.status, reason: l.reason, memberId: l.memberId });

function linkDoc(l: LinkState, version: number, changedAt: Date | null) {
  return {
    status: l.status,
    reason: l.reason,
    memberId: l.memberId ? new Types.ObjectId(l.memberId) : null,
    matchedBy: l.matchedBy,
    hint: { memberId: l.hint ? new Types.ObjectId(l.hint.memberId) : null, fullName: l.hint?.fullName ?? null, kind: l.hint?.kind ?? null },
    version,
    changedAt,
  };
}

/** What one batch of rows changes: the events to queue, then the rows to insert and update. */
interface Plan {
  events: PendingEvent[];
  inserts: Record<string, unknown>[];
  updates: SetById[];
}

/**
 * Decides what one batch of QBO rows changes, in memory: links, counts, events, and the held
 * copies (so the next batch sees this one's outcome before it is written). Unchanged employees
 * cost nothing; new ones become inserts, changed ones an update each. Runs under the org's link
 * lease (src/lock.ts), so no admin link change can land between our read and our write.
 */
function planRows(st: SyncState, rows: Row[], held: HeldMap): Plan {
  st.counts.fetched += rows.length;
  const now = new Date();
  const orgId = String(st.orgId);
  const plan: Plan = { events: [], inserts: [], updates: [] };
  const { events } = plan;

  for (const row of rows) {
    const prev = held.get(row.qboId) ?? null;
    if (!prev && row.deleted) {
      // A stub for someone we never stored: nothing to mark, nothing to erase.
      st.counts.unchanged++;
      continue;
    }
    const data = mergeEmployee(prev?.data ?? null, row);
    const prevLink = prev?.link ?? linkStateOf(null);
    const link = decideLink(row.qboId, prevLink, data, st.directory, st.claims, st.displaced);
    const linkChanged = !prev || !sameLink(prevLink, link);
    if (prev && !linkChanged && sameData(prev.data, data) && sameHint(prevLink, link)) {
      st.counts.unchanged++;
      continue;
    }
    const _id = employeeKey(orgId, row.qboId);
    const version = (prev?.version ?? 0) + (linkChanged ? 1 : 0);
    const changedAt = linkChanged ? now : (prev?.changedAt ?? now);
    const next: Held = { data, link, version, newDetected: prev?.newDetected ?? false, changedAt };
    const set: Record<string, unknown> = { ...data, link: linkDoc(link, version, changedAt), lastSyncRunId: st.run._id };

    if (linkChanged && (prev || link.status === 'connected')) {
      st.counts.linkChanges++;
      events.push({
        id: eventJobId.linkChanged(orgId, row.qboId, version),
        name: 'member.link_changed',
        data: { orgId, qboId: row.qboId, employeeId: _id, version, from: snapshot(prevLink), to: snapshot(link), cause: 'sync', at: now.toISOString() },
      });
    }
    const isCandidate = link.status === 'cannot_connect' && link.reason === 'no_match' && data.active && !data.deleted;
    if (isCandidate && !next.newDetected) {
      // Reported once per employee, whatever later syncs see.
      st.counts.newDetected++;
      next.newDetected = true;
      set.newDetectedAt = now;
      events.push({
        id: eventJobId.newDetected(orgId, row.qboId),
        name: 'member.new_detected',
        data: { orgId, qboId: row.qboId, employeeId: _id, syncRunId: String(st.run._id), detectedAt: now.toISOString() },
      });
    }
    if (data.deleted && !prev?.data.deleted) {
      st.counts.deleted++;
      events.push({
        id: eventJobId.employeeRemoved(orgId, row.qboId),
        name: 'qbo.employee_removed',
        data: { orgId, qboId: row.qboId, employeeId: _id, memberId: prevLink.memberId, at: now.toISOString() },
      });
    }
    if (prev) {
      st.counts.updated++;
      // By _id alone (FerretDB's only fast path): the org lease keeps other link writers out.
      plan.updates.push({ _id, set: { ...set, updatedAt: now } });
    } else {
      st.counts.created++;
      plan.inserts.push({ _id, orgId: st.orgId, realmId: st.conn.realmId, qboId: row.qboId, newDetectedAt: null, createdAt: now, updatedAt: now, ...set });
    }
    held.set(row.qboId, next);
  }
  return plan;
}

/** Writes a plan's rows. Its events must be queued first (src/sync/events.ts says why). */
async function writePlan(plan: Plan): Promise<void> {
  // Lean (no hydration or casting: 3x less CPU per page, bench/README.md). A retried page may
  // find rows its dead attempt already inserted: those are the same rows.
  await insertNew(QboEmployee, plan.inserts);
  await bulkSetById(QboEmployee, plan.updates);
}

/** Applies one batch of QBO rows: decides, queues the events, then writes. */
async function applyRows(deps: SyncDeps, st: SyncState, rows: Row[], held: HeldMap): Promise<void> {
  const plan = planRows(st, rows, held);
  await publishEvents(deps.queues, plan.events);
  await writePlan(plan);
}

function rowFromHeld(qboId: string, h: Held): Row {
  if (h.data.deleted) return { qboId, deleted: true, qboUpdatedAt: h.data.qboUpdatedAt };
  return { qboId, ...h.data, deleted: false };
}

/**
 * Decides links again from stored data, without asking QBO: for employees an e-mail match
 * displaced, or for everyone when the member directory changed since the last sync.
 */
async function relink(deps: SyncDeps, st: SyncState, qboIds: Iterable<string>, held: HeldMap): Promise<void> {
  const fetched = st.counts.fetched;
  let ids = [...qboIds];
  for (let round = 0; ids.length > 0 && round < 10; round++) {
    st.displaced.clear();
    for (let i = 0; i < ids.length; i += 1000) {
      const rows: Row[] = [];
      for (const qboId of ids.slice(i, i + 1000)) {
        const h = held.get(qboId);
        if (h) rows.push(rowFromHeld(qboId, h));
      }
      await applyRows(deps, st, rows, held);
    }
    ids = [...st.displaced];
  }
  st.counts.fetched = fetched;
}

const seenKey = (deps: SyncDeps, runId: Types.ObjectId) => `${deps.keyPrefix}:sync-seen:${String(runId)}`;

/** Where a retried run resumes, with the counts and problems of the pages before that point. */
interface Progress {
  nextStart: number;
  counts: SyncCounts;
  problems: SyncState['problems'];
}

async function saveProgress(st: SyncState, p: Progress): Promise<void> {
  await SyncRun.updateOne({ _id: st.run._id }, { $set: { 'progress.nextStart': p.nextStart, counts: p.counts, problems: p.problems } });
}

/** One page of the listing, asked for ahead of time; its requests count when the page is used. */
interface PageRequest {
  start: number;
  body: Promise<unknown>;
  tally: { qboRequests: number };
}

function requestPage(deps: SyncDeps, st: SyncState, start: number): PageRequest {
  const tally = { qboRequests: 0 };
  const body = callQbo(deps, st, (ctx) => deps.qbo.queryEmployeesPage(ctx, start, deps.pageSize), tally);
  // Awaited later; marked handled now so a run that fails before then leaves no unhandled rejection.
  body.catch(() => undefined);
  return { start, body, tally };
}

/**
 * One page's side effects, in the order a crash can interrupt safely: its events and the ids
 * it listed (Redis), then its rows (MongoDB), then the progress that lets a retry skip it.
 */
async function writePage(deps: SyncDeps, st: SyncState, seen: string, rows: Row[], plan: Plan, progress: Progress | null): Promise<void> {
  await Promise.all([
    publishEvents(deps.queues, plan.events),
    rows.length > 0 ? deps.redis.multi().sadd(seen, ...rows.map((r) => r.qboId)).expire(seen, SEEN_TTL_S).exec() : null,
  ]);
  await writePlan(plan);
  if (progress) await saveProgress(st, progress);
}

/**
 * Lists every employee (active or not), page by page, then marks the ones a complete listing
 * no longer contains as deleted. The ids seen so far live in Redis, so a retried run resumes at
 * the page it had reached and still knows what it saw before.
 *
 * Pipelined: the next page is requested as soon as a full page arrives, and is decided (in
 * memory) while the page before it is still being written. Writes stay strictly in page order,
 * one page at a time, and a page's events go out only after the previous page's progress is
 * saved: a crash leaves exactly what the sequential loop would have left.
 */
async function fullSync(deps: SyncDeps, st: SyncState, loadHeld: () => Promise<HeldMap>): Promise<HeldMap> {
  const pageSize = deps.pageSize;
  const seen = seenKey(deps, st.run._id);
  let next = requestPage(deps, st, st.run.progress?.nextStart ?? 1);
  // The first page is on its way while the stored employees are read.
  const held = await loadHeld();
  st.claims = claimsFrom(held);
  let written: Promise<void> = Promise.resolve();
  try {
    for (;;) {
      const request = next;
      const body = await request.body;
      st.counts.qboRequests += request.tally.qboRequests;
      const page = parseQueryPage(body);
      // Never trust maxResults: only a short (or empty) page ends the listing.
      const last = page.rows.length < pageSize;
      if (!last) next = requestPage(deps, st, request.start + pageSize);
      const rows = parseRows(st, page.rows);
      const plan = planRows(st, rows, held);
      const progress = last ? null : { nextStart: request.start + pageSize, counts: { ...st.counts }, problems: [...st.problems] };
      await written;
      written = writePage(deps, st, seen, rows, plan, progress);
      written.catch(() => undefined);
      if (last) break;
    }
    await written;
  } catch (err) {
    // Never leave a page being written behind a failed run: its retry must find the writes done.
    await written.catch((writeErr: unknown) => {
      if (writeErr !== err) st.log.warn({ err: writeErr }, 'A page write failed too while the run was failing');
    });
    throw err;
  }

  // Walked one entry at a time: unpacking the whole map at once would hold the company twice.
  const vanished: QboDeletedStub[] = [];
  let batch: string[] = [];
  const check = async () => {
    const flags = await deps.redis.smismember(seen, ...batch);
    batch.forEach((qboId, j) => {
      if (flags[j] !== 1) vanished.push({ qboId, deleted: true, qboUpdatedAt: null });
    });
    batch = [];
  };
  for (const [qboId, h] of held.entries()) {
    if (h.data.deleted) continue;
    batch.push(qboId);
    if (batch.length === 5000) await check();
  }
  if (batch.length > 0) await check();
  if (vanished.length > 0) {
    st.log.info({ vanished: vanished.length }, 'Employees missing from a complete listing are marked deleted');
    const fetched = st.counts.fetched;
    await applyRows(deps, st, vanished, held);
    st.counts.fetched = fetched;
  }
  await deps.redis.del(seen);
  return held;
}

/** Applies CDC changes; incomplete when the answer may be truncated and a full sync is needed. */
async function incrementalSync(deps: SyncDeps, st: SyncState, since: Date): Promise<{ complete: boolean; serverTime: Date | null }> {
  const body = await callQbo(deps, st, (ctx) => deps.qbo.employeeChangesSince(ctx, since));
  const raw = parseCdc(body);
  const serverTime = parseQboTime((body as { time?: unknown } | null)?.time);
  if (raw.length >= CDC_CAP) return { complete: false, serverTime };
  const rows = parseRows(st, raw);
  // Who holds which member only matters when a changed row matches someone: skip the read
  // (a scan on FerretDB) when none does.
  const mayLink = rows.some((r) => !r.deleted && st.directory.match(r, () => false).status === 'connected');
  if (mayLink) st.claims = await loadClaims(st.orgId);
  const held = await loadSomeHeld(st.orgId, rows.map((r) => r.qboId));
  await applyRows(deps, st, rows, held);
  return { complete: true, serverTime };
}

export interface SyncResult {
  syncRunId: string;
  trigger: SyncTrigger;
  mode: SyncMode;
  counts: SyncCounts;
  message: string;
  /** True when the run had already succeeded and its stored result is handed back. */
  alreadyDone?: boolean;
}

/**
 * Runs (or resumes) one sync run. Idempotent: a finished run returns its stored result, and a
 * retried one re-applies pages as unchanged rows and re-queues events under the same ids.
 */
export async function runSync(deps: SyncDeps, syncRunId: string): Promise<SyncResult> {
  const run = await SyncRun.findById(syncRunId).lean<SyncRunDoc>();
  if (!run) throw new SyncError('sync_run_not_found', `Sync run ${syncRunId} does not exist`);
  if (run.state === 'succeeded') {
    return { syncRunId, trigger: run.trigger, mode: run.mode ?? run.requestedMode, counts: run.counts, message: run.message ?? '', alreadyDone: true };
  }
  if (run.state === 'failed') throw new SyncError('sync_run_failed', `Sync run ${syncRunId} already failed`);
  const orgId = run.orgId;
  const log = deps.logger.child({ orgId: String(orgId), syncRunId });
  if (!(await Organization.exists({ _id: orgId }))) throw new SyncError('org_not_found', `Organisation ${String(orgId)} does not exist`);
  const conn = await loadConnection(orgId);
  const startedAt = run.startedAt ?? new Date();
  await moveRun(run._id, 'running', { startedAt }, { attempts: 1 });

  let mode: SyncMode = run.requestedMode;
  const cursor = conn.lastCdcAt;
  if (mode === 'incremental' && (!cursor || Date.now() - cursor.getTime() > CDC_MAX_AGE_MS)) {
    log.info({ cursor }, 'CDC cursor missing or older than the 30-day window: running a full sync');
    mode = 'full';
  }
  const { directory, stamp } = await loadDirectory(orgId);
  const st: SyncState = {
    run,
    orgId,
    conn,
    directory,
    claims: new Map(),
    counts: run.state === 'running' ? { ...zeroCounts(), ...run.counts } : zeroCounts(),
    problems: run.problems ?? [],
    displaced: new Set(),
    log,
  };

  let nextCursor = new Date(startedAt.getTime() - CURSOR_OVERLAP_MS);
  let candidates: number | null = null;
  if (mode === 'incremental' && cursor) {
    const res = await incrementalSync(deps, st, cursor);
    if (res.complete) {
      if (res.serverTime) nextCursor = new Date(Math.min(res.serverTime.getTime(), Date.now()) - CURSOR_OVERLAP_MS);
      if (conn.directoryStamp !== stamp) {
        // Members were added or edited since the last sync: QBO did not change, our side did.
        log.info('Member directory changed since the last sync: deciding every link again');
        const held = await loadAllHeld(orgId);
        st.claims = claimsFrom(held);
        await relink(deps, st, [...held.entries()].map(([qboId]) => qboId), held);
      } else if (st.displaced.size > 0) {
        await relink(deps, st, st.displaced, await loadSomeHeld(orgId, [...st.displaced]));
      }
    } else {
      log.info('CDC answer reached the 1000-object cap: running a full sync');
      mode = 'full';
    }
  }
  if (mode === 'full') {
    const held = await fullSync(deps, st, () => loadAllHeld(orgId));
    if (st.displaced.size > 0) await relink(deps, st, st.displaced, held);
    candidates = 0;
    for (const [, h] of held.entries()) {
      if (h.link.status === 'cannot_connect' && h.link.reason === 'no_match' && h.data.active && !h.data.deleted) candidates++;
    }
  }
  st.counts.candidates =
    candidates ??
    (await QboEmployee.countDocuments({ orgId, 'link.status': 'cannot_connect', 'link.reason': 'no_match', active: true, deleted: false }));
  const message = st.counts.candidates > 0 ? MESSAGES.some : MESSAGES.none;

  const cursorSet: Record<string, unknown> = {};
  if (!cursor || nextCursor > cursor) cursorSet.lastCdcAt = nextCursor;
  if (mode === 'full') cursorSet.lastFullSyncAt = startedAt;
  if (conn.directoryStamp !== stamp) cursorSet.directoryStamp = stamp;
  if (Object.keys(cursorSet).length > 0) await QboConnection.updateOne({ _id: conn._id }, { $set: cursorSet });

  await moveRun(run._id, 'succeeded', { mode, counts: st.counts, problems: st.problems, message, finishedAt: new Date(), 'progress.nextStart': null });
  log.info({ mode, counts: st.counts }, message);
  return { syncRunId, trigger: run.trigger, mode, counts: st.counts, message };
}
