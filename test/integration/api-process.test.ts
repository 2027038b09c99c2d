// The API as its operators run it: `tsx src/http/main.ts`, configured by environment only.
// It refuses to start without its secrets (exit 2, every missing one named), serves once
// started, and on SIGTERM stops accepting, finishes, closes its connections and exits 0.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/dev/services';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { TEST_TOKEN_KEY } from '../helpers/app';
import { ADMIN_KEY, STATE_SECRET } from '../helpers/api';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

function startApi(vars: Record<string, string>) {
  const proc = spawn(TSX, ['src/http/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output, exited };
}

describe('the API process', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupTestEnv('api-process');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('will not start without ADMIN_API_KEY and OAUTH_STATE_SECRET, naming both', async () => {
    const api = startApi({ LOG_LEVEL: 'silent', REDIS_URL: env.redisUrl, MONGO_URL: env.mongoUrl, TOKEN_ENCRYPTION_KEY: TEST_TOKEN_KEY });
    expect(await api.exited).toBe(2);
    const out = api.output.join('');
    expect(out).toContain('ADMIN_API_KEY is required by the API process');
    expect(out).toContain('OAUTH_STATE_SECRET is required by the API process');
  });

  it('serves, then drains and exits 0 on SIGTERM', async () => {
    const [port] = (await freePorts(1)) as [number];
    const url = `http://127.0.0.1:${port}`;
    const api = startApi({
      LOG_LEVEL: 'info',
      REDIS_URL: env.redisUrl,
      MONGO_URL: env.mongoUrl,
      QUEUE_PREFIX: env.queuePrefix,
      TOKEN_ENCRYPTION_KEY: TEST_TOKEN_KEY,
      ADMIN_API_KEY: ADMIN_KEY,
      OAUTH_STATE_SECRET: STATE_SECRET,
      API_PORT: String(port),
    });
    try {
      const deadline = Date.now() + 60_000;
      while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline || api.proc.exitCode !== null) throw new Error(`API did not start:\n${api.output.join('')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const created = await fetch(`${url}/api/v1/orgs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Process Org' }),
      });
      expect(created.status).toBe(201);
      const { apiKey } = (await created.json()) as { apiKey: string };
      api.proc.kill('SIGTERM');
      expect(await api.exited).toBe(0);
      const out = api.output.join('');
      expect(out).toContain('API listening');
      expect(out).toContain('Stopped');
      // Nothing secret in what it printed.
      for (const secret of [ADMIN_KEY, STATE_SECRET, TEST_TOKEN_KEY, apiKey]) expect(out).not.toContain(secret);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      if (api.proc.exitCode === null) api.proc.kill('SIGKILL');
    }
  });
});
