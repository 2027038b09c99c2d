import { UnrecoverableError, type Job } from 'bullmq';
import { ZodError } from 'zod';
import { webhookDeliverySchema } from '../queues/webhooks';
import { processDelivery, type DeliveryOutcome, type WebhookDeps } from '../src/webhooks/process';

/**
 * Processor of the `qbo-webhooks` queue. Thin: validate the stored delivery, hand it to
 * src/webhooks/process.ts (split per realm, ignore what is not ours, de-duplicate, request
 * coalesced incremental syncs). Failures other than a bad payload retry with backoff.
 */
export function createWebhookProcessor(deps: WebhookDeps) {
  return async function process(job: Job<unknown, unknown, string>): Promise<DeliveryOutcome> {
    const log = deps.logger.child({ jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 });
    if (job.name !== 'delivery') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the webhooks queue`);
    let delivery;
    try {
      delivery = webhookDeliverySchema.parse(job.data);
    } catch (err) {
      if (err instanceof ZodError) throw new UnrecoverableError(`Invalid job payload: ${err.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
      throw err;
    }
    return processDelivery(deps, delivery, log);
  };
}
