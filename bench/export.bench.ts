/**
 * `npm run bench:export [-- --entries 5000 --scale 1]`: export of N time entries for one
 * company against the QBO sandbox enforcing Intuit's limits (500 requests and 40 batch requests
 * per window, 10 in flight), time-scaled: the window is 60 s / scale, so scale 5 runs the same
 * traffic five times faster. Reported per window (= per Intuit minute): entries achieved against
 * the ceiling the limits allow (40 batches × 30 entries + 460 single creates = 1,660), and the
 * 429s the sandbox gave (target: none, and ≥ 90% of the ceiling).
 *
 * Services from startServices(); workers in this process with the product's defaults, the
 * limiter told the same scaled window. Writes bench/results/export-<date>.json.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Member, TimeEntry, type MemberDoc } from '../src/db/models';
import { addMember } from '../src/directory/members';
import { createOrganization } from '../src/directory/organizations';
import { baseDeps } from '../src/runtime';
import { requestExport, waitForExport } from '../src/timesheets/request';
import { INTUIT_LIMITS } from '../sandbox/server';
import { out, runBench, startBenchApp } from './harness';

const REALM = '9130357766439002';
const MEMBERS = 20;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { entries: { type: 'string', default: '5000' }, scale: { type: 'string', default: '1' } } });
  const n = Number(values.entries);
  const scale = Number(values.scale);
  if (!Number.isInteger(n) || n < 1 || !(scale >= 1)) throw new Error('--entries must be a whole number, --scale at least 1');
  const windowMs = Math.round(60_000 / scale);
  const ceiling = INTUIT_LIMITS.batchPerMinute * 30 + (INTUIT_LIMITS.perMinute - INTUIT_LIMITS.batchPerMinute);

  const app = await startBenchApp('export', { sandbox: { limits: { ...INTUIT_LIMITS, windowMs } }, env: () => ({ QBO_RATE_WINDOW_MS: String(windowMs) }) });
  if (!app) return 1;
  const { rt, sandbox, services } = app;
  try {
    sandbox.loadCompany(REALM, {
      employees: Array.from({ length: MEMBERS }, (_, i) => ({ Id: String(i + 1), SyncToken: '0', GivenName: 'Bench', FamilyName: `Worker${i + 1}`, DisplayName: `Bench Worker${i + 1}`, Active: true })),
    });
    const org = await createOrganization({ name: 'Bench' });
    for (let i = 0; i < MEMBERS; i++) await addMember(baseDeps(rt), String(org._id), { fullName: `Bench Worker${i + 1}` });
    await app.connect(String(org._id), REALM);
    const members = await Member.find({ orgId: org._id }).lean<MemberDoc[]>();
    await TimeEntry.insertMany(
      Array.from({ length: n }, (_, i) => ({
        orgId: org._id,
        memberId: members[i % MEMBERS]?._id,
        date: `2026-10-${String(1 + (i % 28)).padStart(2, '0')}`,
        hours: 1 + (i % 8),
        minutes: (i * 7) % 60,
        description: `bench entry ${i}`,
        revision: 1,
      })),
      { ordered: false },
    );
    sandbox.resetRequests();

    out(`Export of ${n} entries, one company, sandbox limits ${INTUIT_LIMITS.perMinute}/${INTUIT_LIMITS.batchPerMinute} batch per ${windowMs} ms window (time scale ×${scale}), ${INTUIT_LIMITS.concurrent} in flight…`);
    const t0 = performance.now();
    const req = await requestExport(rt.queues, String(org._id), { from: '2026-10-01', to: '2026-10-31' });
    const done = await waitForExport(req.exportId, 3_600_000, 50);
    const elapsedMs = performance.now() - t0;
    if (done?.state !== 'succeeded') throw new Error(`export ended ${done?.state ?? 'unfinished'}`);
    const sent = sandbox.timeActivities(REALM).length;
    const windows = elapsedMs / windowMs;
    const perWindow = done.counts.exported / windows;
    const requests = sandbox.requests.filter((r) => r.endpoint === 'batch' || r.endpoint === 'timeactivity');
    const throttled = sandbox.throttled(REALM);
    // The sending phase alone: first create request to last, by the sandbox's clock.
    const sendingMs = requests.length > 1 ? Math.max(1, (requests.at(-1)?.at ?? 0) - (requests[0]?.at ?? 0)) : elapsedMs;
    const perWindowSending = done.counts.exported / (sendingMs / windowMs);
    const rows: [string, string][] = [
      ['entries exported (TimeActivities in the sandbox)', `${done.counts.exported} (${sent})`],
      ['elapsed', `${(elapsedMs / 1000).toFixed(1)} s = ${windows.toFixed(2)} windows`],
      ['entries per window (= per Intuit minute)', `${perWindow.toFixed(0)}`],
      ['ceiling the limits allow per window', `${ceiling} (40 batches × 30 + 460 singles)`],
      ['achieved / ceiling', `${((perWindow / ceiling) * 100).toFixed(1)} % — target ≥ 90 % ${perWindow >= 0.9 * ceiling ? '✓' : '✗'}`],
      ['… while sending (first create → last)', `${perWindowSending.toFixed(0)} per window, ${((perWindowSending / ceiling) * 100).toFixed(1)} % of the ceiling, over ${(sendingMs / 1000).toFixed(1)} s`],
      ['429s from the sandbox', `${throttled} — target 0 ${throttled === 0 ? '✓' : '✗'}`],
      ['requests: batch | single', `${requests.filter((r) => r.endpoint === 'batch').length} | ${requests.filter((r) => r.endpoint === 'timeactivity').length}`],
      ['peak requests in flight', `${sandbox.peakConcurrency(REALM)} (limit ${INTUIT_LIMITS.concurrent})`],
    ];
    for (const [k, v] of rows) out(`  ${k.padEnd(50)} ${v}`);
    const result = {
      bench: 'export',
      date: new Date().toISOString(),
      entries: n,
      scale,
      windowMs,
      services: services.how,
      cores: os.cpus().length,
      loadAverage1m: os.loadavg()[0],
      elapsedMs: Math.round(elapsedMs),
      exported: done.counts.exported,
      perWindow: Math.round(perWindow),
      sendingMs: Math.round(sendingMs),
      perWindowWhileSending: Math.round(perWindowSending),
      ceilingPerWindow: ceiling,
      ratio: Number((perWindow / ceiling).toFixed(3)),
      throttled,
      batchRequests: requests.filter((r) => r.endpoint === 'batch').length,
      singleRequests: requests.filter((r) => r.endpoint === 'timeactivity').length,
      peakInFlight: sandbox.peakConcurrency(REALM),
    };
    out(`\nWritten to ${app.writeResult('export', result)}`);
    return 0;
  } finally {
    await app.close();
  }
}

runBench('export', main);
