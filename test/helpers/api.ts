/**
 * The real HTTP API for integration tests: a TestApp (QBO sandbox, runtime on the test's own
 * database and prefix, real workers) plus buildApi() listening on a free loopback port.
 * Tests talk to it with fetch, like any client.
 */
import type { FastifyInstance } from 'fastify';
import { buildApi, type BuildApiOptions } from '../../src/http/app';
import type { SandboxOptions } from '../../sandbox/server';
import type { WorkerOptions } from '../../workers/index';
import { startTestApp, type TestApp } from './app';
import type { TestEnv } from './env';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const STATE_SECRET = 'test-oauth-state-secret-0123456789abcdef';
export const VERIFIER_TOKEN = 'test-verifier-token-5f2c0d1e';
export const BOARD_USER = 'ops';
export const BOARD_PASSWORD = 'board-password-123';

export interface TestApi {
  app: TestApp;
  server: FastifyInstance;
  url: string;
  /** fetch against the API with the admin key unless `key` says otherwise (null: no header). */
  // Bodies are whatever JSON the server sent; tests assert on their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, path: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestApi(
  env: TestEnv,
  opts: { config?: Record<string, string>; sandbox?: SandboxOptions; workers?: WorkerOptions | false; api?: BuildApiOptions } = {},
): Promise<TestApi> {
  const app = await startTestApp(env, {
    sandbox: opts.sandbox,
    workers: opts.workers,
    // As src/http/main.ts runs the API: Redis commands fail fast. Workers in the same process wait.
    failFast: opts.workers === false,
    config: {
      ADMIN_API_KEY: ADMIN_KEY,
      OAUTH_STATE_SECRET: STATE_SECRET,
      QBO_WEBHOOK_VERIFIER_TOKEN: VERIFIER_TOKEN,
      BULL_BOARD_USER: BOARD_USER,
      BULL_BOARD_PASSWORD: BOARD_PASSWORD,
      ...opts.config,
    },
  });
  const server = await buildApi(app.rt, opts.api);
  await server.listen({ host: '127.0.0.1', port: 0 });
  const addr = server.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  let closed = false;
  return {
    app,
    server,
    url,
    async call(method, path, c = {}) {
      const key = c.key === undefined ? ADMIN_KEY : c.key;
      const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...c.headers };
      let body: string | undefined;
      if (c.body !== undefined) {
        body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${url}${path}`, { method, headers, body, redirect: 'manual' });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await app.close();
    },
  };
}
