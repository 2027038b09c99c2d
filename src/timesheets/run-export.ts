import type { Redis } from 'ioredis';
import {
  EntryExport,
  EntryFailure,
  EntryHold,
  ExportBatch,
  QboConnection,
  TimeEntry,
  TimesheetExport,
  type BlockReason,
  type ExportBatchDoc,
  type QboConnectionDoc,
  type TimeEntryDoc,
  type TimesheetExportDoc,
} from '../db/models';
import { insertNew } from '../db/bulk';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { classifyQboError, type Classified } from '../qbo/classify';
import type { QboClient, QboContext } from '../qbo/client';
import type { RealmLimiter, SlotKind } from '../qbo/limiter';
import { parseEmployee, parseRead } from '../qbo/parse';
import { ConnectionUnavailableError, getAccessToken, markNeedsReauth } from '../qbo/tokens';
import { batchRequestId, entryRequestId, timeActivityBody, type EmployeeRef } from './activity';
import { entriesInPeriod, exportRecords } from './entries';
import { blockedNow, connectionGate, loadGates, type Gate } from './gate';

/**
 * Runs one export request (under the org's export lease, held by the worker). Every entry ends
 * in exactly one outcome: exported (with the TimeActivity Id), already exported (edited since:
 * reported, never sent again), blocked with the reason, or failed with Intuit's message.
 *
 * Exactly once, whatever crashes: a single create's requestid is derived from the entry (its
 * revision and the count of earlier definite refusals), so sending it again makes Intuit answer
 * with the first result; a batch is written down (`export_batches`) before it is sent, and a
 * retry re-sends exactly it under the same requestid. Sent entries go to the insert-only
 * `entry_exports` ledger, whose `_id` is the entry.
 *
 * Within Intuit's limits for all processes together (src/qbo/limiter.ts): up to 10 requests in
 * flight, batches of 30 while batch slots last, singles with the rest. A 429 pauses the realm;
 * a pause longer than a few seconds hands the job back (RealmThrottledError) so the worker
 * serves other organisations meanwhile.
 */

export interface ExportDeps {
  redis: Redis;
  keyPrefix: string;
  qbo: QboClient;
  tokenKey: Buffer;
  logger: Logger;
  limiter: RealmLimiter;
  /** Stored `active` flags this recent (the last sync) are trusted; older ones are read again. */
  freshMs: number;
  /** Requests one export keeps in flight (the limiter caps the realm as a whole). */
  lanes: number;
  metrics?: Metrics;
}

export class RealmThrottledError extends Error {
  override name = 'RealmThrottledError';
  constructor(readonly waitMs: number) {
    super(`QuickBooks asked us to slow down for this company; resuming in ${Math.ceil(waitMs / 1000)} s`);
  }
}

export class ExportTransientError extends Error {
  override name = 'ExportTransientError';
}

export const BATCH_SIZE = 30;
const MAX_SLOT_WAIT_MS = 5_000;
const MAX_TRANSIENT = 25;

type Unit = { kind: 'batch'; batch: ExportBatchDoc } | { kind: 'single'; entry: TimeEntryDoc };

/** Each entry's outcome by entry id, as the export stores its lists (TimesheetExportDoc). */
type OutcomeList = 'exported' | 'alreadyExported' | 'blocked' | 'failed';
type Outcomes = { [K in OutcomeList]: Map<string, TimesheetExportDoc[K][number]> };

export interface ExportSummary {
  exportId: string;
  state: TimesheetExportDoc['state'];
  counts: TimesheetExportDoc['counts'];
}

const summary = (d: Pick<TimesheetExportDoc, '_id' | 'state' | 'counts'>): ExportSummary => ({ exportId: String(d._id), state: d.state, counts: d.counts });

function countsOf(o: Outcomes, total: number): TimesheetExportDoc['counts'] {
  return {
    total,
    exported: o.exported.size,
    alreadyExported: o.alreadyExported.size,
    blocked: o.blocked.size,
    failed: o.failed.size,
    editedAfterExport: [...o.alreadyExported.values()].filter((a) => a.edited).length,
  };
}

