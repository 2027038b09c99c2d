/**
 * Starts the real Redis and MongoDB-wire server that tests, the demo and benchmarks talk to.
 * Dev tooling only: production code never imports this file.
 *
 * Order (see DESIGN.md "Tests"): REDIS_URL + MONGO_URL from the environment; else containers
 * through testcontainers when a Docker engine answers; else local `redis-server` and `ferretdb`
 * binaries on free loopback ports. When none is possible it throws MissingServiceError saying
 * what to install; it never installs anything itself.
 */
import { spawn, spawnSync, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, accessSync, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';

export interface RunningServices {
  redisUrl: string;
  /** No database name: callers append `/<db>` (or use mongoUrlForDb when it carries options). */
  mongoUrl: string;
  how: 'env' | 'docker' | 'local';
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  dataDir: string;
  /** Start Redis with `--appendonly yes` (tests that restart Redis and expect the queues back). */
  redisAppendOnly?: boolean;
  log?: (line: string) => void;
}

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const FERRETDB_INSTALL =
  'npm run setup:services   (or: bash .ci/install-ferretdb, which builds github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2 ' +
  'from the Go module proxy; a plain `go install …@v1.24.2` gives a binary that panics at start-up ' +
  'because the published module lacks build/version/version.txt)';
export const REDIS_INSTALL = 'npm run setup:services   (or: apt-get update && apt-get install -y redis-server)';

/** A service the harness needs cannot be had; the message says what to install. */
export class MissingServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingServiceError';
  }
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const DOCKER_PROBE_MS = 3_000;

// ---------------------------------------------------------------------------------------------
// Child process bookkeeping: every child dies with this process, however it ends.

const children = new Set<ChildProcess>();
let exitHooksInstalled = false;

let exiting = false;

function killAllChildrenNow(): void {
  exiting = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllChildrenNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Someone else handles this signal (the demo's --serve): they shut down in order, and need
      // Redis and the database until the end; the exit hook still kills what is left.
      if (process.listenerCount(signal) > 1) return;
      killAllChildrenNow();
      process.removeListener(signal, onSignal);
      // Nobody else handles this signal: restore the default behaviour (terminate).
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Keeps the last lines a child wrote, for error messages. */
class OutputTail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 40) {}
  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  text(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.max).join('\n');
  }
}

interface Managed {
  child: ChildProcess;
  tail: OutputTail;
  exited: Promise<void>;
  stop(): Promise<void>;
}

function startChild(command: string, args: string[], name: string): Managed {
  installExitHooks();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const tail = new OutputTail();
  child.stdout?.on('data', (c: Buffer) => tail.push(c));
  child.stderr?.on('data', (c: Buffer) => tail.push(c));
  let stopping: Promise<void> | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      // A server dying under a running test or demo is worth saying out loud, with its last words.
      if (!stopping && !exiting) process.stderr.write(`[services] ${name} exited unexpectedly (${code !== null ? `code ${code}` : signal}). Last output:\n${tail.text()}\n`);
      resolve();
    });
    child.once('error', (err) => {
      tail.push(`${name}: ${err.message}\n`);
      children.delete(child);
      resolve();
    });
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null && children.has(child);
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!alive()) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut && alive()) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
  return { child, tail, exited, stop };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it succeeds; fails fast when the child exits, or after the timeout, with
 * the last lines of the child's output in the message.
 */
async function waitReady(managed: Managed, name: string, probe: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no answer yet';
  for (;;) {
    const { exitCode, signalCode } = managed.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(
        `${name} exited before it was ready (${exitCode !== null ? `code ${exitCode}` : signalCode}). Last output:\n` +
          managed.tail.text(),
      );
    }
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      await managed.stop();
      throw new Error(
        `${name} did not answer within ${READY_TIMEOUT_MS / 1000} s (last probe: ${lastError}). Last output:\n` +
          managed.tail.text(),
      );
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Probes

/** PING over a raw socket: `+PONG` means ready (`-LOADING` while an AOF is replayed does not). */
export function pingRedis(host: string, port: number, timeoutMs = 1_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (err?: Error): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error('PING timed out')));
    socket.once('error', (err) => done(err));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (!reply.includes('\r\n')) return;
      if (reply.startsWith('+PONG')) done();
      else done(new Error(`PING answered ${JSON.stringify(reply.trim())}`));
    });
  });
}

