import { describe, expect, it } from 'vitest';
import { classifySmtpError } from '../../src/mail/classify';
import { acceptLink, invitationMessageId, invitationText } from '../../src/invites/message';

const err = (props: Record<string, unknown>, message = 'boom') => Object.assign(new Error(message), props);

describe('classifySmtpError', () => {
  it('a 5xx answer (address rejected) is final: the member is told failed, never retried', () => {
    const c = classifySmtpError(err({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 Recipient address rejected', command: 'RCPT TO' }));
    expect(c.kind).toBe('rejected');
    expect(c.reason).toMatch(/^SMTP 550: 550 5\.1\.1/);
  });
  it('a 4xx answer is temporary: retried', () => {
    expect(classifySmtpError(err({ code: 'EENVELOPE', responseCode: 451, response: '451 try later' })).kind).toBe('retry');
    expect(classifySmtpError(err({ response: '421 Service not available' })).kind).toBe('retry');
  });
  it('a server that is not there is retried: nothing was sent', () => {
    expect(classifySmtpError(err({ code: 'ESOCKET', errno: 'ECONNREFUSED', command: 'CONN' }, 'connect ECONNREFUSED 127.0.0.1:2525')).kind).toBe('retry');
    expect(classifySmtpError(err({ code: 'EDNS' })).kind).toBe('retry');
    expect(classifySmtpError(err({ code: 'ESOCKET', cause: { code: 'ECONNREFUSED' } })).kind).toBe('retry');
    expect(classifySmtpError(err({ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' })).kind).toBe('retry');
    expect(classifySmtpError(err({ code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT' })).kind).toBe('retry');
  });
  it('a connection that broke mid-conversation may have delivered: unknown, never retried', () => {
    expect(classifySmtpError(err({ code: 'ECONNECTION', command: 'CONN' }, 'Connection closed unexpectedly')).kind).toBe('unknown');
    expect(classifySmtpError(err({ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT' })).kind).toBe('unknown');
    expect(classifySmtpError(new Error('something odd')).kind).toBe('unknown');
    expect(classifySmtpError('not even an error').kind).toBe('unknown');
  });
  it('what nodemailer refuses itself (bad address, empty message) is final', () => {
    expect(classifySmtpError(err({ code: 'EENVELOPE' }, 'Invalid recipient')).kind).toBe('rejected');
    expect(classifySmtpError(err({ code: 'EMESSAGE' }, 'Empty message')).kind).toBe('rejected');
  });
});

describe('invitation message', () => {
  it('carries a personal accept link and a stable Message-ID', () => {
    const link = acceptLink('https://app.example/invitations/accept?src=mail', 'tok_123');
    expect(link).toBe('https://app.example/invitations/accept?src=mail&token=tok_123');
    const m = invitationText('Grace Holloway', 'Harbor & Pine', link);
    expect(m.subject).toBe('Harbor & Pine invited you to track time');
    expect(m.text).toContain('Hello Grace Holloway,');
    expect(m.text).toContain(link);
    expect(invitationMessageId('0123456789abcdef01234567', 'Harbor <invites@harbor.example>')).toBe('<invite.0123456789abcdef01234567@harbor.example>');
    expect(invitationMessageId('0123456789abcdef01234567', 'no-address')).toBe('<invite.0123456789abcdef01234567@qbo-member-sync.invalid>');
  });
});
