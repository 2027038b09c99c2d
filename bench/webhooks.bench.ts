/**
 * `npm run bench:webhooks [-- --duration 10 --connections 50]`: webhook ingest of the API.
 *
 * - Services: startServices() (REDIS_URL + MONGO_URL if both set, else Docker, else local
 *   redis-server + FerretDB in a temp dir); a fresh database and queue prefix.
 * - The API runs as its production entry (`tsx src/http/main.ts`) in a child process; no worker
 *   runs, so what is measured is what Intuit waits for: read the body, verify the signature,
 *   parse, add one job to `qbo-webhooks`, answer 200.
 * - Load: autocannon in this process on loopback, N connections. Every request is a distinct
 *   CloudEvents delivery (its own event id, so its own job) signed with the verifier token,
 *   made before the clock starts (`--pool`, default 120,000) so the client does not hash.
 * - Baseline, same run and same server: autocannon on GET /healthz (no Redis, no body).
 * - Each phase gets a warm-up (not counted) before it is measured.
 *
 * Prints a table and writes bench/results/webhooks-<date>.json. Targets are printed, not asserted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createQueues } from '../queues';
import { freePorts, MissingServiceError, mongoUrlForDb, startServices } from '../src/dev/services';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = (s = '') => process.stdout.write(`${s}\n`);
const TARGET = { perSecond: 2000, p99Ms: 50 };
const VERIFIER = `bench-verifier-${randomBytes(8).toString('hex')}`;

interface Phase {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

function phaseOf(name: string, r: autocannon.Result): Phase {
  return {
    name,
    requestsPerSecond: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)));
  });
}

async function waitHealthy(url: string, child: ChildProcess, logs: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}):\n${logs.join('')}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the API did not answer /healthz within 60 s:\n${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, connections: { type: 'string' }, warmup: { type: 'string' }, 'cpu-prof': { type: 'string' }, pool: { type: 'string' } } });
  // Diagnostic: a V8 CPU profile of the API process (summarise with bench/cpuprofile-summary.ts); no results file.
  const cpuProf = values['cpu-prof'];
  const duration = Number(values.duration ?? 10);
  const connections = Number(values.connections ?? 50);
  const warmup = Number(values.warmup ?? 3);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qbo-sync-bench-webhooks-'));
  let services;
  try {
    services = await startServices({ dataDir, log: (l) => out(`  ${l}`) });
  } catch (err) {
    if (err instanceof MissingServiceError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const prefix = `bench-wh-${randomBytes(3).toString('hex')}`;
  const [port] = (await freePorts(1)) as [number];
  const url = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProf)}`] : []), 'src/http/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      LOG_LEVEL: 'warn',
      REDIS_URL: services.redisUrl,
      MONGO_URL: mongoUrlForDb(services.mongoUrl, `bench_webhooks_${prefix.replace(/-/g, '_')}`),
      QUEUE_PREFIX: prefix,
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ADMIN_API_KEY: randomBytes(24).toString('hex'),
      OAUTH_STATE_SECRET: randomBytes(32).toString('hex'),
      QBO_WEBHOOK_VERIFIER_TOKEN: VERIFIER,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout, child.stderr]) s?.on('data', (d: Buffer) => logs.push(d.toString()));
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  try {
    await waitHealthy(url, child, logs);
    out(`API child pid ${child.pid} on ${url}; ${connections} connections, ${warmup} s warm-up + ${duration} s per phase`);

    // Distinct signed deliveries made before the clock starts, so the load generator (on the same
    // two cores) spends its time sending, not hashing. More than the run can send: none repeats.
    const realm = '4620816365009999';
    const poolSize = Number(values.pool ?? 120_000);
    const pool = Array.from({ length: poolSize }, (_, i) => {
      const body = JSON.stringify([
        { specversion: '1.0', id: `bench-${i}-${randomBytes(4).toString('hex')}`, source: 'intuit.bench', type: 'qbo.employee.updated.v1', time: new Date().toISOString(), intuitaccountid: realm, intuitentityid: String(i % 5000), data: {} },
      ]);
      return { body, headers: { 'content-type': 'application/cloudevents+json', 'intuit-signature': createHmac('sha256', VERIFIER).update(body).digest('base64') } };
    });
    let n = 0;
    const webhook: autocannon.Options = {
      url,
      connections,
      requests: [
        {
          method: 'POST',
          path: '/webhooks/quickbooks',
          setupRequest(req) {
            const d = pool[n++ % poolSize] as (typeof pool)[number];
            return { ...req, body: d.body, headers: d.headers };
          },
        },
      ],
    };
    const bare: autocannon.Options = { url: `${url}/healthz`, connections };

    const phases: Phase[] = [];
    out('warm-up: bare route');
    await run({ ...bare, duration: warmup });
    out(`measure: bare route GET /healthz (${duration} s)`);
    phases.push(phaseOf('bare GET /healthz', await run({ ...bare, duration })));
    out('warm-up: webhooks');
    await run({ ...webhook, duration: warmup });
    const before = await createQueues(redis, prefix).webhooks.count();
    out(`measure: signed webhook deliveries POST /webhooks/quickbooks (${duration} s)`);
    const wh = phaseOf('signed webhook delivery', await run({ ...webhook, duration }));
    const after = await createQueues(redis, prefix).webhooks.count();
    phases.push(wh);

    const queued = after - before;
    out();
    out(`| ${['phase', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors'].join(' | ')} |`);
    out(`|${' --- |'.repeat(9)}`);
    for (const p of phases) out(`| ${[p.name, p.requestsPerSecond, p.p50Ms, p.p90Ms, p.p99Ms, p.maxMs, p.total, p.non2xx, p.errors + p.timeouts].join(' | ')} |`);
    out();
    out(`jobs added to qbo-webhooks while measuring: ${queued} (requests answered 2xx: ${wh.total - wh.non2xx})`);
    if (n > poolSize) out(`warning: ${n} requests sent from a pool of ${poolSize}: some deliveries repeated (cheaper duplicates); raise --pool`);
    const meets = wh.requestsPerSecond >= TARGET.perSecond && wh.p99Ms < TARGET.p99Ms;
    out(`target: ≥ ${TARGET.perSecond}/s with p99 < ${TARGET.p99Ms} ms at ${connections} connections → ${meets ? 'met' : 'missed'}`);
    out(`webhook / bare throughput: ${(wh.requestsPerSecond / (phases[0]?.requestsPerSecond || 1)).toFixed(2)}`);

    if (cpuProf) {
      out(`diagnostic run (--cpu-prof ${cpuProf}): no results file is written`);
      return 0;
    }
    const date = new Date().toISOString().slice(0, 10);
    const dir = path.join(root, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `webhooks-${date}.json`);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          bench: 'webhooks',
          date: new Date().toISOString(),
          commit: (() => {
            try {
              return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
            } catch {
              return null;
            }
          })(),
          machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? null, node: process.version, services: services.how },
          settings: { connections, durationS: duration, warmupS: warmup, bodyBytes: pool[0]?.body.length ?? 0, distinctDeliveries: poolSize, sent: n },
          target: TARGET,
          met: meets,
          phases,
          jobsQueued: queued,
        },
        null,
        2,
      )}\n`,
    );
    out(`written: ${path.relative(root, file)}`);
    return 0;
  } finally {
    await createQueues(redis, prefix).webhooks.obliterate({ force: true }).catch(() => undefined);
    redis.disconnect();
    if (child.pid && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    }
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
