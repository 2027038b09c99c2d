import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Jobs of the `qbo-webhooks` queue: one verified delivery from Intuit, reduced to what routing
 * needs (realm, entity, id, operation, time, event id). Never tokens, names or e-mails.
 */

export const webhookEventSchema = z.object({
  realmId: z.string().min(1).max(64),
  // Lower-case entity name: `employee`, `customer`, `timeactivity` …
  entity: z.string().min(1).max(64),
  entityId: z.string().max(128),
  // CloudEvents verbs (`created | updated | deleted | merged` …); legacy operations mapped onto them.
  operation: z.string().min(1).max(32),
  // Event time as Intuit wrote it (CloudEvents `time`, legacy `lastUpdated`); null when absent.
  time: z.string().max(64).nullable(),
  // CloudEvents `id`; null for legacy events (they are de-duplicated on their other fields).
  eventId: z.string().max(256).nullable(),
});

export const webhookDeliverySchema = z.object({
  format: z.enum(['legacy', 'cloudevents']),
  receivedAt: z.string(),
  events: z.array(webhookEventSchema).max(10_000),
  // Entries of the envelope that could not be read at all (kept as a count for the log).
  unreadable: z.number().int().min(0).default(0),
});

export type WebhookEvent = z.infer<typeof webhookEventSchema>;
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export interface WebhookJobs {
  delivery: WebhookDelivery;
}

// Kept past Intuit's retry horizon for identical re-sends (72 h), so the same bytes are one job.
export const DELIVERY_RETENTION_S = 72 * 3600;

export const WEBHOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: DELIVERY_RETENTION_S },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Deterministic: an identical re-sent delivery (same bytes) maps to the same job. */
export const deliveryJobId = (rawBody: Buffer | string) => `delivery-${createHash('sha256').update(rawBody).digest('hex')}`;
