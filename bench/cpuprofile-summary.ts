/**
 * `npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [--top 25] [--match text]`: where a V8
 * CPU profile (node --cpu-prof) spent its time. Self time by module (npm package or source file)
 * and by function; inclusive time (on the stack at all) by function, each sample counted once.
 * `--match` restricts the inclusive table to functions whose name or file contains the text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function moduleOf(url: string): string {
  if (!url) return '(native/V8)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? u);
  }
  if (u.startsWith('node:')) return u;
  return path.relative(process.cwd(), u) || u;
}

function fnKey(f: CallFrame): string {
  return `${f.functionName || '(anonymous)'} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
}

function main(): void {
  // `| head` closes the pipe early: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [--top 25] [--match text]\n');
    process.exit(2);
  }
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
  const matchIdx = args.indexOf('--match');
  const match = matchIdx >= 0 ? (args[matchIdx + 1] ?? '') : null;

  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByFn = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  prof.samples.forEach((id, i) => {
    const dt = (prof.timeDeltas[i] ?? 0) / 1000; // µs → ms
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const name = node.callFrame.functionName;
    if (name === '(idle)') idle += dt;
    selfByFn.set(fnKey(node.callFrame), (selfByFn.get(fnKey(node.callFrame)) ?? 0) + dt);
    const mod = name.startsWith('(') ? name : moduleOf(node.callFrame.url);
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const k = fnKey(n.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });

  const out = (s = '') => process.stdout.write(`${s}\n`);
  const busy = total - idle;
  out(`${file}: ${(total / 1000).toFixed(2)} s sampled, ${(busy / 1000).toFixed(2)} s not idle`);
  const print = (title: string, m: Map<string, number>, filter?: (k: string) => boolean) => {
    out(`\n${title}`);
    const rows = [...m.entries()].filter(([k]) => !filter || filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [k, v] of rows) out(`${v.toFixed(0).padStart(8)} ms ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
  };
  print('Self time by module (% of non-idle):', selfByModule, (k) => k !== '(idle)');
  print('Self time by function:', selfByFn, (k) => !k.startsWith('(idle)'));
  print(
    match ? `Inclusive time, functions matching "${match}":` : 'Inclusive time by function:',
    inclusive,
    (k) => !k.startsWith('(root)') && !k.startsWith('(idle)') && (match === null || k.includes(match)),
  );
}

main();
