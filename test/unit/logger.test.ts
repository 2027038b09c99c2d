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

});