function taId(body: unknown): string | null {
  const id = (body as { TimeActivity?: { Id?: unknown } } | null)?.TimeActivity?.Id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

/** A Fault inside a batch answer, read by the one classifier like any other Intuit answer. */
function classifyItemFault(fault: unknown): Classified {
  return classifyQboError({ response: { status: 400, data: { Fault: fault } } });
}

class Run {
  readonly outcomes: Outcomes = { exported: new Map(), alreadyExported: new Map(), blocked: new Map(), failed: new Map() };
  private queue: Unit[] = [];
  private entries: TimeEntryDoc[] = [];
  private unrecorded: { entry: TimeEntryDoc; qboId: string; requestId: string }[] = [];
  /** Every entry of the export by id, so a batch never reads its entries back. */
  private readonly known = new Map<string, TimeEntryDoc>();
  private attempts = new Map<string, number>();
  private gates = new Map<string, Gate>();
  private transient = 0;
  private batchSeq = 0;
  private stop: Error | null = null;
  private connLost = false;
  private token = '';
  private ctx!: QboContext;

  constructor(
    private readonly deps: ExportDeps,
    private readonly exp: TimesheetExportDoc,
    private conn: QboConnectionDoc,
    private readonly log: Logger,
  ) {}

  private get orgId(): string {
    return String(this.exp.orgId);
  }

  async prepare(): Promise<number> {
    const exp = this.exp;
    const entries = exp.entryIds
      ? (await TimeEntry.find({ _id: { $in: exp.entryIds }, orgId: exp.orgId }).lean<TimeEntryDoc[]>()).sort((a, b) => a.date.localeCompare(b.date))
      : await entriesInPeriod(exp.orgId, exp.from as string, exp.to as string);
    const { exported, failures } = await exportRecords(entries.map((e) => e._id));
    for (const e of entries) this.known.set(String(e._id), e);
    const open: TimeEntryDoc[] = [];
    for (const e of entries) {
      const key = String(e._id);
      const done = exported.get(key);
      if (done) {
        // Sent by an earlier attempt of this very export: it is this export's.
        if (String(done.exportId) === String(exp._id)) this.outcomes.exported.set(key, { entryId: e._id, memberId: e.memberId, qboTimeActivityId: done.qboTimeActivityId });
        else this.outcomes.alreadyExported.set(key, { entryId: e._id, memberId: e.memberId, qboTimeActivityId: done.qboTimeActivityId, edited: e.revision > done.revision });
        continue;
      }
      const refusals = failures.get(key) ?? [];
      const here = refusals.find((f) => String(f.exportId) === String(exp._id) && f.revision === e.revision);
      if (here) {
        // Refused for good earlier in this export: one try per export.
        this.outcomes.failed.set(key, { entryId: e._id, memberId: e.memberId, code: here.code ?? 'refused', message: here.message ?? '' });
        continue;
      }
      this.attempts.set(key, refusals.length);
      open.push(e);
    }

    const connBlock = connectionGate(this.conn);
    if (connBlock) {
      await this.block(open, () => connBlock);
      return entries.length;
    }
    this.gates = await loadGates(exp.orgId, [...new Set(open.map((e) => String(e.memberId)))]);
    try {
      this.token = await getAccessToken(this.deps, this.conn);
    } catch (err) {
      // Intuit refused the refresh token: nothing can be sent until an admin reconnects.
      if (!(err instanceof ConnectionUnavailableError && err.code === 'connection_needs_reauth')) throw err;
      await this.block(open, () => 'connection_needs_reauth');
      return entries.length;
    }
    this.ctx = { realmId: this.conn.realmId, accessToken: this.token };
    await this.refreshActive();

    // Batches an earlier attempt wrote down go first, exactly as they were.
    const pending = await ExportBatch.find({ exportId: exp._id, state: 'sending' }).lean<ExportBatchDoc[]>();
    this.batchSeq = await ExportBatch.countDocuments({ exportId: exp._id });
    const inBatches = new Set(pending.flatMap((b) => b.entryIds.map(String)));
    this.queue = pending.map((batch) => ({ kind: 'batch', batch }));
    const sendable: TimeEntryDoc[] = [];
    const blocked: TimeEntryDoc[] = [];
    for (const e of open) {
      if (inBatches.has(String(e._id))) continue;
      (this.gates.get(String(e.memberId))?.ok ? sendable : blocked).push(e);
    }
    await this.block(blocked, (e) => (this.gates.get(String(e.memberId)) as Gate & { ok: false }).reason);
    this.entries = sendable;
    return entries.length;
  }

  /** Stored `active` flags older than freshMs are read again from QBO, one read per employee. */
  private async refreshActive(): Promise<void> {
    const synced = this.conn.lastCdcAt ?? this.conn.lastFullSyncAt;
    if (synced && Date.now() - synced.getTime() < this.deps.freshMs) return;
    for (const [memberId, gate] of this.gates) {
      if (!gate.ok) continue;
      const slot = await this.deps.limiter.acquire(this.conn.realmId, 'single', MAX_SLOT_WAIT_MS);
      if (!slot.granted) throw new RealmThrottledError(slot.waitMs);
      try {
        const body = await this.deps.qbo.readEmployee(this.ctx, gate.employee.qboId);
        const parsed = parseEmployee(parseRead(body));
        if (parsed.ok && !parsed.value.deleted && parsed.value.active === false) this.gates.set(memberId, { ok: false, reason: 'qbo_employee_inactive' });
      } catch (err) {
        // QBO cannot tell us now: the stored flag decides, and a refusal at create time is recorded.
        this.log.warn({ err, qboId: gate.employee.qboId }, 'Export: employee could not be read again; using the stored copy');
      } finally {
        await slot.release();
      }
    }
  }

  private async block(entries: TimeEntryDoc[], reason: (e: TimeEntryDoc) => BlockReason): Promise<void> {
    if (entries.length === 0) return;
    for (const e of entries) this.outcomes.blocked.set(String(e._id), { entryId: e._id, memberId: e.memberId, reason: reason(e) });
    const now = new Date();
    await insertNew(EntryHold, entries.map((e) => ({ _id: e._id, orgId: e.orgId, memberId: e.memberId, at: now })));
  }

  private employeeOf(e: TimeEntryDoc): EmployeeRef {
    const gate = this.gates.get(String(e.memberId));
    if (!gate?.ok) throw new Error(`entry ${String(e._id)} has no open gate`);
    return { qboId: gate.employee.qboId, name: gate.employee.name };
  }

  /** Takes the next unit of work for a slot; new batches are written down before they leave. */
  private async nextUnit(kind: SlotKind): Promise<Unit | null> {
    const stored = this.queue.findIndex((u) => u.kind === 'batch');
    if (kind === 'batch' && stored >= 0) return this.queue.splice(stored, 1)[0] as Unit;
    const single = this.queue.findIndex((u) => u.kind === 'single');
    if (kind === 'single' && single >= 0) return this.queue.splice(single, 1)[0] as Unit;
    if (kind === 'single') {
      const e = this.entries.shift();
      return e ? { kind: 'single', entry: e } : null;
    }
    const chosen = this.entries.splice(0, BATCH_SIZE);
    if (chosen.length === 0) return null;
    // The link may have been cut while we were sending: the mirror in Redis says so at once.
    const cut = await blockedNow(this.deps.redis, this.deps.keyPrefix, this.orgId, [...new Set(chosen.map((e) => String(e.memberId)))]);
    const stillOpen = chosen.filter((e) => !cut.has(String(e.memberId)));
    await this.block(chosen.filter((e) => cut.has(String(e.memberId))), (e) => cut.get(String(e.memberId)) as BlockReason);
    if (stillOpen.length === 0) return this.nextUnit(kind);
    const key = `${String(this.exp._id)}:${this.batchSeq++}`;
    const batch: ExportBatchDoc = { _id: key, orgId: this.exp.orgId, exportId: this.exp._id, requestId: batchRequestId(key), entryIds: stillOpen.map((e) => e._id), state: 'sending' };
    await ExportBatch.create(batch);
    return { kind: 'batch', batch };
  }

  private remaining(): number {
    return this.queue.length + this.entries.length;
  }

  async send(): Promise<void> {
    if (this.connLost || this.remaining() === 0) return;
    const lanes = Math.max(1, Math.min(this.deps.lanes, 10));
    const flusher = setInterval(() => void this.flush().catch((err: unknown) => this.log.warn({ err }, 'Export: ledger write failed; it is retried')), 200);
    try {
      await Promise.all(Array.from({ length: lanes }, () => this.lane()));
    } finally {
      clearInterval(flusher);
      await this.flush();
    }
    if (this.stop) throw this.stop;
  }

  /** Writes the buffered single creates to the ledger. */
  async flush(): Promise<void> {
    if (this.unrecorded.length === 0) return;
    const batch = this.unrecorded;
    this.unrecorded = [];
    try {
      await this.recordSent(batch);
    } catch (err) {
      this.unrecorded.unshift(...batch);
      throw err;
    }
  }

  private async lane(): Promise<void> {
    while (!this.stop && !this.connLost && this.remaining() > 0) {
      const storedBatches = this.queue.some((u) => u.kind === 'batch');
      const want: SlotKind | 'either' = storedBatches ? 'batch' : this.queue.length + this.entries.length >= 2 && this.entries.length >= 2 ? 'either' : 'single';
      const slot = await this.deps.limiter.acquire(this.conn.realmId, want, MAX_SLOT_WAIT_MS);
      if (!slot.granted) {
        this.stop ??= new RealmThrottledError(slot.waitMs);
        return;
      }
      try {
        const unit = await this.nextUnit(slot.kind);
        if (!unit) continue;
        if (unit.kind === 'batch') await this.sendBatch(unit.batch);
        else await this.sendSingle(unit.entry);
      } finally {
        await slot.release();
      }
    }
  }

  private async sendSingle(e: TimeEntryDoc): Promise<void> {
    const key = String(e._id);
    if (!this.gates.get(String(e.memberId))?.ok) return;
    const cut = await blockedNow(this.deps.redis, this.deps.keyPrefix, this.orgId, [String(e.memberId)]);
    if (cut.size > 0) return this.block([e], () => cut.get(String(e.memberId)) as BlockReason);
    const requestId = entryRequestId(key, e.revision, this.attempts.get(key) ?? 0);
    try {
      const body = await this.deps.qbo.createTimeActivity(this.ctx, timeActivityBody(e, this.employeeOf(e)), requestId);
      const id = taId(body);
      if (!id) throw new ExportTransientError('TimeActivity create answered without an Id');
      // Buffered: a crash before the flush re-sends under the same requestid, and Intuit
      // answers with this same TimeActivity.
      this.unrecorded.push({ entry: e, qboId: id, requestId });
      if (this.unrecorded.length >= BATCH_SIZE) await this.flush();
    } catch (err) {
      await this.onFailure(err, () => this.queue.unshift({ kind: 'single', entry: e }), async (c) => this.recordRefused([{ entry: e, c }]));
    }
  }

  private async sendBatch(batch: ExportBatchDoc): Promise<void> {
    const missing = batch.entryIds.filter((id) => !this.known.has(String(id)));
    if (missing.length > 0) for (const d of await TimeEntry.find({ _id: { $in: missing } }).lean<TimeEntryDoc[]>()) this.known.set(String(d._id), d);
    const docs = batch.entryIds.flatMap((id) => this.known.get(String(id)) ?? []);
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    const items = batch.entryIds.map((id, i) => ({ id: String(id), bId: String(i + 1) }));
    try {
      const answer = await this.deps.qbo.batchCreateTimeActivities(
        this.ctx,
        items.flatMap((it) => {
          const e = byId.get(it.id);
          return e ? [{ bId: it.bId, body: timeActivityBody(e, this.employeeOf(e)) }] : [];
        }),
        batch.requestId,
      );
      const responses = (answer as { BatchItemResponse?: { bId?: string; TimeActivity?: { Id?: string }; Fault?: unknown }[] } | null)?.BatchItemResponse;
      if (!Array.isArray(responses)) throw new ExportTransientError('Batch answer without BatchItemResponse');
      const byBid = new Map(responses.map((r) => [String(r.bId), r]));
      const sent: { entry: TimeEntryDoc; qboId: string; requestId: string }[] = [];
      const refused: { entry: TimeEntryDoc; c: Classified }[] = [];
      const again: TimeEntryDoc[] = [];
      for (const it of items) {
        const e = byId.get(it.id);
        if (!e) continue;
        const r = byBid.get(it.bId);
        const id = r?.TimeActivity?.Id;
        if (id) sent.push({ entry: e, qboId: String(id), requestId: batch.requestId });
        else if (r?.Fault) {
          const c = classifyItemFault(r.Fault);
          // Refused for good, or (throttled / server error for this item) not created: either
          // way nothing exists, and a later try needs a requestid of its own.
          refused.push({ entry: e, c });
          if (c.kind !== 'permanent') again.push(e);
        } else {
          // Intuit named neither a TimeActivity nor a Fault for it: whether it exists is unknown,
          // so it is reported rather than risked twice.
          refused.push({ entry: e, c: { kind: 'permanent', code: 'batch_item_missing', reason: 'The batch answer said nothing about this entry; check QuickBooks before exporting it again', status: null } });
        }
      }
      await this.recordSent(sent);
      await this.recordRefused(refused.filter((r) => r.c.kind === 'permanent'));
      await this.recordAttempts(refused.filter((r) => r.c.kind !== 'permanent'));
      await ExportBatch.updateOne({ _id: batch._id }, { $set: { state: 'done' } });
      this.entries.push(...again);
    } catch (err) {
      // The batch is written down: whatever happened, it goes again under the same requestid.
      await this.onFailure(err, () => this.queue.unshift({ kind: 'batch', batch }), async () => {
        // A refusal of the whole request (validation of the envelope): each entry alone, fresh ids.
        await ExportBatch.updateOne({ _id: batch._id }, { $set: { state: 'done' } });
        for (const e of docs) this.attempts.set(String(e._id), (this.attempts.get(String(e._id)) ?? 0) + 1);
        this.queue.push(...docs.map((entry) => ({ kind: 'single' as const, entry })));
      });
    }
  }

  private async onFailure(err: unknown, putBack: () => void, refuse: (c: Classified) => Promise<void>): Promise<void> {
    const c = classifyQboError(err);
    switch (c.kind) {
      case 'throttled':
        putBack();
        await this.deps.limiter.pause(this.conn.realmId, c.waitMs ?? 60_000);
        this.log.info({ waitMs: c.waitMs }, 'Export throttled by QuickBooks: pausing this company');
        return;
      case 'token_expired': {
        putBack();
        const fresh = await QboConnection.findById(this.conn._id).lean<QboConnectionDoc>();
        if (fresh) this.conn = fresh;
        this.token = await getAccessToken(this.deps, this.conn, this.token);
        this.ctx = { realmId: this.conn.realmId, accessToken: this.token };
        return;
      }
      case 'reauth':
        putBack();
        await markNeedsReauth(this.conn._id, c.code);
        this.connLost = true;
        return;
      case 'permanent':
        return refuse(c);
      default:
        putBack();
        if (++this.transient > MAX_TRANSIENT) this.stop ??= new ExportTransientError(`Too many transient QuickBooks failures (${c.reason})`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * this.transient)));
    }
  }

  private async recordSent(sent: { entry: TimeEntryDoc; qboId: string; requestId: string }[]): Promise<void> {
    if (sent.length === 0) return;
    const now = new Date();
    await insertNew(
      EntryExport,
      sent.map((s) => ({ _id: s.entry._id, orgId: s.entry.orgId, exportId: this.exp._id, revision: s.entry.revision, qboTimeActivityId: s.qboId, requestId: s.requestId, at: now })),
    );
    for (const s of sent) this.outcomes.exported.set(String(s.entry._id), { entryId: s.entry._id, memberId: s.entry.memberId, qboTimeActivityId: s.qboId });
  }

  /** A definite refusal: recorded once per attempt, so the next try gets a new requestid. */
  private async recordAttempts(refused: { entry: TimeEntryDoc; c: Classified }[], exportId = this.exp._id): Promise<void> {
    if (refused.length === 0) return;
    const now = new Date();
    const docs = refused.map(({ entry, c }) => {
      const n = this.attempts.get(String(entry._id)) ?? 0;
      this.attempts.set(String(entry._id), n + 1);
      return { _id: `${String(entry._id)}:${n}`, orgId: entry.orgId, entryId: entry._id, exportId, revision: entry.revision, code: c.code, message: c.reason, at: now };
    });
    await insertNew(EntryFailure, docs);
  }

  private async recordRefused(refused: { entry: TimeEntryDoc; c: Classified }[]): Promise<void> {
    await this.recordAttempts(refused);
    for (const { entry, c } of refused) this.outcomes.failed.set(String(entry._id), { entryId: entry._id, memberId: entry.memberId, code: c.code, message: c.reason });
  }

  /** After a lost authorisation: what was not sent is blocked, not failed. */
  async blockRest(): Promise<void> {
    if (!this.connLost) return;
    const rest = [...this.entries, ...this.queue.flatMap((u) => (u.kind === 'single' ? [u.entry] : []))];
    this.entries = [];
    this.queue = this.queue.filter((u) => u.kind === 'batch');
    await this.block(rest, () => 'connection_needs_reauth');
  }
}

