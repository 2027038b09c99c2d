// The local SMTP receiver the demo, tests and benches host: a client that vanishes in the middle
// of a message (a worker SIGKILLed mid-send) must not take the hosting process down with it.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailbox, type Mailbox } from '../../src/dev/mailbox';
import { createMailer } from '../../src/mail/mailer';

describe('the local SMTP receiver', () => {
  let mailbox: Mailbox;
  beforeAll(async () => {
    // A slow relay: the reset lands while the receiver still owes its answer to the message.
    mailbox = await startMailbox({ delayMs: 300 });
  });
  afterAll(async () => {
    await mailbox?.close();
  });

  it('survives a client reset while it owes the answer to a message, and goes on receiving', async () => {
    const socket = net.connect(mailbox.port, '127.0.0.1');
    const said: string[] = [];
    socket.on('data', (d) => said.push(d.toString()));
    socket.on('error', () => undefined);
    const waitFor = async (code: string) => {
      const deadline = Date.now() + 5000;
      while (!said.join('').includes(code)) {
        if (Date.now() > deadline) throw new Error(`no ${code} from the receiver: ${said.join('')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      said.length = 0;
    };
    await waitFor('220');
    for (const [line, code] of [
      ['EHLO test', '250'],
      ['MAIL FROM:<a@example.com>', '250'],
      ['RCPT TO:<b@example.com>', '250'],
      ['DATA', '354'],
    ] as const) {
      socket.write(`${line}\r\n`);
      await waitFor(code);
    }
    socket.write('Subject: cut short\r\n\r\nthe sender goes away before the answer\r\n.\r\n');
    await new Promise((r) => setTimeout(r, 50));
    socket.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 600));

    const mailer = createMailer({ url: mailbox.url, from: 'Test <t@example.com>', timeoutMs: 5000 });
    try {
      await mailer.send({ to: 'c@example.com', subject: 'after the reset', text: 'still here', messageId: '<after-reset@example.com>' });
    } finally {
      mailer.close();
    }
    const got = await mailbox.waitFor(2, 5000);
    expect(got.map((m) => m.subject)).toEqual(['cut short', 'after the reset']);
  });
});
