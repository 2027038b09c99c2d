import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { requestLinkAction } from '../directory/link-requests';
import { addMember, listMembers } from '../directory/members';
import { membersTab } from '../directory/members-tab';
import { createOrganization } from '../directory/organizations';
import { DomainError } from '../errors';
import { listImportCandidates } from '../imports/candidates';
import { getImport, requestImport } from '../imports/request';
import { waitForImport } from '../imports/wait';
import { createLogger } from '../logger';
import { createTimeEntry, listTimeEntries } from '../timesheets/entries';
import { getExport, requestExport, waitForExport } from '../timesheets/request';
import { completeConnection, connectDeps } from '../qbo/connect';
import { ConnectionUnavailableError } from '../qbo/tokens';
import { baseDeps, createRuntime, type Runtime } from '../runtime';
import { requestSync } from '../sync/request';
import { SyncError } from '../sync/run-sync';
import { readRun, waitForRun } from '../sync/wait';
import { printCandidates, printDirectory, printExport, printImport, printLinkResult, printMembersTab, printSyncRun, printTimeEntries } from './print';

/**
 * Operator CLI: `npm run cli -- <command> [options]`. Drives the same domain functions the
 * workers and (later) the HTTP API use. Exit codes: 0 ok, 1 refused/failed, 2 usage or config.
 */

const USAGE = `Usage: npm run cli -- <command> [options]

  org create --name <name> [--plan free|paid] [--seats <n>] [--sync-interval <minutes>]
             [--auto-import] [--invite-by-default]
  member add --org <orgId> --name "<full name>" [--email <address>]
  directory --org <orgId> [--json]                the member directory (login access, invitations)
  qbo connect --org <orgId> [--callback-url <url Intuit redirected to>]
  sync --org <orgId> [--full] [--no-wait] [--timeout <seconds>]
  members --org <orgId> [--json]                  the members tab: every QBO employee and its link
  candidates --org <orgId> [--inactive] [--json]  employees that can be imported
  import --org <orgId> <employeeId…> [--invite] [--inactive] [--no-wait] [--timeout <seconds>]
  disconnect --org <orgId> <employeeId>
  connect --org <orgId> <employeeId>
  time add --org <orgId> --member <memberId> --date YYYY-MM-DD (--hours <h> [--minutes <m>] | --start <ISO> --end <ISO>)
           [--description "<text>"] [--customer <QBO customer id> --rate <hourly rate>]
  time list --org <orgId> [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--member <memberId>] [--json]
  export --org <orgId> --from YYYY-MM-DD --to YYYY-MM-DD [--no-wait] [--timeout <seconds>]
  export show --org <orgId> --id <exportId> [--json]
`;

// The commands run() handles. Checked before config and connections are touched, so a mistyped
// command answers with the usage (exit 2) even when the environment or the databases are not
// there. Keep in step with run().
const COMMANDS = ['org create', 'member add', 'directory', 'qbo connect', 'sync', 'members', 'candidates', 'import', 'disconnect', 'connect', 'time add', 'time list', 'export'];

function isCommand(argv: string[]): boolean {
  const [cmd, sub] = argv;
  return COMMANDS.includes(cmd ?? '') || COMMANDS.includes(`${cmd} ${sub}`);
}

class UsageError extends Error {}

function need(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`);
  return v.trim();
}

function int(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  // Decimal digits only: Number() would also take '', '0x10' and '1e3'.
  if (typeof value !== 'string' || !/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a whole number`);
  return Number(value);
}

/** Where a request stands that did not finish while we waited (it was read again just now). */
const whereItStands = (state: string) => (state === 'running' ? 'it is still running' : 'it stays queued');

/** Follows Intuit's consent. The QBO sandbox consents at once; real Intuit needs a person. */
async function consentCallbackUrl(rt: Runtime, orgId: string, given: string | undefined): Promise<string> {
  if (given) return given;
  const authorizeUrl = rt.qbo.authorizeUrl(`cli-${orgId}`);
  const res = await fetch(authorizeUrl, { redirect: 'manual' }).catch(() => null);
  const location = res?.headers.get('location');
  if (location && new URL(location).searchParams.get('code')) return location;
  throw new UsageError(
    `Open this address, approve access, then run the command again with --callback-url "<the address you were sent to>":\n${authorizeUrl}`,
  );
}

