import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Intuit's webhook signature (QBO.md "Webhooks"): header `intuit-signature` =
 * base64(HMAC-SHA256(raw body bytes, verifier token)). Checked over the bytes as received,
 * before anything parses them, with a constant-time comparison.
 */

export const SIGNATURE_HEADER = 'intuit-signature';

export function signWebhook(rawBody: Buffer | string, verifierToken: string): string {
  return createHmac('sha256', verifierToken).update(rawBody).digest('base64');
}

export type SignatureCheck = 'ok' | 'missing' | 'invalid';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function verifyWebhookSignature(rawBody: Buffer, header: string | string[] | undefined, verifierToken: string): SignatureCheck {
  if (header === undefined) return 'missing';
  // Two signature headers are not a signature.
  if (Array.isArray(header)) return 'invalid';
  const given = header.trim();
  if (given === '') return 'missing';
  if (!BASE64.test(given)) return 'invalid';
  const expected = createHmac('sha256', verifierToken).update(rawBody).digest();
  const actual = Buffer.from(given, 'base64');
  // The length of a SHA-256 digest is public; only equal-length buffers reach timingSafeEqual.
  if (actual.length !== expected.length) return 'invalid';
  return timingSafeEqual(actual, expected) ? 'ok' : 'invalid';
}
