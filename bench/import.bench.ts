/**
 * `npm run bench:import [-- --size 1000]`: an import of N QBO employees with invitations, end
 * to end: request → `member-import` worker (plan, seats, members, links) → `member-invites`
 * worker → nodemailer → a real SMTP receiver on loopback (src/dev/mailbox.ts).
 *
 * Measured from requestImport() until every member exists and every message was accepted by
 * the receiver. Beside it, in the same run: the same member documents written with one
 * insertMany into a fresh collection and nothing else.
 *
 * Services come from startServices() (REDIS_URL + MONGO_URL if both set, else Docker, else
 * local redis-server + FerretDB in a temp dir). Workers run in this process with the product's
 * default concurrency. Prints a table and writes bench/results/import-<date>.json. The target
 * (under 30 s for 1,000) is printed, not asserted.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { Import, Member, type ImportDoc } from '../src/db/models';
import { startMailbox } from '../src/dev/mailbox';
import { createOrganization } from '../src/directory/organizations';
import { listImportCandidates } from '../src/imports/candidates';
import { requestImport } from '../src/imports/request';
import { baseDeps } from '../src/runtime';
import { generateCompany } from '../sandbox/server';
import { out, runBench, startBenchApp } from './harness';

const TARGET_MS = 30_000;
const REALM = '9130357766439001';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '1000' } } });
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 1) throw new Error('--size must be a whole number of employees');

  const mailbox = await startMailbox();
  const app = await startBenchApp('import', { env: () => ({ SMTP_URL: mailbox.url, MAIL_FROM: 'Bench <bench@bench.example>' }) });
  if (!app) return 1;
  const { rt, sandbox, services, config } = app;
  try {
    // Every employee active and with an address: each one gets an invitation.
    sandbox.loadCompany(REALM, generateCompany(size, { inactiveEvery: 0, noEmailEvery: 0, seed: 5 }));
    const org = await createOrganization({ name: 'Bench', plan: 'paid', seatLimit: size });
    await app.connect(String(org._id), REALM);
    const ids = (await listImportCandidates(String(org._id))).map((c) => c.qboId);
    if (ids.length !== size) throw new Error(`expected ${size} candidates, found ${ids.length}`);

    out(`Import of ${size} employees with invitations (${services.how} services, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)})…`);
    const t0 = performance.now();
    const req = await requestImport(baseDeps(rt), String(org._id), { employeeIds: ids, sendInvites: true });
    let membersAt = 0;
    let importDoneAt = 0;
    let mailsAt = 0;
    for (;;) {
      const now = performance.now() - t0;
      if (!membersAt && (await Member.countDocuments({ orgId: org._id })) >= size) membersAt = now;
      if (!importDoneAt) {
        const imp = await Import.findById(req.importId, { state: 1 }).lean<Pick<ImportDoc, 'state'>>();
        if (imp && imp.state !== 'queued' && imp.state !== 'running') {
          if (imp.state !== 'succeeded') throw new Error(`import ended ${imp.state}`);
          importDoneAt = now;
        }
      }
      if (!mailsAt && mailbox.messages.length >= size) mailsAt = now;
      if (membersAt && mailsAt && importDoneAt) break;
      if (now > 600_000) throw new Error(`timed out: ${mailbox.messages.length} messages after 10 minutes`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const total = Math.max(membersAt, mailsAt);
    const recipients = new Set(mailbox.messages.flatMap((m) => m.to));

    // Baseline, same run: the same member documents with one insertMany into a fresh collection.
    const docs = await Member.find({ orgId: org._id }).lean();
    const baseline = mongoose.connection.db!.collection(`baseline_members_${randomBytes(3).toString('hex')}`);
    const b0 = performance.now();
    await baseline.insertMany(docs, { ordered: false });
    const baselineMs = performance.now() - b0;

    const rows: [string, string][] = [
      ['all members exist', `${(membersAt / 1000).toFixed(2)} s`],
      ['all links written (import succeeded)', `${(importDoneAt / 1000).toFixed(2)} s`],
      [`all ${size} messages accepted by the SMTP receiver`, `${(mailsAt / 1000).toFixed(2)} s (${recipients.size} distinct recipients)`],
      ['members + messages (the figure)', `${(total / 1000).toFixed(2)} s — target < ${TARGET_MS / 1000} s ${total < TARGET_MS ? '✓' : '✗'}`],
      ['baseline: the same member inserts as one insertMany', `${(baselineMs / 1000).toFixed(3)} s`],
      ['invitations per second', `${((size / mailsAt) * 1000).toFixed(0)}`],
    ];
    for (const [k, v] of rows) out(`  ${k.padEnd(52)} ${v}`);
    const result = {
      bench: 'import',
      date: new Date().toISOString(),
      size,
      services: services.how,
      cores: os.cpus().length,
      loadAverage1m: os.loadavg()[0],
      inviteConcurrency: config.INVITE_CONCURRENCY,
      ms: { members: Math.round(membersAt), importSucceeded: Math.round(importDoneAt), messages: Math.round(mailsAt), total: Math.round(total), baselineInsertMany: Math.round(baselineMs) },
      distinctRecipients: recipients.size,
      targetMs: TARGET_MS,
    };
    out(`\nWritten to ${app.writeResult('import', result)}`);
    return 0;
  } finally {
    await app.close();
    await mailbox.close();
  }
}

runBench('import', main);