const OPTIONS = {
  invite: { type: 'boolean' },
  member: { type: 'string' },
  date: { type: 'string' },
  hours: { type: 'string' },
  minutes: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  description: { type: 'string' },
  customer: { type: 'string' },
  rate: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  id: { type: 'string' },
  inactive: { type: 'boolean' },
  'auto-import': { type: 'boolean' },
  'invite-by-default': { type: 'boolean' },
  org: { type: 'string' },
  name: { type: 'string' },
  email: { type: 'string' },
  plan: { type: 'string' },
  seats: { type: 'string' },
  'sync-interval': { type: 'string' },
  'callback-url': { type: 'string' },
  full: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/**
 * `--seats -3`: parseArgs takes "-3" for an option and answers "argument is ambiguous". A
 * negative number after an option that takes a value is that option's value, so it reaches the
 * domain rules, which refuse it with the same answer as `--seats=-3` (and as the API).
 */
function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : '';
    const option = (OPTIONS as Record<string, { type: string }>)[name];
    if (option?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

async function run(rt: Runtime, argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  const subcommand = cmd === 'org' || cmd === 'member' || cmd === 'qbo' || cmd === 'time' || (cmd === 'export' && sub === 'show');
  const args = subcommand ? rest : [sub ?? '', ...rest].filter(Boolean);
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(args),
    allowPositionals: true,
    options: OPTIONS,
    strict: true,
  });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const takesIds = cmd === 'import' || cmd === 'disconnect' || cmd === 'connect';
  if (!takesIds && positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"`);

  if (cmd === 'org' && sub === 'create') {
    const org = await createOrganization({
      name: need(values, 'name'),
      plan: (values.plan ?? 'free') as 'free' | 'paid',
      seatLimit: int(values.seats, 'seats') ?? null,
      syncIntervalMinutes: int(values['sync-interval'], 'sync-interval') ?? null,
      autoImport: values['auto-import'] ?? false,
      inviteByDefault: values['invite-by-default'] ?? false,
    });
    out(`Organisation created: ${String(org._id)} (${org.name}, ${org.plan} plan)`);
    return 0;
  }
  if (cmd === 'member' && sub === 'add') {
    const m = await addMember(baseDeps(rt), need(values, 'org'), { fullName: need(values, 'name'), email: values.email ?? null });
    out(`Member added: ${String(m._id)} ${m.fullName}${m.email ? ` <${m.email}>` : ' (no e-mail, no login access)'}`);
    return 0;
  }
  if (cmd === 'qbo' && sub === 'connect') {
    const orgId = need(values, 'org');
    const callback = await consentCallbackUrl(rt, orgId, values['callback-url']);
    const res = await completeConnection(
      connectDeps(rt),
      orgId,
      callback,
    );
    out(`Connected QuickBooks company ${res.connection.realmId}; first sync queued: ${res.firstSync.syncRunId}`);
    return 0;
  }
  if (cmd === 'sync') {
    const orgId = need(values, 'org');
    const req = await requestSync({ redis: rt.redis, queues: rt.queues, keyPrefix: rt.config.QUEUE_PREFIX }, orgId, 'manual', values.full ? 'full' : 'incremental');
    out(`Sync ${req.coalesced ? 'joined the waiting run' : 'queued'}: ${req.syncRunId}`);
    if (values['no-wait']) return 0;
    if ((await rt.queues.sync.getWorkersCount()) === 0) out('No worker is listening yet: start one with `npm run start:worker`. Waiting…');
    const timeoutMs = (int(values.timeout, 'timeout') ?? 600) * 1000;
    // It may have finished between the last poll and this read: then it is shown as finished.
    const done = (await waitForRun(req.syncRunId, timeoutMs)) ?? (await readRun(req.syncRunId));
    if (!done || (done.state !== 'succeeded' && done.state !== 'failed')) {
      out(`The sync did not finish within ${timeoutMs / 1000} s; ${done ? whereItStands(done.state) : 'its run is gone'} (check with \`npm run cli -- members --org ${orgId}\`).`);
      return 1;
    }
    printSyncRun(out, done);
    return done.state === 'succeeded' ? 0 : 1;
  }
  if (cmd === 'members') {
    const tab = await membersTab(need(values, 'org'));
    if (values.json) out(JSON.stringify(tab, null, 2));
    else printMembersTab(out, tab);
    return 0;
  }
  if (cmd === 'directory') {
    const members = await listMembers(need(values, 'org'));
    if (values.json) out(JSON.stringify(members, null, 2));
    else printDirectory(out, members);
    return 0;
  }
  if (cmd === 'candidates') {
    const rows = await listImportCandidates(need(values, 'org'), { includeInactive: values.inactive ?? false });
    if (values.json) out(JSON.stringify(rows, null, 2));
    else printCandidates(out, rows);
    return 0;
  }
  if (cmd === 'import') {
    const orgId = need(values, 'org');
    if (positionals.length === 0) throw new UsageError('import needs the QuickBooks ids of the employees to import (see `candidates`)');
    const req = await requestImport(baseDeps(rt), orgId, { employeeIds: positionals, sendInvites: values.invite ?? false, includeInactive: values.inactive ?? false });
    out(`Import queued: ${req.importId} (${req.seatsNeeded} new members)`);
    if (values['no-wait']) return 0;
    if ((await rt.queues.memberImport.getWorkersCount()) === 0) out('No worker is listening yet: start one with `npm run start:worker`. Waiting…');
    const timeoutMs = (int(values.timeout, 'timeout') ?? 600) * 1000;
    // It may have finished between the last poll and this read: then it is shown as finished.
    const done = (await waitForImport(req.importId, timeoutMs)) ?? (await getImport(orgId, req.importId));
    if (done.state === 'queued' || done.state === 'running') {
      out(`The import did not finish within ${timeoutMs / 1000} s; ${whereItStands(done.state)} (check with \`npm run cli -- directory --org ${orgId}\`).`);
      return 1;
    }
    printImport(out, done);
    return done.state === 'succeeded' ? 0 : 1;
  }
  if (cmd === 'disconnect' || cmd === 'connect') {
    const orgId = need(values, 'org');
    if (positionals.length !== 1) throw new UsageError(`${cmd} needs exactly one QuickBooks employee id`);
    const res = await requestLinkAction(rt.queues, orgId, positionals[0] as string, cmd, 60_000);
    if (!res.done) {
      out(`Queued as ${res.jobId}; no worker answered within 60 s (start one with \`npm run start:worker\`).`);
      return 1;
    }
    printLinkResult(out, cmd, res.result);
    return 0;
  }
  if (cmd === 'time' && sub === 'add') {
    if (values.rate !== undefined && !/^\d+(\.\d+)?$/.test(values.rate.trim())) throw new UsageError('--rate must be a number such as 45 or 45.50');
    const rate = values.rate === undefined ? undefined : Number(values.rate);
    const e = await createTimeEntry(need(values, 'org'), {
      memberId: need(values, 'member'),
      date: values.date,
      // Everything given goes to the domain, which refuses a duration together with a span.
      hours: int(values.hours, 'hours'),
      minutes: int(values.minutes, 'minutes'),
      start: values.start,
      end: values.end,
      description: values.description,
      ...(values.customer !== undefined ? { billable: { customerId: values.customer, hourlyRate: rate } } : {}),
    });
    out(`Time entry recorded: ${String(e._id)} (${e.date}, ${e.start ? `${e.start} → ${e.end}` : `${e.hours ?? 0} h ${e.minutes ?? 0} min`})`);
    return 0;
  }
  if (cmd === 'time' && sub === 'list') {
    const rows = await listTimeEntries(need(values, 'org'), { from: values.from, to: values.to, memberId: values.member });
    if (values.json) out(JSON.stringify(rows, null, 2));
    else printTimeEntries(out, rows);
    return 0;
  }
  if (cmd === 'export' && sub === 'show') {
    const doc = await getExport(need(values, 'org'), need(values, 'id'));
    if (values.json) out(JSON.stringify(doc, null, 2));
    else printExport(out, doc);
    return 0;
  }
  if (cmd === 'export') {
    const orgId = need(values, 'org');
    const req = await requestExport(rt.queues, orgId, { from: need(values, 'from'), to: need(values, 'to') });
    out(`Export queued: ${req.exportId} (${req.entries} time entries in the period)`);
    if (values['no-wait']) return 0;
    if ((await rt.queues.timesheetExport.getWorkersCount()) === 0) out('No worker is listening yet: start one with `npm run start:worker`. Waiting…');
    const timeoutMs = (int(values.timeout, 'timeout') ?? 1800) * 1000;
    const done = await waitForExport(req.exportId, timeoutMs);
    if (!done) {
      out(`The export did not finish within ${timeoutMs / 1000} s; it goes on (see \`export show --org ${orgId} --id ${req.exportId}\`).`);
      return 1;
    }
    printExport(out, done);
    return done.state === 'succeeded' ? 0 : 1;
  }
  throw new UsageError(cmd ? `Unknown command "${[cmd, sub].filter(Boolean).join(' ')}"` : 'No command given');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help') {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  if (!isCommand(argv)) {
    process.stderr.write(`Unknown command "${argv.slice(0, 2).join(' ')}"\n\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const rt = await createRuntime(config, { logger: createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, { proc: 'cli' }) });
  try {
    return await run(rt, argv);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof DomainError || err instanceof SyncError || err instanceof ConnectionUnavailableError) {
      process.stderr.write(`Refused (${err.code}): ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await rt.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`Failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