/** A `ping` command through the same driver the app uses. */
export async function pingMongo(mongoUrl: string, timeoutMs = 2_000): Promise<void> {
  const conn = mongoose.createConnection(mongoUrlForDb(mongoUrl, 'admin'), {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
  });
  try {
    await conn.asPromise();
    const db = conn.db;
    if (!db) throw new Error('no database handle after connecting');
    await db.admin().ping();
  } finally {
    await conn.close(true).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// URLs and ports

const MONGO_URL_RE = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/;

/** Drops any database name from a MongoDB URL, keeping its options. */
export function mongoBaseUrl(url: string): string {
  const m = MONGO_URL_RE.exec(url.trim());
  if (!m) throw new Error(`not a MongoDB URL: ${url}`);
  const [, base, , query] = m;
  return query ? `${base}/?${query}` : (base as string);
}

/** `base` + `/<db>`, keeping any `?options` after the database name. */
export function mongoUrlForDb(base: string, db: string): string {
  const m = MONGO_URL_RE.exec(base.trim());
  if (!m) throw new Error(`not a MongoDB URL: ${base}`);
  const [, hosts, , query] = m;
  return query ? `${hosts}/${db}?${query}` : `${hosts}/${db}`;
}

/** Ports the OS says are free on 127.0.0.1, all distinct (held together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port assigned');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

// ---------------------------------------------------------------------------------------------
// Finding binaries

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name));
}

let goPathCache: string | null | undefined;
function goEnvGoPath(): string | null {
  if (goPathCache !== undefined) return goPathCache;
  const out = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8', timeout: 5_000 });
  goPathCache = out.status === 0 && out.stdout.trim() ? out.stdout.trim().split(path.delimiter)[0] ?? null : null;
  return goPathCache;
}

/** Every place findFerretDb looks, in order (may hold duplicates and missing files). */
export function ferretDbCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [...onPath('ferretdb', env)];
  if (env.GOBIN) candidates.push(path.join(env.GOBIN, 'ferretdb'));
  const goPath = goEnvGoPath();
  if (goPath) candidates.push(path.join(goPath, 'bin', 'ferretdb'));
  candidates.push(path.join(os.homedir(), 'go', 'bin', 'ferretdb'));
  return [...new Set(candidates)];
}

const ferretDbWorks = new Map<string, boolean>();
function ferretDbRuns(file: string): boolean {
  let ok = ferretDbWorks.get(file);
  if (ok === undefined) {
    const out = spawnSync(file, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    ok = out.status === 0;
    ferretDbWorks.set(file, ok);
  }
  return ok;
}

/**
 * The FerretDB binary to run: PATH, then $GOBIN, then $(go env GOPATH)/bin, then ~/go/bin.
 * A binary that cannot even print its version (the broken `go install` build) is skipped.
 */
export function findFerretDb(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const file of ferretDbCandidates(env)) {
    if (isExecutable(file) && ferretDbRuns(file)) return file;
  }
  return null;
}

export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [...onPath('redis-server', env), '/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  return candidates.find(isExecutable) ?? null;
}

function dockerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      execFile('docker', ['info'], { timeout: DOCKER_PROBE_MS }, (err) => resolve(!err));
    } catch {
      resolve(false);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Local services

/** `redis-server` on a free (or the given) loopback port, data under `<dataDir>/redis`. */
export async function startRedis(opts: { dataDir: string; appendOnly?: boolean; port?: number }): Promise<RunningRedis> {
  const bin = findRedisServer();
  if (!bin) {
    throw new MissingServiceError(`redis-server is not installed (not on PATH). Install it: ${REDIS_INSTALL}`);
  }
  const port = opts.port ?? (await freePorts(1))[0]!;
  const dir = path.join(opts.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  if (opts.appendOnly) args.push('--appendonly', 'yes');
  const managed = startChild(bin, args, 'redis-server');
  await waitReady(managed, `redis-server on 127.0.0.1:${port}`, () => pingRedis('127.0.0.1', port));
  return { url: `redis://127.0.0.1:${port}`, port, stop: managed.stop };
}

async function startFerretDb(bin: string, dataDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = path.join(dataDir, 'ferretdb');
  mkdirSync(dir, { recursive: true });
  const [port, debugPort] = (await freePorts(2)) as [number, number];
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    `--debug-addr=127.0.0.1:${debugPort}`,
    '--telemetry=disable',
    '--log-level=warn',
  ];
  const managed = startChild(bin, args, 'ferretdb');
  const url = `mongodb://127.0.0.1:${port}`;
  await waitReady(managed, `ferretdb on 127.0.0.1:${port}`, () => pingMongo(url));
  return { url, stop: managed.stop };
}

async function startLocal(opts: StartServicesOptions): Promise<RunningServices> {
  const redisBin = findRedisServer();
  const ferretBin = findFerretDb();
  if (!redisBin || !ferretBin) {
    const missing: string[] = [];
    if (!redisBin) missing.push(`- redis-server is not on PATH. Install it: ${REDIS_INSTALL}`);
    if (!ferretBin) {
      const broken = ferretDbCandidates().filter(isExecutable);
      missing.push(
        `- ferretdb ${broken.length ? `found only broken binaries (${broken.join(', ')}: \`--version\` fails)` : 'not found'} ` +
          `in PATH, $GOBIN, $(go env GOPATH)/bin or ~/go/bin. Install it: ${FERRETDB_INSTALL}`,
      );
    }
    throw new MissingServiceError(
      'Integration tests need Redis and a MongoDB-wire server, and none could be had:\n' +
        '- no REDIS_URL + MONGO_URL in the environment;\n' +
        '- no Docker engine answers `docker info` (start one to use containers redis:7-alpine and mongo:7);\n' +
        missing.join('\n'),
    );
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const redis = await startRedis({ dataDir: opts.dataDir, appendOnly: opts.redisAppendOnly });
  let ferret: { url: string; stop(): Promise<void> };
  try {
    ferret = await startFerretDb(ferretBin, opts.dataDir);
  } catch (err) {
    await redis.stop();
    throw err;
  }
  return {
    redisUrl: redis.url,
    mongoUrl: ferret.url,
    how: 'local',
    stop: async () => {
      await Promise.all([redis.stop(), ferret.stop()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Containers

async function startDocker(opts: StartServicesOptions): Promise<RunningServices> {
  // Loaded only here: a devDependency that is heavy to import and unused without Docker.
  const { GenericContainer, Wait } = await import('testcontainers');
  const redisCommand = ['redis-server', '--save', ''];
  if (opts.redisAppendOnly) redisCommand.push('--appendonly', 'yes');
  const [redis, mongo] = await Promise.all([
    new GenericContainer('redis:7-alpine')
      .withCommand(redisCommand)
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .start(),
    new GenericContainer('mongo:7')
      .withExposedPorts(27017)
      .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
      .start(),
  ]);
  const redisHost = redis.getHost();
  const redisPort = redis.getMappedPort(6379);
  const mongoUrl = `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}`;
  const stop = async (): Promise<void> => {
    await Promise.all([redis.stop(), mongo.stop()]);
  };
  try {
    await pollUntil(() => pingRedis(redisHost, redisPort), 'redis container');
    await pollUntil(() => pingMongo(mongoUrl), 'mongo container');
  } catch (err) {
    await stop();
    throw err;
  }
  return { redisUrl: `redis://${redisHost}:${redisPort}`, mongoUrl, how: 'docker', stop };
}

async function pollUntil(probe: () => Promise<void>, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await probe();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`${name} did not answer within ${READY_TIMEOUT_MS / 1000} s: ${String(err)}`);
      }
    }
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------

/** Redis + a MongoDB-wire server, by the first way that works (see the file comment). */
export async function startServices(
  opts: StartServicesOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningServices> {
  const log = opts.log ?? (() => undefined);
  if (env.REDIS_URL && env.MONGO_URL) {
    const redisUrl = env.REDIS_URL;
    const mongoUrl = mongoBaseUrl(env.MONGO_URL);
    log(`services: using REDIS_URL=${redactUrl(redisUrl)} and MONGO_URL=${redactUrl(mongoUrl)} from the environment`);
    return { redisUrl, mongoUrl, how: 'env', stop: async () => undefined };
  }
  if (await dockerAnswers()) {
    log('services: a Docker engine answers; starting redis:7-alpine and mongo:7 with testcontainers');
    const running = await startDocker(opts);
    log(`services: docker redis at ${running.redisUrl}, mongo at ${running.mongoUrl}`);
    return running;
  }
  log('services: no REDIS_URL/MONGO_URL and no Docker engine; starting local redis-server and ferretdb');
  const running = await startLocal(opts);
  log(`services: local redis-server at ${running.redisUrl}, ferretdb at ${running.mongoUrl} (data in ${opts.dataDir})`);
  return running;
}

/** Hides a password in a service URL before it is printed. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

