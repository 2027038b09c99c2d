/**
 * A real SMTP receiver on loopback (npm smtp-server) for tests, the demo and benchmarks: it
 * accepts mail like a relay would, keeps every delivered message, and can be told to refuse
 * some recipients for good (550) or to stop and start again on the same port (server down).
 * Dev tooling only: production code never imports this file.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface DeliveredMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
  at: number;
}

export interface Mailbox {
  url: string;
  port: number;
  messages: DeliveredMail[];
  /** Addresses (lower case) answered with 550 at RCPT TO. */
  rejectRecipients: Set<string>;
  /** Resolves once at least `n` messages arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<DeliveredMail[]>;
  /** Stops listening (connections refused) until start() is called again. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startMailbox(opts: { port?: number; host?: string; /** Each message is acknowledged this late (a slow relay). */ delayMs?: number } = {}): Promise<Mailbox> {
  const host = opts.host ?? '127.0.0.1';
  const messages: DeliveredMail[] = [];
  const rejectRecipients = new Set<string>();
  const waiters = new Set<() => void>();
  let server: SMTPServer | null = null;
  let port = opts.port ?? 0;

  const make = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      size: 10 * 1024 * 1024,
      onRcptTo(address, _session, cb) {
        if (rejectRecipients.has(address.address.toLowerCase())) {
          const err = new Error('5.1.1 Recipient address rejected: mailbox unavailable') as Error & { responseCode: number };
          err.responseCode = 550;
          return cb(err);
        }
        cb();
      },
      onData(stream, session, cb) {
        simpleParser(stream).then(
          (parsed) => {
            messages.push({
              from: typeof session.envelope.mailFrom === 'object' && session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              messageId: parsed.messageId ?? '',
              at: Date.now(),
            });
            const ack = () => {
              for (const w of waiters) w();
              cb();
            };
            if (opts.delayMs) setTimeout(ack, opts.delayMs);
            else ack();
          },
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
        );
      },
    });

  const start = async () => {
    if (server) return;
    const s = make();
    // A client that vanishes mid-message (a SIGKILLed worker) is that connection's problem, not
    // the host process's: without a listener the 'error' event would end it.
    s.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const net = s.listen(port, host, () => resolve());
      net.once('error', reject);
    });
    port = (s.server.address() as AddressInfo).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    // Drop connections at once: a stopped server must look like one that went away.
    for (const c of (s as unknown as { connections?: Set<{ close(): void }> }).connections ?? []) c.close();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await start();
  return {
    get url() {
      return `smtp://${host}:${port}`;
    },
    get port() {
      return port;
    },
    messages,
    rejectRecipients,
    waitFor(n, timeoutMs = 30_000) {
      if (messages.length >= n) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(messages);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`mailbox: ${messages.length} of ${n} messages arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    stop,
    start,
    close: stop,
  };
}
