import { createTransport } from 'nodemailer';

/**
 * The one SMTP client (nodemailer, pooled), built once per process and passed in. Every step
 * has a deadline, so a silent server fails a send instead of holding a job forever.
 */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string; response: string }>;
  close(): void;
}

export interface MailerOptions {
  url: string;
  from: string;
  timeoutMs: number;
  maxConnections?: number;
}

export function createMailer(opts: MailerOptions): Mailer {
  const u = new URL(opts.url);
  const transport = createTransport({
    host: u.hostname,
    port: Number(u.port) || (u.protocol === 'smtps:' ? 465 : 25),
    secure: u.protocol === 'smtps:',
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    maxMessages: 500,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    // A local relay (or our test receiver) offers no certificate worth checking on loopback.
    tls: u.hostname === '127.0.0.1' || u.hostname === 'localhost' ? { rejectUnauthorized: false } : undefined,
  });
  return {
    async send(mail) {
      const info = await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text, messageId: mail.messageId });
      return { messageId: String(info.messageId ?? mail.messageId), response: String(info.response ?? '') };
    },
    close() {
      transport.close();
    },
  };
}
