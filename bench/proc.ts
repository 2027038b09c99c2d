/**
 * Linux /proc readings for the benches: a process tree's memory (VmRSS now, VmHWM = peak) and
 * CPU time (utime+stime in clock ticks; schedstat in nanoseconds). Sampling runs on a thread of
 * its own so a busy event loop in the bench process (the QBO sandbox answering pages) cannot
 * delay it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** USER_HZ: utime/stime unit. 100 on every Linux we run on (`getconf CLK_TCK`). */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, clock ticks. */
  ticks: number;
}

function parseStat(pid: number, text: string): ProcStat | null {
  // comm is in parentheses and may hold spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // After comm: state(0) ppid(1) … utime(11) stime(12).
  return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
}

export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export function allProcs(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** `root` and every descendant alive now. */
export function processTree(root: number, procs: ProcStat[] = allProcs()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const p of procs) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const self = procs.find((p) => p.pid === root);
  const out: ProcStat[] = self ? [self] : [];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get((out[i] as ProcStat).pid) ?? []));
  return out;
}

/** CPU of a process tree: ticks from /proc/<pid>/stat, ns from every thread's schedstat. */
export function treeCpu(root: number): { ms: number; preciseMs: number } {
  let ticks = 0;
  let ns = 0;
  for (const p of processTree(root)) {
    ticks += p.ticks;
    ns += threadsCpuNs(p.pid);
  }
  return { ms: (ticks * 1000) / CLK_TCK, preciseMs: ns / 1e6 };
}

/** Sum of the first field of /proc/<pid>/task/<tid>/schedstat: time on CPU, ns, live threads. */
export function threadsCpuNs(pid: number): number {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return ns;
}

export function cpuMsOf(pid: number): number {
  const s = readStat(pid);
  return s ? (s.ticks * 1000) / CLK_TCK : 0;
}

export function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

export interface ProcessPeak {
  pid: number;
  comm: string;
  cmd: string;
  /** Highest VmRSS seen by the sampler, kB. */
  peakSampledKb: number;
  /** VmHWM read last (the kernel's own peak RSS since the process started), kB. */
  hwmKb: number;
  lastRssKb: number;
}

export interface TreeMemory {
  samples: number;
  intervalMs: number;
  /** Longest time between two samples (shows whether the sampler kept up). */
  maxGapMs: number;
  /** Highest sum of VmRSS over the tree at one sample, kB. */
  peakTreeKb: number;
  processes: ProcessPeak[];
}

// Plain JS run on a worker thread (eval'd as CommonJS): no TypeScript loader needed there.
const SAMPLER_JS = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { root, intervalMs } = workerData;
const peaks = new Map();
let samples = 0, maxGap = 0, last = 0, peakTree = 0;
function stat(pid) {
  try {
    const t = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
    const c = t.lastIndexOf(')');
    return { pid, ppid: Number(t.slice(c + 2).split(' ')[1]), comm: t.slice(t.indexOf('(') + 1, c) };
  } catch { return null; }
}
function mem(pid) {
  try {
    const t = fs.readFileSync('/proc/' + pid + '/status', 'utf8');
    const kb = (k) => Number((new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(t) || [])[1] || 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch { return null; }
}
function tree() {
  const byParent = new Map();
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\\d+$/.test(n)) continue;
    const s = stat(Number(n));
    if (!s) continue;
    if (!byParent.has(s.ppid)) byParent.set(s.ppid, []);
    byParent.get(s.ppid).push(s);
  }
  const self = stat(root);
  const out = self ? [self] : [];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i].pid) || []));
  return out;
}
function sample() {
  const now = Date.now();
  if (last) maxGap = Math.max(maxGap, now - last);
  last = now;
  samples++;
  let sum = 0;
  for (const p of tree()) {
    const m = mem(p.pid);
    if (!m) continue;
    sum += m.rss;
    let e = peaks.get(p.pid);
    if (!e) {
      let cmd = '';
      try { cmd = fs.readFileSync('/proc/' + p.pid + '/cmdline', 'utf8').split('\\0').filter(Boolean).join(' '); } catch {}
      e = { pid: p.pid, comm: p.comm, cmd, peakSampledKb: 0, hwmKb: 0, lastRssKb: 0 };
      peaks.set(p.pid, e);
    }
    e.peakSampledKb = Math.max(e.peakSampledKb, m.rss);
    e.hwmKb = Math.max(e.hwmKb, m.hwm);
    e.lastRssKb = m.rss;
  }
  peakTree = Math.max(peakTree, sum);
}
sample();
const timer = setInterval(sample, intervalMs);
parentPort.on('message', (msg) => {
  if (msg === 'reset') { peakTree = 0; maxGap = 0; samples = 0; last = 0; for (const e of peaks.values()) e.peakSampledKb = 0; sample(); parentPort.postMessage({ reset: true }); return; }
  sample();
  const result = { samples, intervalMs, maxGapMs: maxGap, peakTreeKb: peakTree, processes: [...peaks.values()] };
  if (msg === 'stop') { clearInterval(timer); parentPort.postMessage(result); parentPort.close(); return; }
  parentPort.postMessage(result);
});
`;

/** Samples VmRSS of `root` and its descendants every `intervalMs` on a separate thread. */
export class TreeSampler {
  private readonly worker: Worker;

  constructor(root: number, intervalMs = 100) {
    this.worker = new Worker(SAMPLER_JS, { eval: true, workerData: { root, intervalMs } });
    this.worker.unref();
  }

  private ask<T>(msg: 'read' | 'stop' | 'reset'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.worker.once('message', (m: T) => resolve(m));
      this.worker.once('error', reject);
      this.worker.postMessage(msg);
    });
  }

  /** Forgets sampled peaks (VmHWM stays: the kernel's peak covers the whole life). */
  async reset(): Promise<void> {
    await this.ask<unknown>('reset');
  }

  read(): Promise<TreeMemory> {
    return this.ask<TreeMemory>('read');
  }

  async stop(): Promise<TreeMemory> {
    const r = await this.ask<TreeMemory>('stop');
    await this.worker.terminate();
    return r;
  }
}

/** Children of this process whose comm is `name` (e.g. the ferretdb and redis-server we started). */
export function childrenNamed(name: string, parent = process.pid): number[] {
  return allProcs()
    .filter((p) => p.ppid === parent && p.comm === name)
    .map((p) => p.pid);
}
