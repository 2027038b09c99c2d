/**
 * The QBO sandbox as a webhook sender: builds deliveries in both of Intuit's envelopes (legacy
 * `eventNotifications` and a CloudEvents array), signs the exact bytes it sends
 * (`intuit-signature` = base64 HMAC-SHA256 with the verifier token) and POSTs them. A
 * subscription makes employee changes made through the sandbox send deliveries by themselves,
 * batched a few milliseconds like Intuit batches them.
 *
 * Written independently of src/webhooks on purpose: it plays Intuit, so a shared bug would
 * hide from the tests.
 */
import { createHmac, randomUUID } from 'node:crypto';

export type WebhookFormat = 'legacy' | 'cloudevents';

export interface WebhookEventSpec {
  realmId: string;
  /** Intuit's entity name; default `Employee`. */
  entity?: string;
  id: string;
  /** Legacy operation names: Create, Update, Delete, Merge (CloudEvents verbs are derived). */
  operation: 'Create' | 'Update' | 'Delete' | 'Merge' | (string & {});
  /** Event time; default now. */
  time?: string;
  /** CloudEvents id; default a fresh UUID (a re-sent event must reuse it). */
  eventId?: string;
}

export interface SendWebhookOptions {
  format: WebhookFormat;
  verifierToken: string;
  events: WebhookEventSpec[];
  /** Default `application/json` (legacy) or `application/cloudevents+json`. */
  contentType?: string;
  /** A body to send instead of the built one (still signed unless `signature` says otherwise). */
  body?: string | Buffer;
  /** Override the signature header: a string to send as is, null to leave the header out. */
  signature?: string | null;
  /** Change the body after signing it (e.g. re-serialize it): the signature then no longer fits. */
  afterSigning?: (body: string) => string;
}

export interface WebhookSendResult {
  status: number;
  body: string;
  /** The bytes that were sent. */
  sent: string;
  format: WebhookFormat;
  events: number;
}

export interface WebhookSubscription {
  url: string;
  verifierToken: string;
  format: WebhookFormat;
  /** How long changes are collected into one delivery, in ms (default 20). */
  batchMs?: number;
}

const VERBS: Record<string, string> = { create: 'created', update: 'updated', delete: 'deleted', merge: 'merged', void: 'voided' };

export function signWebhookBody(body: string | Buffer, verifierToken: string): string {
  return createHmac('sha256', verifierToken).update(body).digest('base64');
}

/** Intuit's legacy time format (`2015-10-05T14:42:19-0700`), here always UTC (`…+0000`). */
function legacyTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export function buildWebhookBody(format: WebhookFormat, events: WebhookEventSpec[], now = new Date()): string {
  if (format === 'cloudevents') {
    return JSON.stringify(
      events.map((e) => ({
        specversion: '1.0',
        id: e.eventId ?? randomUUID(),
        source: 'intuit.qbo-sandbox',
        type: `qbo.${(e.entity ?? 'Employee').toLowerCase()}.${VERBS[e.operation.toLowerCase()] ?? e.operation.toLowerCase()}.v1`,
        datacontenttype: 'application/json',
        time: e.time ?? now.toISOString(),
        intuitentityid: e.id,
        intuitaccountid: e.realmId,
        data: {},
      })),
    );
  }
  const byRealm = new Map<string, WebhookEventSpec[]>();
  for (const e of events) byRealm.set(e.realmId, [...(byRealm.get(e.realmId) ?? []), e]);
  return JSON.stringify({
    eventNotifications: [...byRealm].map(([realmId, list]) => ({
      realmId,
      dataChangeEvent: {
        entities: list.map((e) => ({ name: e.entity ?? 'Employee', id: e.id, operation: e.operation, lastUpdated: e.time ?? legacyTime(now) })),
      },
    })),
  });
}

export async function sendWebhook(url: string, opts: SendWebhookOptions): Promise<WebhookSendResult> {
  const built = opts.body ?? buildWebhookBody(opts.format, opts.events);
  const signature = opts.signature === undefined ? signWebhookBody(built, opts.verifierToken) : opts.signature;
  const sent = opts.afterSigning ? opts.afterSigning(built.toString()) : built;
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? (opts.format === 'cloudevents' ? 'application/cloudevents+json' : 'application/json'),
    'user-agent': 'qbo-sandbox-webhooks/1',
  };
  if (signature !== null) headers['intuit-signature'] = signature;
  const res = await fetch(url, { method: 'POST', headers, body: sent });
  return { status: res.status, body: await res.text(), sent: sent.toString(), format: opts.format, events: opts.events.length };
}

/** Collects employee changes and sends them, batched, to the subscribed URL. */
export class WebhookNotifier {
  private sub: WebhookSubscription | null = null;
  private pending: WebhookEventSpec[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<WebhookSendResult | null>>();
  readonly sent: WebhookSendResult[] = [];

  subscribe(sub: WebhookSubscription | null): void {
    this.sub = sub;
  }

  changed(e: WebhookEventSpec): void {
    if (!this.sub) return;
    this.pending.push(e);
    this.timer ??= setTimeout(() => this.send(), this.sub.batchMs ?? 20);
  }

  private send(): void {
    this.timer = null;
    const sub = this.sub;
    const events = this.pending.splice(0);
    if (!sub || events.length === 0) return;
    const p = sendWebhook(sub.url, { format: sub.format, verifierToken: sub.verifierToken, events }).then(
      (r) => {
        this.sent.push(r);
        return r;
      },
      () => null,
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Sends what is collected now and waits for every delivery under way. */
  async flush(): Promise<WebhookSendResult[]> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.send();
    }
    await Promise.all([...this.inFlight]);
    return [...this.sent];
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
    this.sub = null;
  }
}
