/**
 * Real child processes for tests that kill or restart them: `tsx workers/main.ts` (or another
 * entry), configured only by env vars, each in its own process group so a signal reaches the
 * whole tree (tsx, node, esbuild) at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
// Spawned directly: npm exec does not pass signals on.
export const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export interface Child {
  name: string;
  proc: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `entry` (default: the worker process) with exactly `vars` (plus PATH and HOME). */
export function startChild(name: string, vars: Record<string, string>, opts: { entry?: string; logDir?: string } = {}): Child {
  const log = opts.logDir ? createWriteStream(path.join(opts.logDir, `${name}.log`)) : null;
  const proc = spawn(TSX, [opts.entry ?? 'workers/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...vars },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.on('data', (d: Buffer) => {
      output.push(d.toString());
      log?.write(d);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      log?.end();
      resolve({ code, signal });
    });
  });
  return { name, proc, output, exited };
}

export function killTree(child: Child, signal: NodeJS.Signals): void {
  try {
    if (child.proc.pid) process.kill(-child.proc.pid, signal);
  } catch {
    // the group is already gone
  }
}

export const tail = (c: Child, lines = 15) => c.output.join('').split('\n').slice(-lines).join('\n');

/** Polls `fn` until it returns something truthy; the error names what it waited for. */
export async function until<T>(what: string, fn: () => Promise<T>, timeoutMs: number, context: () => string = () => '', pollMs = 5): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
