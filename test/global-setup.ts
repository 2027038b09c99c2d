/**
 * vitest globalSetup: starts Redis and a MongoDB-wire server once for the whole run (see
 * src/dev/services.ts for how) and hands their URLs to test files through `inject`.
 * Test files isolate themselves with test/helpers/env.ts.
 *
 * When the services cannot be started, unit tests still run: the error is provided as
 * `servicesError` and every test that calls setupTestEnv fails with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startServices } from '../src/dev/services';
import type { RunningServices } from '../src/dev/services';

declare module 'vitest' {
  export interface ProvidedContext {
    /** redis://host:port */
    redisUrl: string;
    /** mongodb://host:port, no database name */
    mongoUrl: string;
    servicesHow: 'env' | 'docker' | 'local' | 'none';
    /** Why services could not be started; empty when they run. */
    servicesError: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'qbo-sync-test-services-'));
  let services: RunningServices | null = null;
  try {
    services = await startServices({ dataDir });
    const detail =
      services.how === 'env'
        ? 'REDIS_URL/MONGO_URL from the environment'
        : services.how === 'docker'
          ? 'testcontainers (redis:7-alpine, mongo:7)'
          : 'local redis-server and ferretdb';
    console.log(`[global-setup] services: ${services.how} — ${detail}: redis ${services.redisUrl}, mongo ${services.mongoUrl}`);
    project.provide('redisUrl', services.redisUrl);
    project.provide('mongoUrl', services.mongoUrl);
    project.provide('servicesHow', services.how);
    project.provide('servicesError', '');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`[global-setup] services: NOT STARTED — tests that need them will fail:\n${message}`);
    project.provide('redisUrl', '');
    project.provide('mongoUrl', '');
    project.provide('servicesHow', 'none');
    project.provide('servicesError', message);
  }
  return async () => {
    await services?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
