import { Worker } from 'bullmq';
import { QUEUE } from '../queues';
import { Types } from 'mongoose';
import { ensureSyncSchedule, listSyncSchedules, orgOfScheduler, removeSyncSchedule } from '../queues/schedules';
import { Organization, QboConnection, type OrganizationDoc } from '../src/db/models';
import { backoffMs } from '../src/qbo/classify';
import type { Runtime } from '../src/runtime';
import { observeWorker } from './observe';
import { createSyncProcessor } from './sync.worker';
import { RealmLimiter } from '../src/qbo/limiter';
import { createExportProcessor } from './export.worker';
import { createImportProcessor } from './import.worker';
import { createInviteProcessor } from './invites.worker';
import { createLinkProcessor } from './links.worker';
import { createMemberEventProcessor } from './member-events.worker';
import { createWebhookProcessor } from './webhooks.worker';

export interface WorkerOptions {
  /** BullMQ job lock; a killed worker's job is picked up again after about this long. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface Workers {
  workers: Worker[];
  close(): Promise<void>;
}

/** Starts a worker for every queue this build processes. `close()` drains: active jobs finish first. */
export function startWorkers(rt: Runtime, opts: WorkerOptions = {}): Workers {
  const { config } = rt;
  const common = {
    connection: rt.redis,
    prefix: config.QUEUE_PREFIX,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: 5,
  };
  const sync = new Worker(
    QUEUE.sync,
    createSyncProcessor({
      redis: rt.redis,
      queues: rt.queues,
      qbo: rt.qbo,
      tokenKey: config.tokenKey,
      logger: rt.logger.child({ queue: QUEUE.sync }),
      keyPrefix: config.QUEUE_PREFIX,
      pageSize: config.QBO_PAGE_SIZE,
      lockTtlMs: config.SYNC_LOCK_TTL_MS,
      metrics: rt.metrics,
    }),
    {
      ...common,
      concurrency: config.SYNC_CONCURRENCY,
      settings: { backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade, { baseMs: 2000, capMs: 5 * 60_000 }) },
    },
  );
  const webhooks = new Worker(
    QUEUE.webhooks,
    createWebhookProcessor({
      redis: rt.redis,
      queues: rt.queues,
      keyPrefix: config.QUEUE_PREFIX,
      logger: rt.logger.child({ queue: QUEUE.webhooks }),
      metrics: rt.metrics,
    }),
    // Each delivery is a few Redis and Mongo round trips; several at once keep bursts short.
    { ...common, concurrency: 4 },
  );
  const leaseDeps = { redis: rt.redis, keyPrefix: config.QUEUE_PREFIX, lockTtlMs: config.SYNC_LOCK_TTL_MS };
  const memberEvents = new Worker(
    QUEUE.memberEvents,
    createMemberEventProcessor({ queues: rt.queues, redis: rt.redis, keyPrefix: config.QUEUE_PREFIX, logger: rt.logger.child({ queue: QUEUE.memberEvents }) }),
    // A sync queues thousands of events at once; detections running together share their
    // database round trips (createDetectionRecorder), so more at once means fewer, larger writes.
    { ...common, concurrency: 64 },
  );
  const memberImport = new Worker(
    QUEUE.memberImport,
    createImportProcessor({ ...leaseDeps, queues: rt.queues, logger: rt.logger.child({ queue: QUEUE.memberImport }), inviteAttempts: config.INVITE_ATTEMPTS }),
    { ...common, concurrency: 2 },
  );
  const memberInvites = new Worker(
    QUEUE.memberInvites,
    createInviteProcessor({
      queues: rt.queues,
      attempts: config.INVITE_ATTEMPTS,
      backoffBaseMs: config.INVITE_BACKOFF_MS,
      concurrency: config.INVITE_CONCURRENCY,
      redis: rt.redis,
      keyPrefix: config.QUEUE_PREFIX,
      mailer: rt.mailer,
      logger: rt.logger.child({ queue: QUEUE.memberInvites }),
      from: config.MAIL_FROM,
      acceptUrl: config.INVITE_ACCEPT_URL,
      // Longer than one send can last: each SMTP step is bounded by SMTP_TIMEOUT_MS.
      staleClaimMs: config.SMTP_TIMEOUT_MS * 3 + 5_000,
    }),
    {
      ...common,
      // Batches send INVITE_CONCURRENCY at once each; a few jobs in parallel cover the retries.
      concurrency: 4,
      settings: { backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade, { baseMs: config.INVITE_BACKOFF_MS, capMs: 30 * 60_000 }) },
    },
  );
  const memberLinks = new Worker(
    QUEUE.memberLinks,
    createLinkProcessor({ ...leaseDeps, queues: rt.queues, qbo: rt.qbo, tokenKey: config.tokenKey, logger: rt.logger.child({ queue: QUEUE.memberLinks }) }),
    { ...common, concurrency: 4 },
  );
  const limiter = new RealmLimiter(rt.redis, config.QUEUE_PREFIX, {
    windowMs: config.QBO_RATE_WINDOW_MS,
    perWindow: config.QBO_RATE_PER_WINDOW,
    batchPerWindow: config.QBO_BATCH_PER_WINDOW,
    maxInFlight: config.QBO_MAX_IN_FLIGHT,
    leaseMs: config.QBO_HTTP_TIMEOUT_MS + 5_000,
  });
  const timesheetExport = new Worker(
    QUEUE.timesheetExport,
    createExportProcessor({
      ...leaseDeps,
      qbo: rt.qbo,
      tokenKey: config.tokenKey,
      logger: rt.logger.child({ queue: QUEUE.timesheetExport }),
      limiter,
      freshMs: config.EXPORT_ACTIVE_FRESH_MS,
      lanes: config.QBO_MAX_IN_FLIGHT,
      metrics: rt.metrics,
    }),
    { ...common, concurrency: config.EXPORT_CONCURRENCY },
  );
  const workers = [sync, webhooks, memberEvents, memberImport, memberInvites, memberLinks, timesheetExport];
  for (const w of workers) observeWorker(w, rt.logger, rt.metrics);
  let closing: Promise<void> | null = null;
  return {
    workers,
    close() {
      closing ??= Promise.all(workers.map((w) => w.close())).then(() => undefined);
      return closing;
    },
  };
}

