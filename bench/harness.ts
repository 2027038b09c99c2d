/**
 * What the import and export benchmarks share: real Redis + MongoDB-wire server
 * (startServices), the QBO sandbox, the product's runtime and workers in this process, an
 * organisation connected through the sandbox's OAuth, a results file, and the teardown.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import { loadConfig, type Config } from '../src/config';
import { MissingServiceError, mongoUrlForDb, startServices, type RunningServices } from '../src/dev/services';
import { createLogger } from '../src/logger';
import { completeConnection, connectDeps } from '../src/qbo/connect';
import { createRuntime, type Runtime } from '../src/runtime';
import { waitForRun } from '../src/sync/wait';
import { sandboxEnv, startQboSandbox, type QboSandbox, type SandboxOptions } from '../sandbox/server';
import { startWorkers } from '../workers/index';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const out = (s = '') => process.stdout.write(`${s}\n`);

export interface BenchApp {
  services: RunningServices;
  sandbox: QboSandbox;
  config: Config;
  rt: Runtime;
  /** Connects `orgId` to `realmId` through the sandbox's OAuth and waits for the first sync. */
  connect(orgId: string, realmId: string): Promise<void>;
  /** Writes bench/results/<name>-<date>.json and returns its path from the repository root. */
  writeResult(name: string, result: { date: string }): string;
  close(): Promise<void>;
}

/** Null when Redis or a MongoDB-wire server cannot be had (the reason is printed). */
export async function startBenchApp(name: string, opts: { sandbox?: SandboxOptions; env?: (sandbox: QboSandbox) => Record<string, string> } = {}): Promise<BenchApp | null> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  let services: RunningServices;
  try {
    services = await startServices({ dataDir });
  } catch (err) {
    if (err instanceof MissingServiceError) {
      process.stderr.write(`${err.message}\n`);
      return null;
    }
    throw err;
  }
  const sandbox = await startQboSandbox(opts.sandbox);
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    REDIS_URL: services.redisUrl,
    MONGO_URL: mongoUrlForDb(services.mongoUrl, `bench_${name}_${randomBytes(3).toString('hex')}`),
    QUEUE_PREFIX: `bench-${name}-${randomBytes(3).toString('hex')}`,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ...sandboxEnv(sandbox),
    ...opts.env?.(sandbox),
  });
  const rt = await createRuntime(config, { logger: createLogger('warn', { proc: 'bench' }) });
  const workers = startWorkers(rt);
  return {
    services,
    sandbox,
    config,
    rt,
    async connect(orgId, realmId) {
      const authorize = await fetch(rt.qbo.authorizeUrl(`bench-${realmId}`), { redirect: 'manual' });
      const connected = await completeConnection(connectDeps(rt), orgId, authorize.headers.get('location') ?? '');
      const first = await waitForRun(connected.firstSync.syncRunId, 300_000, 50);
      if (first?.state !== 'succeeded') throw new Error('the first sync did not succeed');
    },
    writeResult(resultName, result) {
      const dir = path.join(root, 'bench/results');
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${resultName}-${result.date.slice(0, 10)}.json`);
      writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
      return path.relative(root, file);
    },
    async close() {
      await workers.close();
      await mongoose.connection.dropDatabase().catch(() => undefined);
      await rt.close();
      await sandbox.close();
      await services.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function runBench(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench:${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
