/**
 * Runs the QBO sandbox on its own, for the demo and for poking at it by hand:
 *
 *   npx tsx scripts/sandbox.ts [--port 8723] [--host 127.0.0.1] [--company <file>] [--realm <id>]
 *                              [--client-id <id>] [--client-secret <secret>]
 *                              [--limits [--limits-window-ms <ms>]]
 *
 * --company takes our company file ({ realmId?, employees, members? }) or an Intuit query body
 * ({ QueryResponse: { Employee: [...] } }); default sandbox/companies/demo.json. The realm is
 * --realm, else the file's realmId, else the demo's. --limits turns on Intuit's per-realm limits
 * on every API endpoint (500 requests and 40 batch requests a minute, 10 in flight);
 * --limits-window-ms shortens the minute (6000 = Intuit 10x faster). Stops cleanly on SIGINT /
 * SIGTERM.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { INTUIT_LIMITS, startQboSandbox } from '../sandbox/server';
import type { CompanyInput, LimitOptions } from '../sandbox/server';

const DEMO_REALM = '9130357766431234';
const here = path.dirname(fileURLToPath(import.meta.url));

function limitsFrom(on: boolean, windowMs: string | undefined): LimitOptions | undefined {
  if (windowMs !== undefined && !on) throw new Error('--limits-window-ms needs --limits');
  if (!on) return undefined;
  const ms = windowMs === undefined ? 60_000 : Number(windowMs);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`--limits-window-ms must be a positive integer, got ${windowMs}`);
  return { ...INTUIT_LIMITS, windowMs: ms };
}

function describeLimits(l: LimitOptions | undefined): string {
  if (!l) return 'off';
  const per = l.windowMs === 60_000 ? 'min' : `${l.windowMs} ms`;
  return `${l.perMinute}/${per}, ${l.batchPerMinute} batch/${per}, ${l.concurrent} in flight per realm`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8723' },
      host: { type: 'string', default: '127.0.0.1' },
      company: { type: 'string', default: path.join(here, '../sandbox/companies/demo.json') },
      realm: { type: 'string' },
      'client-id': { type: 'string', default: 'sandbox-client-id' },
      'client-secret': { type: 'string', default: 'sandbox-client-secret' },
      limits: { type: 'boolean', default: false },
      'limits-window-ms': { type: 'string' },
    },
    strict: true,
  });

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const file = path.resolve(values.company);
  const company = JSON.parse(readFileSync(file, 'utf8')) as CompanyInput & { realmId?: unknown };
  const realmId = values.realm ?? (typeof company.realmId === 'string' ? company.realmId : DEMO_REALM);
  const limits = limitsFrom(values.limits, values['limits-window-ms']);

  const sandbox = await startQboSandbox({
    port,
    host: values.host,
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    limits,
  });
  sandbox.loadCompany(realmId, company);
  const employees = sandbox.employees(realmId);

  console.log(sandbox.url);
  console.log(
    [
      `QBO sandbox: ${employees.length} employees (${employees.filter((e) => e.Active === false).length} inactive) from ${file}`,
      `  realmId        ${realmId}`,
      `  API            ${sandbox.url}/v3/company/${realmId}/query?query=...`,
      `  authorize      ${sandbox.authorizeUrl}   (auto-consent)`,
      `  token          ${sandbox.tokenUrl}`,
      `  revoke         ${sandbox.revokeUrl}`,
      `  client         ${values['client-id']} / ${values['client-secret']}`,
      `  a code to try  ${sandbox.issueAuthorizationCode(realmId)}   (single use, 5 minutes)`,
      `  limits         ${describeLimits(limits)}`,
      'Point the app at it: QBO_API_BASE, QBO_AUTHORIZE_URL, QBO_TOKEN_URL, QBO_REVOKE_URL.',
    ].join('\n'),
  );

  const stop = (signal: string): void => {
    console.log(`\n${signal}: closing the QBO sandbox`);
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