/** One scheduler per connected organisation; safe to run on every start of every process. */
export async function reconcileSchedules(rt: Runtime): Promise<number> {
  const interval = (o: Pick<OrganizationDoc, 'settings'>) => o.settings.syncIntervalMinutes ?? rt.config.SYNC_DEFAULT_INTERVAL_MINUTES;
  const conns = await QboConnection.find({ status: 'connected' }, { orgId: 1 }).lean<{ orgId: unknown }[]>();
  const orgs = await Organization.find({ _id: { $in: conns.map((c) => c.orgId) } }, { settings: 1 }).lean<OrganizationDoc[]>();
  for (const org of orgs) await ensureSyncSchedule(rt.queues, String(org._id), interval(org));
  // And none for an organisation that is not connected (a disconnect that raced this, or one
  // cut short by a Redis outage after its connection was already marked disconnected). Each is
  // checked again before it goes, and after: a connection completed meanwhile gets it back.
  const wanted = new Set(orgs.map((o) => String(o._id)));
  const connected = async (orgId: string) => Types.ObjectId.isValid(orgId) && (await QboConnection.exists({ orgId: new Types.ObjectId(orgId), status: 'connected' })) !== null;
  for (const s of await listSyncSchedules(rt.queues)) {
    const orgId = orgOfScheduler(s.id);
    if (orgId === null || wanted.has(orgId) || (await connected(orgId))) continue;
    await removeSyncSchedule(rt.queues, orgId);
    if (!(await connected(orgId))) continue;
    const org = await Organization.findById(orgId, { settings: 1 }).lean<OrganizationDoc>();
    if (org) await ensureSyncSchedule(rt.queues, orgId, interval(org));
  }
  return orgs.length;
}

