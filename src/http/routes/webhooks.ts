import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { deliveryJobId, WEBHOOK_JOB_OPTIONS, type WebhookDelivery } from '../../../queues/webhooks';
import { withDeadline } from '../../qbo/client';
import { EnvelopeError, parseEnvelope, parseJsonBody } from '../../webhooks/envelope';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../webhooks/signature';
import { ApiError } from '../errors';
import type { ApiContext } from '../route';

/**
 * POST /webhooks/quickbooks. The body is read as raw bytes (never parsed by Fastify), the
 * signature is checked over exactly those bytes before anything else, and a verified delivery
 * is stored by adding ONE job to `qbo-webhooks` under an id derived from the body's hash (an
 * identical re-send is the same job). Only then does Intuit get its 200; the worker does the
 * rest. No bearer key: the signature is the credential.
 */

export const WEBHOOK_PATH = '/webhooks/quickbooks';
export const WEBHOOK_CONTENT_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];
// Intuit gives up after 3 s; answer 503 well before if Redis does not take the job.
const ENQUEUE_DEADLINE_MS = 2000;

/** The webhook_deliveries_total outcome of a refused delivery. */
export function webhookOutcomeOf(e: ApiError): string {
  return e.code;
}

export async function registerWebhooks(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { rt, config } = ctx;
  await app.register(async (scope) => {
    // In this scope only: JSON bodies stay bytes, so the signature covers what Intuit signed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(WEBHOOK_CONTENT_TYPES, { parseAs: 'buffer', bodyLimit: config.API_BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));

    scope.post(WEBHOOK_PATH, async (request: FastifyRequest, reply: FastifyReply) => {
      const verifier = config.QBO_WEBHOOK_VERIFIER_TOKEN;
      if (!verifier) throw new ApiError(503, 'webhooks_not_configured', 'QBO_WEBHOOK_VERIFIER_TOKEN is not set: webhooks are not accepted');
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const check = verifyWebhookSignature(raw, request.headers[SIGNATURE_HEADER], verifier);
      if (check === 'missing') throw new ApiError(401, 'signature_missing', `The ${SIGNATURE_HEADER} header is missing`);
      if (check === 'invalid') throw new ApiError(401, 'signature_invalid', `The ${SIGNATURE_HEADER} header does not match the body`);

      let parsed;
      try {
        parsed = parseEnvelope(parseJsonBody(raw));
      } catch (err) {
        if (err instanceof EnvelopeError) throw new ApiError(400, err.code, err.message);
        throw err;
      }
      const delivery: WebhookDelivery = { format: parsed.format, receivedAt: new Date().toISOString(), events: parsed.events, unreadable: parsed.unreadable };
      const jobId = deliveryJobId(raw);
      try {
        await withDeadline(ENQUEUE_DEADLINE_MS, 'webhook enqueue', () => rt.queues.webhooks.add('delivery', delivery, { ...WEBHOOK_JOB_OPTIONS, jobId }));
      } catch (err) {
        request.log.warn({ reqId: request.id, err }, 'Webhook delivery could not be queued');
        throw new ApiError(503, 'queue_unavailable', 'The delivery could not be stored; send it again later', {}, { 'Retry-After': '10' });
      }
      rt.metrics.inc('webhook_deliveries_total', { outcome: 'accepted' });
      return reply.code(200).send({ accepted: true, events: parsed.events.length, deliveryId: jobId });
    });
  });
}
