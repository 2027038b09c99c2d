/**
 * `npm run demo`: the main job end to end on a built-in default, no QuickBooks account needed.
 * Starts Redis and a MongoDB-wire server (REDIS_URL/MONGO_URL if set, else Docker, else local
 * redis-server + ferretdb), the QBO sandbox with the demo company, the workers; creates an
 * organisation with a few members, connects it through the sandbox's OAuth, runs the first
 * sync through the queue and prints the members tab with statuses, reasons and the admin message;
 * then imports the candidates with invitations (scripts/demo-import.ts), exports a week of time
 * through the gate (scripts/demo-export.ts), and ends with the HTTP API, Bull Board and a
 * webhook (scripts/demo-api.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import { printMembersTab, printSyncRun } from '../src/cli/print';
import { loadConfig } from '../src/config';
import { addMember } from '../src/directory/members';
import { membersTab } from '../src/directory/members-tab';
import { createOrganization } from '../src/directory/organizations';
import { startMailbox } from '../src/dev/mailbox';
import { MissingServiceError, mongoUrlForDb, startServices } from '../src/dev/services';
import { createLogger } from '../src/logger';
import { completeConnection, connectDeps } from '../src/qbo/connect';
import { withDeadline } from '../src/qbo/client';
import { baseDeps, createRuntime } from '../src/runtime';
import { waitForRun } from '../src/sync/wait';
import { sandboxEnv, startQboSandbox, type CompanyInput } from '../sandbox/server';
import { startWorkers } from '../workers/index';
import { demoApi } from './demo-api';
import { demoExport } from './demo-export';
import { demoImport } from './demo-import';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = (s = '') => process.stdout.write(`${s}\n`);

interface DemoCompany {
  realmId: string;
  companyName?: string;
  members: { fullName: string; email: string | null }[];
}

async function main(): Promise<number> {
  const companyFile = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.join(root, 'sandbox/companies/demo.json');
  const company = JSON.parse(readFileSync(companyFile, 'utf8')) as DemoCompany & CompanyInput;
  const dataDir = path.join(root, '.data/demo');
  mkdirSync(dataDir, { recursive: true });

  out('1. Starting Redis and a MongoDB-wire server…');
  let services;
  try {
    services = await startServices({ dataDir, log: (l) => out(`   ${l}`) });
  } catch (err) {
    if (err instanceof MissingServiceError) {
      process.stderr.write(`\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const sandbox = await startQboSandbox();
  // A real SMTP receiver on loopback stands in for the mail relay: it keeps what it is sent.
  const mailbox = await startMailbox();
  const cleanups: (() => Promise<unknown>)[] = [() => services.stop(), () => sandbox.close(), () => mailbox.close()];
  try {
    sandbox.loadCompany(company.realmId, company);
    out(`2. QBO sandbox playing Intuit at ${sandbox.url} with "${company.companyName ?? 'demo'}" (realm ${company.realmId}, ${sandbox.employees(company.realmId).length} employees)`);

    const config = loadConfig({
      ...process.env,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      REDIS_URL: services.redisUrl,
      MONGO_URL: mongoUrlForDb(services.mongoUrl, 'qbo_member_sync_demo'),
      QUEUE_PREFIX: `demo-${randomBytes(3).toString('hex')}`,
      // A throw-away key: the demo's tokens live only as long as its database.
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ...sandboxEnv(sandbox),
      SMTP_URL: mailbox.url,
      MAIL_FROM: 'Harbor & Pine Time <invites@harborpine.example>',
      // The API part of the demo (scripts/demo-api.ts): throw-away secrets, printed at the end.
      ADMIN_API_KEY: randomBytes(16).toString('hex'),
      OAUTH_STATE_SECRET: randomBytes(32).toString('hex'),
      QBO_WEBHOOK_VERIFIER_TOKEN: randomBytes(16).toString('hex'),
      BULL_BOARD_USER: 'demo',
      BULL_BOARD_PASSWORD: randomBytes(9).toString('base64url'),
    });
    // The demo starts from an empty directory every time.
    await mongoose.connect(config.MONGO_URL, { serverSelectionTimeoutMS: 10_000 });
    await mongoose.connection.dropDatabase();
    const rt = await createRuntime(config, { logger: createLogger(config.LOG_LEVEL, { proc: 'demo' }) });
    const workers = startWorkers(rt);
    cleanups.unshift(
      () => workers.close(),
      () => rt.close(),
      async () => {
        await rt.redis.eval(`for _, k in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', k) end`, 0, `${config.QUEUE_PREFIX}*`);
      },
      () => mongoose.disconnect(),
    );

    const org = await createOrganization({ name: 'Harbor & Pine Landscaping', plan: 'paid', seatLimit: 60 });
    for (const m of company.members) await addMember(baseDeps(rt), String(org._id), m);
    out(`3. Organisation ${String(org._id)} created with ${company.members.length} existing members`);

    const authorize = await fetch(rt.qbo.authorizeUrl(`demo-${String(org._id)}`), { redirect: 'manual' });
    const callback = authorize.headers.get('location');
    if (!callback) throw new Error(`The sandbox did not redirect from its consent page (HTTP ${authorize.status})`);
    const connected = await completeConnection(
      connectDeps(rt),
      String(org._id),
      callback,
    );
    out(`4. Connected through OAuth; first sync queued on "qbo-sync" as run ${connected.firstSync.syncRunId}`);

    const run = await waitForRun(connected.firstSync.syncRunId, 120_000);
    if (!run) throw new Error('The first sync did not finish within 120 s');
    out('5. First sync finished:');
    printSyncRun((l) => out(`   ${l}`), run);
    out();
    printMembersTab(out, await membersTab(String(org._id)));
    const counts = await rt.queues.memberEvents.getJobCounts('waiting', 'active', 'completed', 'delayed');
    const events = await rt.queues.memberEvents.getJobs(['waiting', 'active', 'completed', 'delayed'], 0, -1);
    const byName = (n: string) => events.filter((j) => j.name === n).length;
    out(
      `\nEvents on "member-events": ${byName('member.new_detected')} member.new_detected, ${byName('member.link_changed')} member.link_changed (${Object.values(counts).reduce((a, b) => a + b, 0)} jobs)`,
    );
    out(`Admin message: ${run.message ?? ''}`);
    const imported = await demoImport(rt, String(org._id), mailbox, out);
    const exported = await demoExport(rt, sandbox, String(org._id), company.realmId, out);
    const api = await demoApi(rt, sandbox, String(org._id), company.realmId, out, process.argv.includes('--serve'));
    cleanups.unshift(() => api.close());
    return run.state === 'succeeded' && imported && exported ? 0 : 1;
  } finally {
    // Each step gets a deadline: a demo that was asked to stop must stop.
    for (const c of cleanups) await withDeadline(10_000, 'demo cleanup', c).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`Demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
