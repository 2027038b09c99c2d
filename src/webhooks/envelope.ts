import { createHash } from 'node:crypto';
import type { WebhookEvent } from '../../queues/webhooks';

/**
 * Intuit's two webhook envelopes (QBO.md "Webhooks"), read into one list of small events.
 * Pure: no I/O. Entries that cannot be read are counted, not fatal: Intuit resends a whole
 * batch on a 4xx, so one odd entry must not cost the others.
 *
 * - legacy: `{"eventNotifications":[{"realmId","dataChangeEvent":{"entities":[{"name","id","operation","lastUpdated"}]}}]}`
 * - CloudEvents: a JSON array of `{"specversion","id","type":"qbo.employee.updated.v1","time","intuitaccountid","intuitentityid"}`
 *   (a single event object is taken as a batch of one).
 */

export type EnvelopeFormat = 'legacy' | 'cloudevents';

export interface ParsedDelivery {
  format: EnvelopeFormat;
  events: WebhookEvent[];
  unreadable: number;
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  constructor(
    readonly code: 'invalid_json' | 'unrecognised_envelope',
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-empty trimmed string (numbers accepted: realm ids have been seen as numbers), else null. */
function text(v: unknown, max: number): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) v = String(v);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t !== '' && t.length <= max ? t : null;
}

/** Legacy operations mapped onto the CloudEvents verbs, so both formats read alike downstream. */
const LEGACY_OPERATIONS: Record<string, string> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  merge: 'merged',
  void: 'voided',
  emailed: 'emailed',
};

export function normalizeOperation(op: string): string {
  const lower = op.toLowerCase();
  return LEGACY_OPERATIONS[lower] ?? lower;
}

/** `qbo.employee.updated.v1` → { entity: 'employee', operation: 'updated' }; null when not that shape. */
export function parseCloudEventType(type: string): { entity: string; operation: string } | null {
  const m = /^qbo\.([a-z0-9_]+)\.([a-z0-9_]+)(?:\.v\d+)?$/i.exec(type.trim());
  if (!m) return null;
  return { entity: (m[1] as string).toLowerCase(), operation: (m[2] as string).toLowerCase() };
}

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) throw new EnvelopeError('invalid_json', 'The body is empty');
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new EnvelopeError('invalid_json', `The body is not valid JSON (${detail.slice(0, 120)})`);
  }
}

function legacyEvents(body: Obj): ParsedDelivery {
  const notifications = body.eventNotifications;
  if (!Array.isArray(notifications)) throw new EnvelopeError('unrecognised_envelope', '`eventNotifications` must be an array');
  const events: WebhookEvent[] = [];
  let unreadable = 0;
  for (const n of notifications) {
    const realmId = isObj(n) ? text(n.realmId, 64) : null;
    const entities = isObj(n) && isObj(n.dataChangeEvent) ? n.dataChangeEvent.entities : undefined;
    if (!realmId || !Array.isArray(entities)) {
      unreadable++;
      continue;
    }
    for (const e of entities) {
      const name = isObj(e) ? text(e.name, 64) : null;
      const id = isObj(e) ? text(e.id, 128) : null;
      const operation = isObj(e) ? text(e.operation, 32) : null;
      if (!isObj(e) || !name || !id || !operation) {
        unreadable++;
        continue;
      }
      events.push({
        realmId,
        entity: name.toLowerCase(),
        entityId: id,
        operation: normalizeOperation(operation),
        time: text(e.lastUpdated, 64),
        eventId: null,
      });
    }
  }
  return { format: 'legacy', events, unreadable };
}

function cloudEvents(list: unknown[]): ParsedDelivery {
  const events: WebhookEvent[] = [];
  let unreadable = 0;
  for (const e of list) {
    const type = isObj(e) ? text(e.type, 128) : null;
    const parsed = type ? parseCloudEventType(type) : null;
    const realmId = isObj(e) ? text(e.intuitaccountid, 64) : null;
    const eventId = isObj(e) ? text(e.id, 256) : null;
    if (!isObj(e) || !parsed || !realmId || !eventId) {
      unreadable++;
      continue;
    }
    events.push({
      realmId,
      entity: parsed.entity,
      entityId: text(e.intuitentityid, 128) ?? '',
      operation: parsed.operation,
      time: text(e.time, 64),
      eventId,
    });
  }
  return { format: 'cloudevents', events, unreadable };
}

/** Either envelope → events. Throws EnvelopeError('unrecognised_envelope') for any other JSON. */
export function parseEnvelope(body: unknown): ParsedDelivery {
  if (Array.isArray(body)) return cloudEvents(body);
  if (isObj(body) && 'eventNotifications' in body) return legacyEvents(body);
  if (isObj(body) && 'specversion' in body) return cloudEvents([body]);
  throw new EnvelopeError(
    'unrecognised_envelope',
    'Expected a CloudEvents array or an object with `eventNotifications` (QuickBooks webhook formats)',
  );
}

/**
 * The key an event is de-duplicated on: CloudEvents carry an `id`; legacy events are the same
 * event when realm, entity, id, operation and lastUpdated all agree. Hashed to bound key size.
 */
export function eventDedupeKey(e: WebhookEvent): string {
  const basis = e.eventId !== null ? `ce\n${e.eventId}` : `lg\n${e.realmId}\n${e.entity}\n${e.entityId}\n${e.operation}\n${e.time ?? ''}`;
  return createHash('sha256').update(basis).digest('base64url');
}

/** Events by their own realm, in first-seen order (one delivery can carry several companies). */
export function groupByRealm(events: readonly WebhookEvent[]): Map<string, WebhookEvent[]> {
  const out = new Map<string, WebhookEvent[]>();
  for (const e of events) {
    const list = out.get(e.realmId);
    if (list) list.push(e);
    else out.set(e.realmId, [e]);
  }
  return out;
}
