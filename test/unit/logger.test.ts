import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrub } from '../../src/logger';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('logger redaction', () => {
  it('never writes tokens, authorization headers or e-mail addresses', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', {}, stream);
    log.info(
      {
        accessToken: 'eyJ.secret.access',
        refresh_token: 'AB11secretrefresh',
        headers: { authorization: 'Bearer eyJ.secret.header' },
        member: { email: 'emily@example.com' },
      },
      'tokens stored',
    );
    log.warn({ err: new Error('QBO refused Bearer eyJ.secret.err for emily@example.com') }, 'failed');
    const out = lines.join('');
    for (const secret of ['eyJ.secret.access', 'AB11secretrefresh', 'eyJ.secret.header', 'eyJ.secret.err', 'emily@example.com']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
    expect(out).toContain('tokens stored');
  });

  it('scrubs free text', () => {
    expect(scrub('mail a.b+c@x.example.org with Bearer abc.def')).toBe('mail [email] with Bearer [redacted]');
  });


  it('never writes the API secrets, organisation keys, Basic credentials or OAuth codes', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', {}, stream);
    const orgKey = `qmsk_0123456789abcdef.${'S'.repeat(43)}`;
    log.info(
      {
        config: {
          ADMIN_API_KEY: 'admin-secret-value-123456',
          OAUTH_STATE_SECRET: 'state-secret-value-123456789012345',
          QBO_WEBHOOK_VERIFIER_TOKEN: 'verifier-secret-value',
          BULL_BOARD_PASSWORD: 'board-secret-value',
          API_KEY_PEPPER: 'pepper-secret-value',
          TOKEN_ENCRYPTION_KEY: 'tokenkey-secret-value',
          QBO_CLIENT_SECRET: 'client-secret-value',
        },
        apiKey: orgKey,
        req: { headers: { authorization: 'Basic b3BzOmJvYXJkLXNlY3JldC12YWx1ZQ==', 'intuit-signature': 'sig-secret-value' } },
      },
      'started',
    );
    log.warn({ err: new Error(`refused ${orgKey} on /qbo/callback?code=AB11codesecret&state=v1.statesecret&realmId=1`) }, 'failed');
    const out = lines.join('');
    for (const secret of [
      'admin-secret-value',
      'state-secret-value',
      'verifier-secret-value',
      'board-secret-value',
      'pepper-secret-value',
      'tokenkey-secret-value',
      'client-secret-value',
      'S'.repeat(43),
      'b3BzOmJvYXJkLXNlY3JldC12YWx1ZQ',
      'sig-secret-value',
      'AB11codesecret',
      'statesecret',
    ]) {
      expect(out, secret).not.toContain(secret);
    }
    expect(out).toContain('realmId=1');
  });
});
