/**
 * `npm run bench:sync [-- --sizes 10000,100000]`: how a full sync of N employees and an
 * incremental sync of one changed employee perform, end to end, against the QBO sandbox.
 *
 * - Services: startServices() (REDIS_URL + MONGO_URL if both set, else Docker, else local
 *   redis-server + FerretDB in a temp dir); one fresh database and queue prefix per size.
 * - The QBO sandbox runs in this process; the worker runs as a child process, started the way
 *   `npm run start:worker` starts it (package.json, after `npm run build`), so its memory and
 *   CPU can be read alone from /proc.
 * - Full sync: an organisation is connected while the worker is up and idle; connecting queues
 *   the first (full) sync through requestSync, and that run is measured from its SyncRun's
 *   createdAt (the moment requestSync recorded it) until this process sees it `succeeded`.
 * - Incremental: one employee is changed in the sandbox and an incremental sync requested.
 * - Baseline, same run: the same pages fetched with plain fetch + a Bearer token, and the same
 *   documents (read back from the synced collection) written to a fresh collection with one
 *   insertMany.
 * - Probes: the database and queue operations a sync makes, timed alone, to show where the time goes.
 *
 * Prints a table and writes bench/results/sync-<date>.json. Targets are printed, not asserted.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose from 'mongoose';
import { createQueues } from '../queues';
import { eventJobId } from '../queues/member-events';
import { loadConfig } from '../src/config';
import { employeeKey, Member, QboConnection, QboEmployee, SyncRun, type QboConnectionDoc, type QboEmployeeDoc, type SyncRunDoc } from '../src/db/models';
import { createOrganization } from '../src/directory/organizations';
import { MissingServiceError, mongoUrlForDb, startServices, type RunningServices } from '../src/dev/services';
import { createLogger } from '../src/logger';
import { completeConnection, connectDeps } from '../src/qbo/connect';
import { createRuntime, type Runtime } from '../src/runtime';
import { publishEvents, type PendingEvent } from '../src/sync/events';
import { HeldMap, toHeld } from '../src/sync/held';
import { requestSync } from '../src/sync/request';
import { generateCompany, startQboSandbox, type QboSandbox } from '../sandbox/server';
import { childrenNamed, cpuMsOf, TreeSampler, treeCpu, type TreeMemory } from './proc';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = (s = '') => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const TARGETS = {
  full10kWallMs: 15_000,
  workerRssMbAt100k: 250,
  incrementalQboRequests: 1,
  incrementalWorkerCpuMs: 100,
  ratioToBaseline: 2,
};

// ---------------------------------------------------------------------------------------------
// Arguments

interface Args {
  sizes: number[];
  /** Directory for V8 CPU profiles of the worker (`--cpu-prof`); timings are then not representative. */
  cpuProfDir: string | null;
  /** NODE_OPTIONS for the worker (e.g. --max-old-space-size=160), to test a memory setting. */
  workerNodeOptions: string | null;
  /** Flags for the worker's node command line (`--worker-node-args`), for those NODE_OPTIONS refuses (--trace-gc). */
  workerNodeArgs: string[];
  /** Every line the worker prints, appended to this file (`--worker-log`, e.g. with --trace-gc). */
  workerLog: string | null;
  /** Only the full sync and its baseline: no probes, no incremental (`--full-only`). */
  fullOnly: boolean;
}

const USAGE =
  'usage: npm run bench:sync -- [--sizes 10000,100000] [--cpu-prof <dir>] [--worker-node-options "<node flags>"] [--worker-node-args "<node flags>"] [--worker-log <file>] [--full-only]';

