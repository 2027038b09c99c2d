/**
 * An in-process product for integration tests: the QBO sandbox over HTTP, a runtime on the
 * test's own database and queue prefix, and real BullMQ workers. Nothing here is mocked.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config';
import { startMailbox, type Mailbox } from '../../src/dev/mailbox';
import { addMember } from '../../src/directory/members';
import { createOrganization, type NewOrganization } from '../../src/directory/organizations';
import { createLogger } from '../../src/logger';
import { completeConnection, connectDeps } from '../../src/qbo/connect';
import { baseDeps, createRuntime, type Runtime } from '../../src/runtime';
import { requestSync } from '../../src/sync/request';
import { waitForRun } from '../../src/sync/wait';
import type { SyncMode, SyncRunDoc } from '../../src/db/models';
import { sandboxEnv, startQboSandbox, type CompanyInput, type QboSandbox, type SandboxOptions } from '../../sandbox/server';
import { startWorkers, type WorkerOptions, type Workers } from '../../workers/index';
import type { TestEnv } from './env';

export const TEST_TOKEN_KEY = 'a'.repeat(64);

export interface TestApp {
  sandbox: QboSandbox;
  /** A real SMTP receiver on loopback; SMTP_URL points at it. */
  mailbox: Mailbox;
  config: Config;
  rt: Runtime;
  workers: Workers | null;
  env: Record<string, string>;
  startWorkers(opts?: WorkerOptions): Workers;
  createOrg(members?: { fullName: string; email?: string | null }[], org?: Partial<NewOrganization>): Promise<string>;
  /** Connects the org to `realmId` through the sandbox's OAuth; waits for the first sync unless told not to. */
  connect(orgId: string, realmId: string, opts?: { wait?: boolean }): Promise<{ firstRunId: string; run: SyncRunDoc | null }>;
  sync(orgId: string, mode?: SyncMode): Promise<SyncRunDoc>;
  close(): Promise<void>;
}

export function testEnvVars(env: TestEnv, sandbox: QboSandbox, extra: Record<string, string> = {}, mailbox?: Mailbox): Record<string, string> {
  return {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL: env.redisUrl,
    MONGO_URL: env.mongoUrl,
    QUEUE_PREFIX: env.queuePrefix,
    TOKEN_ENCRYPTION_KEY: TEST_TOKEN_KEY,
    ...sandboxEnv(sandbox),
    QBO_HTTP_TIMEOUT_MS: '3000',
    SYNC_LOCK_TTL_MS: '15000',
    ...(mailbox ? { SMTP_URL: mailbox.url } : {}),
    MAIL_FROM: 'Harbor Time <invites@harbor.example>',
    SMTP_TIMEOUT_MS: '3000',
    INVITE_BACKOFF_MS: '200',
    ...extra,
  };
}

export async function startTestApp(
  env: TestEnv,
  opts: { sandbox?: SandboxOptions; workers?: WorkerOptions | false; config?: Record<string, string>; failFast?: boolean } = {},
): Promise<TestApp> {
  const sandbox = await startQboSandbox(opts.sandbox);
  const mailbox = await startMailbox();
  const vars = testEnvVars(env, sandbox, opts.config, mailbox);
  const config = loadConfig(vars);
  const rt = await createRuntime(config, { logger: createLogger(config.LOG_LEVEL, { proc: 'test' }), failFast: opts.failFast });
  const started: Workers[] = [];
  const app: TestApp = {
    sandbox,
    mailbox,
    config,
    rt,
    workers: null,
    env: vars,
    startWorkers(wopts = { lockDurationMs: 5000, stalledIntervalMs: 2000 }) {
      const w = startWorkers(rt, wopts);
      started.push(w);
      app.workers = w;
      return w;
    },
    async createOrg(members = [], org = {}) {
      const doc = await createOrganization({ name: `Org ${randomBytes(2).toString('hex')}`, ...org });
      for (const m of members) await addMember(baseDeps(rt), String(doc._id), m);
      return String(doc._id);
    },
    async connect(orgId, realmId, copts = {}) {
      const code = sandbox.issueAuthorizationCode(realmId, config.QBO_REDIRECT_URI);
      const callback = `${config.QBO_REDIRECT_URI}?code=${encodeURIComponent(code)}&state=test&realmId=${realmId}`;
      const res = await completeConnection(
        connectDeps(rt),
        orgId,
        callback,
      );
      const run = copts.wait === false ? null : await waitForRun(res.firstSync.syncRunId, 60_000, 50);
      return { firstRunId: res.firstSync.syncRunId, run };
    },
    async sync(orgId, mode = 'incremental') {
      const req = await requestSync({ redis: rt.redis, queues: rt.queues, keyPrefix: config.QUEUE_PREFIX }, orgId, 'manual', mode);
      const run = await waitForRun(req.syncRunId, 60_000, 50);
      if (!run) throw new Error(`sync run ${req.syncRunId} did not finish`);
      return run;
    },
    async close() {
      for (const w of started) await w.close();
      await rt.close();
      await sandbox.close();
      await mailbox.close();
    },
  };
  if (opts.workers !== false) app.startWorkers(opts.workers || undefined);
  return app;
}

export function loadCompany(sandbox: QboSandbox, realmId: string, company: CompanyInput): void {
  sandbox.loadCompany(realmId, company);
}
