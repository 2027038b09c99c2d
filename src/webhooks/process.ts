import type { Redis } from 'ioredis';
import type { Queues } from '../../queues';
import type { WebhookDelivery, WebhookEvent } from '../../queues/webhooks';
import { QboConnection, type QboConnectionDoc } from '../db/models';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { requestSync } from '../sync/request';
import { SyncError } from '../sync/run-sync';
import { eventDedupeKey, groupByRealm } from './envelope';

/**
 * Turns one verified delivery into incremental syncs: events go by their own realm; only
 * Employee events count; unknown realms and unusable connections are logged and skipped;
 * each event is de-duplicated in Redis for longer than Intuit retries (SET NX EX), and every
 * realm with something new asks for one incremental sync, which src/sync/request.ts coalesces
 * with any sync already waiting for that organisation.
 */

// Intuit retries for about a day and then every 6 h; 72 h covers its whole horizon.
export const EVENT_DEDUPE_TTL_S = 72 * 3600;
export const seenKey = (prefix: string, key: string) => `${prefix}:webhook-seen:${key}`;

export interface WebhookDeps {
  redis: Redis;
  queues: Queues;
  keyPrefix: string;
  logger: Logger;
  metrics: Metrics;
}

export interface RealmOutcome {
  realmId: string;
  orgId: string | null;
  outcome: 'synced' | 'duplicate' | 'unknown_realm' | 'not_connected';
  /** Events this outcome is about (for `synced`: the new ones). */
  events: number;
  /** Events of this realm seen before (de-duplicated). */
  duplicates: number;
  syncRunId?: string;
}

export interface DeliveryOutcome {
  ignoredEntities: number;
  realms: RealmOutcome[];
}

/** Marks events seen; returns the keys that were new (the others were seen before). */
async function markFresh(deps: WebhookDeps, events: WebhookEvent[]): Promise<string[]> {
  const keys = [...new Set(events.map((e) => seenKey(deps.keyPrefix, eventDedupeKey(e))))];
  const pipe = deps.redis.pipeline();
  for (const k of keys) pipe.set(k, '1', 'EX', EVENT_DEDUPE_TTL_S, 'NX');
  const results = (await pipe.exec()) ?? [];
  const fresh: string[] = [];
  results.forEach(([err, res], i) => {
    if (err) throw err;
    if (res === 'OK') fresh.push(keys[i] as string);
  });
  return fresh;
}

async function realmOutcome(deps: WebhookDeps, realmId: string, events: WebhookEvent[], log: Logger): Promise<RealmOutcome> {
  const conn = await QboConnection.findOne({ realmId }, { orgId: 1, status: 1 }).lean<Pick<QboConnectionDoc, 'orgId' | 'status'>>();
  if (!conn) {
    log.info({ realmId, events: events.length }, 'Webhook events for a QuickBooks company no organisation has connected: ignored');
    return { realmId, orgId: null, outcome: 'unknown_realm', events: events.length, duplicates: 0 };
  }
  const orgId = String(conn.orgId);
  if (conn.status !== 'connected') {
    log.info({ realmId, orgId, status: conn.status }, 'Webhook events for a connection that is not usable: ignored');
    return { realmId, orgId, outcome: 'not_connected', events: events.length, duplicates: 0 };
  }
  const fresh = await markFresh(deps, events);
  if (fresh.length === 0) {
    log.debug({ realmId, orgId, events: events.length }, 'Webhook events already seen: ignored');
    return { realmId, orgId, outcome: 'duplicate', events: 0, duplicates: events.length };
  }
  try {
    const req = await requestSync(deps, orgId, 'webhook', 'incremental');
    log.info({ realmId, orgId, syncRunId: req.syncRunId, coalesced: req.coalesced, events: fresh.length }, 'Webhook asked for an incremental sync');
    return { realmId, orgId, outcome: 'synced', events: fresh.length, duplicates: events.length - fresh.length, syncRunId: req.syncRunId };
  } catch (err) {
    if (err instanceof SyncError && ['qbo_not_connected', 'connection_needs_reauth', 'org_not_found'].includes(err.code)) {
      log.info({ realmId, orgId, code: err.code }, 'Webhook events for an organisation that cannot sync now: ignored');
      return { realmId, orgId, outcome: 'not_connected', events: events.length, duplicates: 0 };
    }
    // Forget them again so the retry of this job asks for the sync that did not get queued.
    await deps.redis.del(...fresh);
    throw err;
  }
}

export async function processDelivery(deps: WebhookDeps, delivery: WebhookDelivery, log: Logger = deps.logger): Promise<DeliveryOutcome> {
  const employees = delivery.events.filter((e) => e.entity === 'employee');
  const ignoredEntities = delivery.events.length - employees.length;
  if (ignoredEntities > 0) {
    const entities = [...new Set(delivery.events.filter((e) => e.entity !== 'employee').map((e) => e.entity))];
    log.info({ ignored: ignoredEntities, entities }, 'Webhook events for entities other than Employee: ignored');
    deps.metrics.inc('webhook_events_total', { outcome: 'ignored_entity' }, ignoredEntities);
  }
  if (delivery.unreadable > 0) {
    log.warn({ unreadable: delivery.unreadable }, 'Webhook entries that could not be read: ignored');
    deps.metrics.inc('webhook_events_total', { outcome: 'unreadable' }, delivery.unreadable);
  }
  const realms: RealmOutcome[] = [];
  for (const [realmId, events] of groupByRealm(employees)) {
    const r = await realmOutcome(deps, realmId, events, log);
    if (r.events > 0) deps.metrics.inc('webhook_events_total', { outcome: r.outcome }, r.events);
    if (r.duplicates > 0) deps.metrics.inc('webhook_events_total', { outcome: 'duplicate' }, r.duplicates);
    realms.push(r);
  }
  return { ignoredEntities, realms };
}