function listsOf(o: Outcomes) {
  return {
    exported: [...o.exported.values()],
    alreadyExported: [...o.alreadyExported.values()],
    blocked: [...o.blocked.values()],
    failed: [...o.failed.values()],
  };
}

export async function runExport(deps: ExportDeps, exportId: string): Promise<ExportSummary> {
  const exp = await TimesheetExport.findById(exportId).lean<TimesheetExportDoc>();
  if (!exp) throw new Error(`Timesheet export ${exportId} does not exist`);
  if (exp.state === 'succeeded' || exp.state === 'failed') return summary(exp);
  const log = deps.logger.child({ orgId: String(exp.orgId), exportId });
  await TimesheetExport.updateOne({ _id: exp._id }, { $set: { state: 'running', startedAt: exp.startedAt ?? new Date() }, $inc: { attempts: 1 } });
  const conn = await QboConnection.findOne({ orgId: exp.orgId }).lean<QboConnectionDoc>();
  if (!conn) {
    await TimesheetExport.updateOne({ _id: exp._id }, { $set: { state: 'failed', finishedAt: new Date(), error: { code: 'qbo_not_connected', message: 'The organisation has no QuickBooks connection' } } });
    return summary({ ...exp, state: 'failed' });
  }
  const run = new Run(deps, exp, conn, log);
  const total = await run.prepare();
  try {
    await run.send();
  } finally {
    // Progress is kept even when the attempt stops here (throttled, transient): the retry
    // recomputes outcomes from the ledger and the stored batches anyway.
    await TimesheetExport.updateOne({ _id: exp._id }, { $set: { counts: countsOf(run.outcomes, total) } });
  }
  await run.blockRest();
  const counts = countsOf(run.outcomes, total);
  await TimesheetExport.updateOne({ _id: exp._id }, { $set: { state: 'succeeded', counts, ...listsOf(run.outcomes), finishedAt: new Date() } });
  recordMetrics(deps.metrics, run.outcomes);
  log.info({ counts }, 'Timesheet export finished');
  return { exportId, state: 'succeeded', counts };
}

/** Per entry, counted once when its export ends (a retried attempt recomputes, it does not add). */
function recordMetrics(metrics: Metrics | undefined, o: Outcomes): void {
  if (!metrics) return;
  const tally = new Map<string, { outcome: string; reason: string; n: number }>();
  const add = (outcome: string, reason: string) => {
    const t = tally.get(`${outcome}/${reason}`) ?? { outcome, reason, n: 0 };
    t.n++;
    tally.set(`${outcome}/${reason}`, t);
  };
  for (const b of o.blocked.values()) add('blocked', b.reason);
  for (const f of o.failed.values()) add('failed', f.code);
  if (o.exported.size > 0) tally.set('exported', { outcome: 'exported', reason: '', n: o.exported.size });
  if (o.alreadyExported.size > 0) tally.set('already', { outcome: 'already_exported', reason: '', n: o.alreadyExported.size });
  for (const t of tally.values()) metrics.inc('export_entries_total', { outcome: t.outcome, reason: t.reason }, t.n);
}

export async function failExport(exportId: string, code: string, message: string): Promise<void> {
  await TimesheetExport.updateOne({ _id: exportId, state: { $in: ['queued', 'running'] } }, { $set: { state: 'failed', finishedAt: new Date(), error: { code, message } } });
}
