/**
 * What a failed SMTP send means for an invitation. Pure. The one question that matters: could
 * the message have reached the server anyway? Only a failure that certainly happened before the
 * server took the message may be retried, because an invitation must never go out twice.
 */
export type SmtpFailureKind = 'retry' | 'rejected' | 'unknown';

export interface SmtpFailure {
  kind: SmtpFailureKind;
  reason: string;
}

// Errors of the socket that mean "never connected": nothing was sent.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EDNS', 'ETLS', 'EAUTH', 'ENOAUTH', 'EPROXY']);
// nodemailer timeouts that end a conversation before any message byte was sent.
const SETUP_TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT']);

interface SmtpErrorLike {
  code?: unknown;
  errno?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  timeoutType?: unknown;
  message?: unknown;
  cause?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike;
  const message = str(e.message) || String(err);
  const code = typeof e.responseCode === 'number' ? e.responseCode : Number(/^\d{3}/.exec(str(e.response))?.[0] ?? NaN);
  if (Number.isFinite(code) && code >= 400) {
    // The server answered and refused: the message was not taken, whatever the phase.
    const reply = (str(e.response) || message).slice(0, 300);
    return code >= 500 ? { kind: 'rejected', reason: `SMTP ${code}: ${reply}` } : { kind: 'retry', reason: `SMTP ${code} (temporary): ${reply}` };
  }
  const cause = (typeof e.cause === 'object' && e.cause !== null ? e.cause : {}) as SmtpErrorLike;
  const codes = [str(e.code), str(e.errno), str(cause.code), str(cause.errno)];
  if (codes.some((c) => NOT_CONNECTED.has(c)) || /ECONNREFUSED|ENOTFOUND/.test(message)) {
    return { kind: 'retry', reason: `SMTP server unreachable: ${message.slice(0, 200)}` };
  }
  if (SETUP_TIMEOUTS.has(str(e.timeoutType))) return { kind: 'retry', reason: `SMTP server did not answer: ${message.slice(0, 200)}` };
  if (str(e.code) === 'EENVELOPE' || str(e.code) === 'EMESSAGE' || str(e.code) === 'ECONFIG') {
    // Refused by nodemailer itself (bad address, empty message): nothing was sent, and never will be.
    return { kind: 'rejected', reason: message.slice(0, 300) };
  }
  // The connection broke or timed out mid-conversation: the server may already hold the message.
  return { kind: 'unknown', reason: `delivery_unknown: ${message.slice(0, 200)}` };
}