function parseArgs(argv: string[]): Args {
  let raw = '10000,100000';
  let cpuProfDir: string | null = null;
  let workerNodeOptions: string | null = null;
  let workerLog: string | null = null;
  let workerNodeArgs: string[] = [];
  let fullOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--sizes') raw = argv[++i] ?? '';
    else if (a.startsWith('--sizes=')) raw = a.slice('--sizes='.length);
    else if (a === '--cpu-prof') cpuProfDir = path.resolve(argv[++i] ?? '');
    else if (a === '--worker-node-options') workerNodeOptions = argv[++i] ?? '';
    else if (a === '--worker-node-args') workerNodeArgs = (argv[++i] ?? '').split(/\s+/).filter(Boolean);
    else if (a === '--worker-log') workerLog = path.resolve(argv[++i] ?? '');
    else if (a === '--full-only') fullOnly = true;
    else if (a === '--help' || a === '-h') {
      out(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (${USAGE})`);
  }
  const sizes = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000_000)) {
    throw new Error(`--sizes takes whole numbers from 1 to 1,000,000 separated by commas, not "${raw}"`);
  }
  return { sizes, cpuProfDir, workerNodeOptions, workerNodeArgs, workerLog, fullOnly };
}

// ---------------------------------------------------------------------------------------------
// The worker child process

interface WorkerProc {
  child: ChildProcess;
  pid: number;
  output(): string;
  lines(): number;
  exited(): boolean;
  stop(): Promise<void>;
}

let liveWorker: WorkerProc | null = null;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * The worker's command line, as `npm run start:worker` runs it (without npm, which does not
 * pass signals on): what operators run is what is measured.
 */
function startWorkerCommand(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const line = pkg.scripts?.['start:worker'] ?? '';
  const words = line.trim().split(/\s+/);
  if (!['node', 'tsx'].includes(words[0] ?? '') || words.some((w) => /[=;&|$'"]/.test(w) && !w.startsWith('--'))) {
    throw new Error(`bench:sync runs start:worker as a plain "node …" or "tsx …" command line; package.json has "${line}"`);
  }
  return words;
}

/** Builds what start:worker runs (its prestart step), once per bench run. */
function buildWorker(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}

/**
 * The start:worker command line in a process group of its own; profiling flags and
 * --worker-node-args go on node's own command line (V8 refuses --cpu-prof or --trace-gc in
 * NODE_OPTIONS, and a tsx command line becomes `node <flags> --import tsx …` for the same reason).
 */
function startWorkerProcess(env: Record<string, string>, ctx: Pick<Ctx, 'cpuProfDir' | 'workerNodeArgs' | 'workerLog'>): WorkerProc {
  const logFile = ctx.workerLog;
  const flags = [...(ctx.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfDir}`] : []), ...ctx.workerNodeArgs];
  const [bin, ...rest] = startWorkerCommand();
  const [command, args] =
    bin === 'node'
      ? [process.execPath, [...flags, ...rest]]
      : flags.length > 0
        ? [process.execPath, [...flags, '--import', 'tsx', ...rest]]
        : [path.join(root, 'node_modules/.bin/tsx'), rest];
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error('could not start the worker process');
  const pid = child.pid;
  const tail: string[] = [];
  let count = 0;
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const onData = (c: Buffer) => {
    log?.write(c);
    for (const line of c.toString().split('\n').filter(Boolean)) {
      count++;
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let done = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => {
    done = true;
    log?.end();
  });
  const proc: WorkerProc = {
    child,
    pid,
    output: () => tail.join('\n'),
    lines: () => count,
    exited: () => done,
    async stop() {
      if (!done) {
        killGroup(pid, 'SIGTERM');
        const timedOut = await Promise.race([exit.then(() => false), sleep(15_000).then(() => true)]);
        if (timedOut) {
          killGroup(pid, 'SIGKILL');
          await exit;
        }
      }
      // tsx's own child may outlive its parent for a moment: make sure the group is gone.
      killGroup(pid, 'SIGKILL');
      if (liveWorker === proc) liveWorker = null;
    },
  };
  liveWorker = proc;
  return proc;
}

process.on('exit', () => {
  if (liveWorker) killGroup(liveWorker.pid, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (liveWorker) killGroup(liveWorker.pid, 'SIGKILL');
    process.exit(130);
  });
}

/** The worker is consuming once its BullMQ worker shows in CLIENT LIST for the sync queue. */
async function waitWorkerReady(rt: Runtime, w: WorkerProc, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (w.exited()) throw new Error(`the worker process exited before it was ready:\n${w.output()}`);
    const workers = await rt.queues.sync.getWorkers().catch(() => []);
    if (workers.length > 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`the worker was not ready after ${timeoutMs / 1000} s:\n${w.output()}`);
    await sleep(100);
  }
}

/** member-events jobs not finished yet (waiting, delayed or running). */
async function pendingEvents(rt: Runtime): Promise<number> {
  const c = await rt.queues.memberEvents.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  return Object.values(c).reduce((a, b) => a + b, 0);
}

