import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/webhooks/signature';
import { signWebhookBody } from '../../sandbox/webhooks';
import { fixtureText } from '../helpers/qbo-fixtures';

const TOKEN = 'verifier-token-abc';
const body = Buffer.from(fixtureText('webhook-legacy.json'));
const good = createHmac('sha256', TOKEN).update(body).digest('base64');

describe('webhook signature', () => {
  it('is base64 HMAC-SHA256 of the raw bytes with the verifier token', () => {
    expect(signWebhook(body, TOKEN)).toBe(good);
    expect(signWebhookBody(body, TOKEN)).toBe(good);
  });

  it('accepts the right signature, with surrounding white space', () => {
    expect(verifyWebhookSignature(body, good, TOKEN)).toBe('ok');
    expect(verifyWebhookSignature(body, ` ${good}\t`, TOKEN)).toBe('ok');
  });

  it('says missing when there is no header or an empty one', () => {
    expect(verifyWebhookSignature(body, undefined, TOKEN)).toBe('missing');
    expect(verifyWebhookSignature(body, '', TOKEN)).toBe('missing');
    expect(verifyWebhookSignature(body, '   ', TOKEN)).toBe('missing');
  });

  it('refuses another token, other bytes, re-serialized JSON', () => {
    expect(verifyWebhookSignature(body, signWebhook(body, 'other-token'), TOKEN)).toBe('invalid');
    expect(verifyWebhookSignature(Buffer.concat([body, Buffer.from(' ')]), good, TOKEN)).toBe('invalid');
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
    expect(verifyWebhookSignature(reserialized, good, TOKEN)).toBe('invalid');
  });

  it('refuses malformed headers without throwing', () => {
    for (const h of ['not base64!', 'abc', good.slice(0, -4), `${good}AAAA`, Buffer.from('x'.repeat(32)).toString('hex')]) {
      expect(verifyWebhookSignature(body, h, TOKEN), h).toBe('invalid');
    }
  });

  it('refuses two signature headers', () => {
    expect(verifyWebhookSignature(body, [good, good], TOKEN)).toBe('invalid');
  });

  it('signs an empty body too (it is then refused by parsing, not here)', () => {
    const empty = Buffer.alloc(0);
    expect(verifyWebhookSignature(empty, signWebhook(empty, TOKEN), TOKEN)).toBe('ok');
  });
});
