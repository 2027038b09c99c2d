/**
 * The demo's last part: the HTTP API on a free loopback port, with the Bull Board credentials
 * it set printed, and one signed webhook sent by the QBO sandbox for a new hire, followed to
 * the incremental sync it causes. `npm run demo -- --serve` keeps the API up until Ctrl-C.
 */
import type { FastifyInstance } from 'fastify';
import { SyncRun, type SyncRunDoc } from '../src/db/models';
import { buildApi } from '../src/http/app';
import type { Runtime } from '../src/runtime';
import type { QboSandbox } from '../sandbox/server';

export interface DemoApi {
  close(): Promise<void>;
}

export async function demoApi(rt: Runtime, sandbox: QboSandbox, orgId: string, realmId: string, out: (s?: string) => void, serve: boolean): Promise<DemoApi> {
  const { config } = rt;
  const app: FastifyInstance = await buildApi(rt);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  out(`\n15. API listening on ${url}`);
  out(`   Bull Board: ${url}/admin/queues  (user "${config.BULL_BOARD_USER ?? ''}", password "${config.BULL_BOARD_PASSWORD ?? ''}", read-only)`);
  out(`   Admin key (this run only): ${config.ADMIN_API_KEY ?? ''}`);
  out(`   Members tab: curl -H "authorization: Bearer ${config.ADMIN_API_KEY ?? ''}" ${url}/api/v1/orgs/${orgId}/qbo/members`);

  const hire = sandbox.addEmployee(realmId, { GivenName: 'Nadia', FamilyName: 'Okafor', DisplayName: 'Nadia Okafor (webhook demo)', Active: true });
  const sent = await sandbox.sendWebhook(`${url}/webhooks/quickbooks`, {
    format: 'cloudevents',
    verifierToken: config.QBO_WEBHOOK_VERIFIER_TOKEN ?? '',
    events: [{ realmId, id: hire.Id, operation: 'Create' }],
  });
  out(`16. The sandbox hired "${hire.DisplayName ?? ''}" (Id ${hire.Id}) and sent a signed CloudEvents webhook: HTTP ${sent.status}`);
  const deadline = Date.now() + 60_000;
  let run: SyncRunDoc | null = null;
  while (Date.now() < deadline) {
    run = await SyncRun.findOne({ orgId, trigger: 'webhook', state: { $in: ['succeeded', 'failed'] } }).lean<SyncRunDoc>();
    if (run) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (run) out(`   → webhook-triggered ${run.mode ?? ''} sync ${String(run._id)}: ${run.state}, ${run.counts.fetched} fetched, ${run.counts.created} created; "${run.message ?? ''}"`);
  else out('   → no webhook-triggered sync finished within 60 s');

  if (serve) {
    out(`\nServing until Ctrl-C (Bull Board: ${url}/admin/queues).`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  }
  return { close: () => app.close() };
}