async function waitEventsDrained(rt: Runtime, w: WorkerProc, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await pendingEvents(rt)) > 0) {
    if (w.exited()) throw new Error(`the worker process died while consuming events:\n${w.output()}`);
    if (Date.now() > until) throw new Error(`the worker had not consumed the run's events after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

async function waitRun(w: WorkerProc, syncRunId: string, timeoutMs: number, pollMs: number): Promise<{ run: SyncRunDoc; seenAt: number }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await SyncRun.findById(syncRunId).lean<SyncRunDoc>();
    const seenAt = Date.now();
    if (run?.state === 'succeeded') return { run, seenAt };
    if (run?.state === 'failed') throw new Error(`sync run ${syncRunId} failed: ${run.error.code ?? ''} ${run.error.message ?? ''}`);
    if (w.exited()) throw new Error(`the worker process died during sync run ${syncRunId}:\n${w.output()}`);
    if (seenAt > until) throw new Error(`sync run ${syncRunId} did not finish within ${timeoutMs / 1000} s (state ${run?.state ?? 'missing'})`);
    await sleep(pollMs);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting of every process taking part

interface CpuSnapshot {
  worker: { ms: number; preciseMs: number };
  ferretdb: number;
  redis: number;
  bench: number;
}

function cpuSnapshot(workerPid: number, servicePids: { ferretdb: number[]; redis: number[] }): CpuSnapshot {
  const u = process.cpuUsage();
  return {
    worker: treeCpu(workerPid),
    ferretdb: servicePids.ferretdb.reduce((s, p) => s + cpuMsOf(p), 0),
    redis: servicePids.redis.reduce((s, p) => s + cpuMsOf(p), 0),
    bench: (u.user + u.system) / 1000,
  };
}

function cpuDelta(a: CpuSnapshot, b: CpuSnapshot) {
  return {
    workerMs: b.worker.ms - a.worker.ms,
    workerPreciseMs: round(b.worker.preciseMs - a.worker.preciseMs, 1),
    ferretdbMs: b.ferretdb - a.ferretdb,
    redisMs: b.redis - a.redis,
    benchAndSandboxMs: Math.round(b.bench - a.bench),
  };
}

// ---------------------------------------------------------------------------------------------
// Baseline: plain HTTP and one insertMany

async function sandboxAccessToken(sandbox: QboSandbox, realmId: string, redirectUri: string): Promise<string> {
  const code = sandbox.issueAuthorizationCode(realmId, redirectUri);
  const res = await fetch(sandbox.tokenUrl, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from('sandbox-client-id:sandbox-client-secret').toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!res.ok || !body.access_token) throw new Error(`the sandbox token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function getJson(url: string, token: string): Promise<unknown> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  const body: unknown = await res.json();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

async function baselineFetchPages(sandbox: QboSandbox, realmId: string, token: string, pageSize: number) {
  const started = performance.now();
  const pageMs: number[] = [];
  let pages = 0;
  let rows = 0;
  for (let start = 1; ; start += pageSize) {
    const q = `select * from employee where Active IN (true, false) orderby Id startposition ${start} maxresults ${pageSize}`;
    const t = performance.now();
    const body = (await getJson(`${sandbox.url}/v3/company/${realmId}/query?query=${encodeURIComponent(q)}&minorversion=75`, token)) as {
      QueryResponse?: { Employee?: unknown[] };
    };
    pageMs.push(performance.now() - t);
    pages++;
    const n = body.QueryResponse?.Employee?.length ?? 0;
    rows += n;
    if (n < pageSize) break;
  }
  return { ms: Math.round(performance.now() - started), requests: pages, rows, pageMs: stats(pageMs) };
}

async function baselineInsert(dbName: string, collection: string, docs: Record<string, unknown>[]) {
  const db = mongoose.connection.useDb(dbName, { useCache: false });
  await db.createCollection(collection);
  const started = performance.now();
  if (docs.length > 0) await db.collection(collection).insertMany(docs, { ordered: false });
  return { ms: round(performance.now() - started, 1), docs: docs.length };
}

// ---------------------------------------------------------------------------------------------
// Probes: single operations timed alone

async function timeIt(fn: () => Promise<unknown>, reps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return round(median(times), 1);
}

async function incrementalProbes(orgId: string, qboId: string, runId: string, n: number) {
  const reps = n >= 50_000 ? 1 : 3;
  const oid = new mongoose.Types.ObjectId(orgId);
  const key = employeeKey(orgId, qboId);
  const doc = await QboEmployee.collection.findOne({ _id: key } as never);
  const version = (doc as unknown as QboEmployeeDoc | null)?.link.version ?? 0;
  return {
    reps,
    // What runSync does for one CDC row, in order (see src/sync/run-sync.ts):
    'Member.find({orgId}) (loadDirectory)': await timeIt(() => Member.find({ orgId: oid }, { fullName: 1, email: 1 }).lean(), reps),
    "QboEmployee.find({orgId, 'link.status'}) (loadClaims)": await timeIt(
      () => QboEmployee.find({ orgId: oid, 'link.status': 'connected' }, { qboId: 1, 'link.memberId': 1 }).lean(),
      reps,
    ),
    'QboEmployee.findById (loadSomeHeld)': await timeIt(() => QboEmployee.findById(key, { qboId: 1, link: 1 }).lean(), reps),
    "updateOne({_id, 'link.version'}) (applyRows)": await timeIt(
      () => QboEmployee.collection.updateOne({ _id: key, 'link.version': version } as never, { $set: { 'link.version': version } }),
      reps,
    ),
    'updateOne({_id}) (same update by _id only)': await timeIt(
      () => QboEmployee.collection.updateOne({ _id: key } as never, { $set: { 'link.version': version } }),
      reps,
    ),
    'countDocuments(candidates) (incremental candidates)': await timeIt(
      () => QboEmployee.countDocuments({ orgId: oid, 'link.status': 'cannot_connect', 'link.reason': 'no_match', active: true, deleted: false }),
      reps,
    ),
    'SyncRun.findById (run state)': await timeIt(() => SyncRun.findById(runId).lean(), reps),
  };
}

/** One page's worth of the full sync's writes, each alone, into scratch places. */
async function pageProbes(rt: Runtime, sample: Record<string, unknown>[], pageSize: number, prefix: string, dbName: string) {
  const orgId = new mongoose.Types.ObjectId();
  const docs = (tag: string): Record<string, unknown>[] =>
    sample.slice(0, pageSize).map((d, i) => ({ ...d, _id: `${String(orgId)}:${tag}${i}`, orgId, qboId: `${tag}${i}` }));

  // member.new_detected events of one page, through the same publishEvents.
  const probeQueues = createQueues(rt.redis, `${prefix}-probe`);
  const events: PendingEvent[] = docs('e').map((d) => ({
    id: eventJobId.newDetected(String(orgId), String(d.qboId)),
    name: 'member.new_detected',
    data: { orgId: String(orgId), qboId: String(d.qboId), employeeId: String(d._id), syncRunId: null, detectedAt: new Date().toISOString() },
  }));
  let t = performance.now();
  await publishEvents(probeQueues, events);
  const publishMs = performance.now() - t;
  await probeQueues.close();

  // The same page inserted three ways into a fresh database with qbo_employees' indexes.
  const db = mongoose.connection.useDb(dbName, { useCache: false });
  const Indexed = db.model('QboEmployee', QboEmployee.schema, 'qbo_employees');
  await Indexed.createIndexes();
  await db.createCollection('plain');
  t = performance.now();
  await Indexed.insertMany(docs('m'), { ordered: false, rawResult: false });
  const mongooseMs = performance.now() - t;
  t = performance.now();
  await Indexed.collection.insertMany(docs('n'), { ordered: false });
  const nativeIndexedMs = performance.now() - t;
  t = performance.now();
  await db.collection('plain').insertMany(docs('p'), { ordered: false });
  const nativePlainMs = performance.now() - t;
  await db.dropDatabase();
  return {
    rows: Math.min(pageSize, sample.length),
    'publishEvents (member.new_detected, BullMQ addBulk)': round(publishMs, 1),
    'QboEmployee.insertMany (mongoose, as the sync does)': round(mongooseMs, 1),
    'native insertMany, same indexes': round(nativeIndexedMs, 1),
    'native insertMany, _id index only': round(nativePlainMs, 1),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function stats(xs: number[]) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => round(s[Math.min(s.length - 1, Math.floor(p * s.length))] as number, 1);
  const avg = (a: number[]) => (a.length ? round(a.reduce((x, y) => x + y, 0) / a.length, 1) : 0);
  return {
    n: xs.length,
    min: round(s[0] as number, 1),
    median: round(median(xs), 1),
    p90: q(0.9),
    max: round(s[s.length - 1] as number, 1),
    firstTenAvg: avg(xs.slice(0, 10)),
    lastTenAvg: avg(xs.slice(-10)),
    total: round(xs.reduce((x, y) => x + y, 0)),
  };
}

const mb = (kb: number) => round(kb / 1024, 1);

/** The process of the tree that runs the worker (under tsx: its node child): the one with the largest peak. */
function workerMemory(m: TreeMemory) {
  const procs = [...m.processes].sort((a, b) => Math.max(b.hwmKb, b.peakSampledKb) - Math.max(a.hwmKb, a.peakSampledKb));
  const main = procs[0];
  return {
    peakTreeMb: mb(m.peakTreeKb),
    workerPeakMb: main ? mb(Math.max(main.hwmKb, main.peakSampledKb)) : null,
    workerPeakSampledMb: main ? mb(main.peakSampledKb) : null,
    samples: m.samples,
    maxSampleGapMs: m.maxGapMs,
    processes: procs.map((p) => ({
      pid: p.pid,
      comm: p.comm,
      cmd: p.cmd.length > 160 ? `${p.cmd.slice(0, 157)}...` : p.cmd,
      peakSampledMb: mb(p.peakSampledKb),
      vmHwmMb: mb(p.hwmKb),
      lastRssMb: mb(p.lastRssKb),
    })),
  };
}

async function deleteKeys(rt: Runtime, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await rt.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    for (let i = 0; i < keys.length; i += 500) await rt.redis.unlink(...keys.slice(i, i + 500));
  } while (cursor !== '0');
}

function uncommitted(): string[] {
  try {
    return execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'workers', 'queues', 'sandbox', 'package.json'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

function version(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000 }).split('\n')[0]?.trim() ?? null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Incremental sync

interface IncrementalArgs {
  ctx: Ctx;
  rt: Runtime;
  worker: WorkerProc;
  realmId: string;
  orgId: string;
  changeId: string;
  idleCpuMsPerS: number;
  label: string;
}

async function measureIncremental(a: IncrementalArgs) {
  const { sandbox } = a.ctx;
  sandbox.updateEmployee(a.realmId, a.changeId, { GivenName: `Benchmarked${a.changeId}` });
  await sleep(500);
  sandbox.resetRequests();
  const cpu0 = cpuSnapshot(a.worker.pid, a.ctx.servicePids);
  const started = Date.now();
  const req = await requestSync({ redis: a.rt.redis, queues: a.rt.queues, keyPrefix: a.rt.config.QUEUE_PREFIX }, a.orgId, 'manual', 'incremental');
  const { run, seenAt } = await waitRun(a.worker, req.syncRunId, 10 * 60_000, 10);
  // Let the job's completion (BullMQ moveToCompleted, lease release) land inside the window.
  await sleep(300);
  const cpu1 = cpuSnapshot(a.worker.pid, a.ctx.servicePids);
  const windowMs = Date.now() - started;
  const reqs = sandbox.requests.filter((r) => r.realmId === a.realmId);
  const cpu = cpuDelta(cpu0, cpu1);
  const createdAt = run.createdAt.getTime();
  const startedAt = run.startedAt?.getTime() ?? createdAt;
  const finishedAt = run.finishedAt?.getTime() ?? seenAt;
  const cdcAt = reqs.find((r) => r.endpoint === 'cdc')?.at ?? null;
  const result = {
    label: a.label,
    syncRunId: String(run._id),
    mode: run.mode,
    changedQboId: a.changeId,
    wallMs: seenAt - createdAt,
    timeline: {
      queuedMs: startedAt - createdAt,
      // loadConnection, loadDirectory, loadClaims (a scan of the org's employees), token.
      startToCdcMs: cdcAt !== null ? cdcAt - startedAt : null,
      // loadSomeHeld, applyRows (one guarded update), countDocuments (a scan), cursor, run state.
      cdcToFinishMs: cdcAt !== null ? finishedAt - cdcAt : null,
      finishToSeenMs: seenAt - finishedAt,
    },
    counts: run.counts,
    qboRequests: { total: reqs.length, byEndpoint: Object.fromEntries(['query', 'count', 'cdc', 'read'].map((e) => [e, reqs.filter((r) => r.endpoint === e).length])) },
    cpu: { ...cpu, windowMs, workerIdleCpuMsPerS: a.idleCpuMsPerS, workerNetOfIdleMs: round(cpu.workerPreciseMs - (a.idleCpuMsPerS * windowMs) / 1000, 1) },
  };
  out(
    `   incremental (${a.label}): ${result.wallMs} ms [queued ${result.timeline.queuedMs}, to CDC ${result.timeline.startToCdcMs}, CDC to done ${result.timeline.cdcToFinishMs}], ` +
      `${result.qboRequests.total} QBO request(s), worker CPU ${cpu.workerPreciseMs} ms (net of idle ${result.cpu.workerNetOfIdleMs}), FerretDB CPU ${cpu.ferretdbMs} ms`,
  );
  return result;
}

type IncrementalRun = Awaited<ReturnType<typeof measureIncremental>>;

/**
 * The full sync keeps every employee of the org in a HeldMap (src/sync/held.ts). This builds one
 * here from the synced documents with the same code and weighs it.
 */
function heldMapProbe(docs: Record<string, unknown>[]) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = new HeldMap();
  // structuredClone: nothing shared with `docs`, as when the sync reads them from the database.
  for (const raw of docs) held.set(String(raw.qboId), toHeld(structuredClone(raw) as unknown as QboEmployeeDoc));
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  const size = held.size;
  return { employees: size, heapMb: mb(bytes / 1024), bytesPerEmployee: size ? Math.round(bytes / size) : 0 };
}

// ---------------------------------------------------------------------------------------------
// One size

interface Ctx {
  services: RunningServices;
  sandbox: QboSandbox;
  tokenKeyHex: string;
  cpuProfDir: string | null;
  workerNodeOptions: string | null;
  workerNodeArgs: string[];
  workerLog: string | null;
  fullOnly: boolean;
  servicePids: { ferretdb: number[]; redis: number[] };
}

async function benchSize(ctx: Ctx, n: number) {
  const { services, sandbox } = ctx;
  const id = randomBytes(3).toString('hex');
  const realmId = String(9_130_000_000 + n);
  const dbName = `bench_sync_${n}_${id}`;
  const prefix = `bench-sync-${n}-${id}`;
  out(`\n== ${n.toLocaleString('en-US')} employees (database ${dbName}, queue prefix ${prefix})`);
  const loadBefore = os.loadavg().map((x) => round(x, 2));

  let t = performance.now();
  sandbox.loadCompany(realmId, generateCompany(n));
  out(`   sandbox company generated in ${Math.round(performance.now() - t)} ms`);

  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    REDIS_URL: services.redisUrl,
    MONGO_URL: mongoUrlForDb(services.mongoUrl, dbName),
    QUEUE_PREFIX: prefix,
    TOKEN_ENCRYPTION_KEY: ctx.tokenKeyHex,
    QBO_CLIENT_ID: 'sandbox-client-id',
    QBO_CLIENT_SECRET: 'sandbox-client-secret',
    QBO_API_BASE: sandbox.url,
    QBO_TOKEN_URL: sandbox.tokenUrl,
    QBO_AUTHORIZE_URL: sandbox.authorizeUrl,
    QBO_REVOKE_URL: sandbox.revokeUrl,
  };
  const config = loadConfig(env);
  const rt = await createRuntime(config, { logger: createLogger('warn', { proc: 'bench' }) });
  let worker: WorkerProc | null = null;
  let sampler: TreeSampler | null = null;
  try {
    worker = startWorkerProcess(ctx.workerNodeOptions ? { ...env, NODE_OPTIONS: ctx.workerNodeOptions } : env, ctx);
    sampler = new TreeSampler(worker.pid, 100);
    const readyMs = await waitWorkerReady(rt, worker);
    await sleep(1000); // let start-up work (reconcileSchedules, JIT) settle
    const idleA = treeCpu(worker.pid);
    await sleep(1000);
    const idleB = treeCpu(worker.pid);
    const idleCpuMsPerS = round(idleB.preciseMs - idleA.preciseMs, 2);
    const idleMem = workerMemory(await sampler.read());
    out(`   worker up in ${readyMs} ms (pid ${worker.pid}); idle RSS ${idleMem.workerPeakMb} MB, idle CPU ${idleCpuMsPerS} ms/s`);
    await sampler.reset();

    // ---- Full sync: connect (queues the first full sync), wait for it to succeed.
    const org = await createOrganization({ name: `Bench ${n}` });
    const orgId = String(org._id);
    sandbox.resetRequests();
    const cpu0 = cpuSnapshot(worker.pid, ctx.servicePids);
    const connectStarted = Date.now();
    const code = sandbox.issueAuthorizationCode(realmId, config.QBO_REDIRECT_URI);
    const callback = `${config.QBO_REDIRECT_URI}?code=${encodeURIComponent(code)}&state=bench&realmId=${realmId}`;
    const connected = await completeConnection(connectDeps(rt), orgId, callback);
    const { run, seenAt } = await waitRun(worker, connected.firstSync.syncRunId, 30 * 60_000, 25);
    const cpu1 = cpuSnapshot(worker.pid, ctx.servicePids);
    const fullMem = workerMemory(await sampler.read());
    const eventsPendingAtFinish = await pendingEvents(rt);
    const requestedAt = run.createdAt.getTime();
    const realmReqs = sandbox.requests.filter((r) => r.realmId === realmId);
    const queryTimes = realmReqs.filter((r) => r.endpoint === 'query').map((r) => r.at);
    const gaps = queryTimes.slice(1).map((x, i) => x - (queryTimes[i] as number));
    const startedAt = run.startedAt?.getTime() ?? requestedAt;
    const finishedAt = run.finishedAt?.getTime() ?? seenAt;
    const full = {
      syncRunId: String(run._id),
      trigger: run.trigger,
      mode: run.mode,
      wallMs: seenAt - requestedAt,
      connectBeforeRequestMs: requestedAt - connectStarted,
      counts: run.counts,
      qboRequests: {
        total: realmReqs.length,
        query: realmReqs.filter((r) => r.endpoint === 'query').length,
        count: realmReqs.filter((r) => r.endpoint === 'count').length,
        cdc: realmReqs.filter((r) => r.endpoint === 'cdc').length,
        read: realmReqs.filter((r) => r.endpoint === 'read').length,
        tokenCallsDuringRun: sandbox.count('token'),
      },
      timeline: {
        queuedMs: startedAt - requestedAt,
        startToFirstPageMs: queryTimes.length ? (queryTimes[0] as number) - startedAt : null,
        pagesMs: queryTimes.length > 1 ? (queryTimes[queryTimes.length - 1] as number) - (queryTimes[0] as number) : 0,
        lastPageToFinishMs: queryTimes.length ? finishedAt - (queryTimes[queryTimes.length - 1] as number) : null,
        finishToSeenMs: seenAt - finishedAt,
        pageToPageMs: stats(gaps),
        pageToPageAllMs: gaps,
      },
      cpu: cpuDelta(cpu0, cpu1),
      memory: fullMem,
      events: { pendingAtFinish: eventsPendingAtFinish, drainedMsAfterFinish: 0 },
    };
    out(
      `   full sync: ${(full.wallMs / 1000).toFixed(2)} s, ${full.qboRequests.total} QBO requests, worker peak RSS ${fullMem.workerPeakMb} MB, ` +
        `worker CPU ${(full.cpu.workerMs / 1000).toFixed(2)} s, FerretDB CPU ${(full.cpu.ferretdbMs / 1000).toFixed(2)} s, Redis CPU ${(full.cpu.redisMs / 1000).toFixed(2)} s`,
    );

    // The worker goes on consuming the run's events (one member.new_detected per new employee)
    // after the run: the baseline waits for that, so it never shares the machine with our work.
    await waitEventsDrained(rt, worker, 30 * 60_000);
    const eventsDrainedMsAfterFinish = Date.now() - seenAt;
    full.events.drainedMsAfterFinish = eventsDrainedMsAfterFinish;
    out(`   events still queued when the run finished: ${eventsPendingAtFinish}, all consumed ${(eventsDrainedMsAfterFinish / 1000).toFixed(2)} s later`);

    // ---- Baseline for the full sync.
    const token = await sandboxAccessToken(sandbox, realmId, config.QBO_REDIRECT_URI);
    const baseFetch = await baselineFetchPages(sandbox, realmId, token, config.QBO_PAGE_SIZE);
    t = performance.now();
    const docs = (await QboEmployee.collection.find({}).toArray()) as unknown as Record<string, unknown>[];
    const readBackMs = Math.round(performance.now() - t);
    const baseInsert = await baselineInsert(`${dbName}_base`, 'employees', docs);
    const baselineFull = {
      fetch: baseFetch,
      insertMany: baseInsert,
      totalMs: Math.round(baseFetch.ms + baseInsert.ms),
      readBackMsNotCounted: readBackMs,
    };
    out(
      `   baseline: fetch ${baseFetch.requests} pages ${(baseFetch.ms / 1000).toFixed(2)} s + insertMany ${baseInsert.docs} docs ${(baseInsert.ms / 1000).toFixed(2)} s ` +
        `= ${(baselineFull.totalMs / 1000).toFixed(2)} s (ours ${(full.wallMs / baselineFull.totalMs).toFixed(2)}×)`,
    );
    if (ctx.fullOnly) return null;
    const pages = await pageProbes(rt, docs, config.QBO_PAGE_SIZE, prefix, `${dbName}_probe`);
    out(`   one page alone: ${JSON.stringify(pages)}`);

    // ---- Incremental: change one employee, request an incremental sync. Up to 20,000 employees
    // it runs three times: the first is the worker's first incremental (cold code paths), the
    // others show a warm worker.
    const connDoc = await QboConnection.findOne({ orgId: org._id }).lean<QboConnectionDoc>();
    const since = connDoc?.lastCdcAt;
    if (!since) throw new Error('the full sync left no CDC cursor');
    const incrementals: IncrementalRun[] = [];
    const repeats = n <= 20_000 ? 3 : 1;
    let baselineIncremental: Record<string, unknown> & { totalMs: number } = { totalMs: NaN };
    for (let i = 0; i < repeats; i++) {
      // An active employee (generateCompany makes every 10th inactive), a different one each time.
      let changeId = Math.min(n, Math.max(1, Math.floor(n / 2) + i * 3));
      if (changeId % 10 === 0) changeId = changeId > 1 ? changeId - 1 : changeId;
      incrementals.push(await measureIncremental({ ctx, rt, worker, realmId, orgId, changeId: String(changeId), idleCpuMsPerS, label: i === 0 ? 'first' : 'warm' }));
      if (i > 0) continue;
      // Baseline, before anything else changes: the same CDC call and its one document.
      const cdcUrl = `${sandbox.url}/v3/company/${realmId}/cdc?entities=Employee&changedSince=${encodeURIComponent(since.toISOString().replace(/\.\d{3}Z$/, 'Z'))}&minorversion=75`;
      t = performance.now();
      const cdcBody = (await getJson(cdcUrl, token)) as { CDCResponse?: { QueryResponse?: { Employee?: unknown[] }[] }[] };
      const cdcMs = performance.now() - t;
      const cdcRows = cdcBody.CDCResponse?.[0]?.QueryResponse?.[0]?.Employee?.length ?? 0;
      const changedDoc = await QboEmployee.collection.findOne({ _id: employeeKey(orgId, String(changeId)) } as never);
      const incInsert = await baselineInsert(`${dbName}_base`, 'employees_incremental', changedDoc ? [changedDoc as unknown as Record<string, unknown>] : []);
      baselineIncremental = {
        note: 'the CDC call of the first incremental (same changedSince) and its one document inserted into a fresh collection',
        fetch: { ms: round(cdcMs, 1), requests: 1, rows: cdcRows },
        insertMany: incInsert,
        totalMs: round(cdcMs + incInsert.ms, 1),
      };
      out(`   incremental baseline: CDC ${round(cdcMs, 1)} ms (${cdcRows} row) + insertMany ${incInsert.ms} ms`);
    }
    const incremental = incrementals[0] as IncrementalRun;
    const changeId = incremental.changedQboId;
    const heldMemory = heldMapProbe(docs);
    out(`   the full sync's in-memory map of ${docs.length} employees, rebuilt here: ${heldMemory.heapMb} MB of heap (${heldMemory.bytesPerEmployee} B each)`);
    const dbProbes = await incrementalProbes(orgId, changeId, incremental.syncRunId, n);
    out(`   database operations alone (ms): ${JSON.stringify(dbProbes)}`);

    const memory = workerMemory(await sampler.stop());
    sampler = null;
    return {
      employees: n,
      realmId,
      database: dbName,
      // Other work on this machine skews every figure: the 1-minute load average before and after.
      loadAverage1m: { before: loadBefore[0] ?? null, after: round(os.loadavg()[0] ?? 0, 2) },
      worker: { readyMs, idleCpuMsPerS, idleMemory: { workerMb: idleMem.workerPeakMb, treeMb: idleMem.peakTreeMb }, outputLines: worker.lines(), outputTail: worker.output() },
      full,
      baselineFull,
      fullRatio: { wall: round(full.wallMs / baselineFull.totalMs, 2), qboRequests: round(full.qboRequests.total / baseFetch.requests, 2) },
      pageProbes: pages,
      heldMemory,
      incremental,
      incrementalRuns: incrementals,
      baselineIncremental,
      incrementalRatio: { wall: round(incremental.wallMs / baselineIncremental.totalMs, 1), qboRequests: incremental.qboRequests.total },
      databaseProbesMs: dbProbes,
      memoryWholeRun: memory,
    };
  } finally {
    if (sampler) await sampler.stop().catch(() => undefined);
    if (worker) await worker.stop();
    await mongoose.connection.dropDatabase().catch(() => undefined);
    await mongoose.connection.useDb(`${dbName}_base`, { useCache: false }).dropDatabase().catch(() => undefined);
    await deleteKeys(rt, `${prefix}*`).catch(() => undefined);
    await rt.close();
    sandbox.resetRequests();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

type SizeResult = NonNullable<Awaited<ReturnType<typeof benchSize>>>;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');

function report(results: SizeResult[]): void {
  const rows: string[][] = [['', 'ours', 'baseline', 'ours/base', 'target', '']];
  for (const r of results) {
    const n = r.employees;
    const label = n.toLocaleString('en-US');
    rows.push([`Full sync, ${label} employees`, '', '', '', '', '']);
    const wallTarget = n === 10_000 ? `< ${TARGETS.full10kWallMs / 1000} s` : '';
    const wallOk = n === 10_000 ? r.full.wallMs < TARGETS.full10kWallMs : true;
    rows.push([
      '  wall, request -> succeeded',
      sec(r.full.wallMs),
      sec(r.baselineFull.totalMs),
      `${r.fullRatio.wall.toFixed(2)}x`,
      `${wallTarget ? `${wallTarget}, ` : ''}<= ${TARGETS.ratioToBaseline}x`,
      mark(wallOk && r.fullRatio.wall <= TARGETS.ratioToBaseline),
    ]);
    rows.push(['    baseline: fetch pages | insertMany', '', `${sec(r.baselineFull.fetch.ms)} | ${sec(r.baselineFull.insertMany.ms)}`, '', '', '']);
    rows.push(['  QBO requests', String(r.full.qboRequests.total), String(r.baselineFull.fetch.requests), `${r.fullRatio.qboRequests.toFixed(2)}x`, '', '']);
    const rssTarget = n === 100_000 ? `< ${TARGETS.workerRssMbAt100k} MB` : '';
    rows.push([
      '  worker peak RSS (tree)',
      `${r.full.memory.workerPeakMb} MB (${r.full.memory.peakTreeMb})`,
      '',
      '',
      rssTarget,
      n === 100_000 ? mark((r.full.memory.workerPeakMb ?? Infinity) < TARGETS.workerRssMbAt100k) : '',
    ]);
    rows.push(['    of which the in-memory employee map', `${r.heldMemory.heapMb} MB`, '', '', '', '']);
    rows.push(['  CPU: worker | FerretDB | Redis', `${sec(r.full.cpu.workerMs)} | ${sec(r.full.cpu.ferretdbMs)} | ${sec(r.full.cpu.redisMs)}`, '', '', '', '']);
    rows.push([`Incremental, 1 changed of ${label}`, '', '', '', '', '']);
    rows.push(['  wall, request -> succeeded', `${r.incremental.wallMs} ms`, `${r.baselineIncremental.totalMs} ms`, `${r.incrementalRatio.wall}x`, '', '']);
    rows.push([
      '  QBO requests',
      String(r.incremental.qboRequests.total),
      '1',
      '',
      `${TARGETS.incrementalQboRequests}`,
      mark(r.incremental.qboRequests.total === TARGETS.incrementalQboRequests),
    ]);
    const cpuOk = r.incremental.cpu.workerPreciseMs < TARGETS.incrementalWorkerCpuMs;
    rows.push(['  worker CPU (first incremental)', `${r.incremental.cpu.workerPreciseMs} ms`, '', '', `< ${TARGETS.incrementalWorkerCpuMs} ms`, n === 10_000 ? mark(cpuOk) : '']);
    const warm = r.incrementalRuns.slice(1);
    if (warm.length > 0) {
      rows.push([`  worker CPU (${warm.length} warm runs)`, warm.map((w) => `${w.cpu.workerPreciseMs}`).join(', ') + ' ms', '', '', '', '']);
      rows.push([`  wall (warm runs)`, warm.map((w) => `${w.wallMs}`).join(', ') + ' ms', '', '', '', '']);
    }
    rows.push(['  FerretDB CPU', `${r.incremental.cpu.ferretdbMs} ms`, '', '', '', '']);
  }
  out('\n' + table(rows));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { sizes, cpuProfDir, workerNodeOptions, workerNodeArgs, workerLog, fullOnly } = parseArgs(process.argv.slice(2));
  const diagnostic = cpuProfDir !== null || workerNodeOptions !== null || workerNodeArgs.length > 0 || workerLog !== null || fullOnly;
  if (cpuProfDir) {
    mkdirSync(cpuProfDir, { recursive: true });
    out(`Profiling the worker into ${cpuProfDir}: timings are not representative.`);
  }
  if (workerNodeOptions) out(`Worker runs with NODE_OPTIONS="${workerNodeOptions}".`);
  if (diagnostic) out('Diagnostic run: no results file is written.');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'qms-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const started = new Date();
  try {
    let services: RunningServices;
    try {
      services = await startServices({ dataDir, log: (l) => out(l) });
    } catch (err) {
      if (err instanceof MissingServiceError) {
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
    cleanups.push(() => services.stop());
    buildWorker();
    out(`worker: ${startWorkerCommand().join(' ')}`);
    const sandbox = await startQboSandbox();
    cleanups.push(() => sandbox.close());
    const ctx: Ctx = {
      services,
      sandbox,
      tokenKeyHex: randomBytes(32).toString('hex'),
      cpuProfDir,
      workerNodeOptions,
      workerNodeArgs,
      workerLog,
      fullOnly,
      servicePids: services.how === 'local' ? { ferretdb: childrenNamed('ferretdb'), redis: childrenNamed('redis-server') } : { ferretdb: [], redis: [] },
    };
    const results: SizeResult[] = [];
    for (const n of sizes) {
      const r = await benchSize(ctx, n);
      if (r) results.push(r);
    }
    if (results.length > 0) report(results);
    if (cpuProfDir) out(`\nCPU profiles in ${cpuProfDir}: summarise one with npx tsx bench/cpuprofile-summary.ts <file>`);
    if (diagnostic) return 0;

    const cpuInfo = os.cpus();
    const doc = {
      bench: 'sync',
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `npm run bench:sync -- --sizes ${sizes.join(',')}`,
      gitCommit: version('git', ['-C', root, 'rev-parse', 'HEAD']),
      // The worker runs from the working tree: files changed there but not committed, if any.
      uncommittedFiles: uncommitted(),
      machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: cpuInfo.length, cpuModel: cpuInfo[0]?.model ?? null, memoryMb: Math.round(os.totalmem() / 2 ** 20) },
      services: {
        how: services.how,
        ferretdb: services.how === 'local' ? version('ferretdb', ['--version']) : null,
        redis: services.how === 'local' ? version('redis-server', ['--version']) : null,
      },
      notes: [
        'Full sync = the first sync an organisation gets when it connects (requestSync(connect, full) inside completeConnection), with the worker already up and idle; wall time from the SyncRun createdAt (when requestSync recorded it) until this process saw it succeeded (25 ms polls).',
        'The organisation has no members, so every active employee is a new-member candidate: one member.new_detected event each.',
        `Worker = the start:worker command line of package.json (\`${startWorkerCommand().join(' ')}\`) after \`npm run build\`, without npm's own process; workerPeakMb is the largest process of its tree (VmHWM), peakTreeMb the largest sum of VmRSS over the tree at one 100 ms sample.`,
        'The worker consumes the run\'s events after the run (full.events): the baseline is measured once it has consumed them all, so it never shares the machine with our own work.',
        'Worker CPU in ms from /proc/<pid>/task/*/schedstat (ns), ticks-based figure beside it; CPU of ferretdb and redis-server from /proc/<pid>/stat.',
        'Baseline = the same pages with fetch + Bearer token, then the documents the sync wrote (read back, not timed) inserted with one insertMany into a fresh collection (_id index only).',
      ],
      targets: TARGETS,
      results,
    };
    const dir = path.join(root, 'bench/results');
    mkdirSync(dir, { recursive: true });
    // Never overwrite an earlier result of the same day: the README may quote it.
    const day = started.toISOString().slice(0, 10);
    let file = path.join(dir, `sync-${day}.json`);
    for (let i = 2; existsSync(file); i++) file = path.join(dir, `sync-${day}-${i}.json`);
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    out(`\nResults written to ${path.relative(root, file)} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s in all)`);
    return 0;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await mongoose.disconnect().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:sync failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
