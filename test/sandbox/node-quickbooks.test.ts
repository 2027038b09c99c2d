// The sandbox driven by node-quickbooks 2.0.50 itself: the URLs, query parameters and bodies
// its createTimeActivity, batch, getTimeActivity and findTimeActivities really send.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startQboSandbox } from '../../sandbox/server';
import type { CompanyInput, QboSandbox, RawTimeActivity } from '../../sandbox/server';
import { fixtureJson } from '../helpers/qbo-fixtures';

type Callback = (err: unknown, data: unknown) => void;
interface NodeQuickBooks {
  endpoint: string;
  createTimeActivity(ta: Record<string, unknown>, cb: Callback): void;
  getTimeActivity(id: string, cb: Callback): void;
  findTimeActivities(criteria: string, cb: Callback): void;
  batch(items: Record<string, unknown>[], cb: Callback): void;
}

// The bundled types disagree with the runtime export (shared/QBO.md): load it as CommonJS.
const require = createRequire(import.meta.url);
const QuickBooks = require('node-quickbooks') as new (opts: Record<string, unknown>) => NodeQuickBooks;

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string): Record<string, unknown> => fixtureJson(name) as Record<string, unknown>;
const demo = JSON.parse(readFileSync(path.join(root, 'sandbox/companies/demo.json'), 'utf8')) as CompanyInput;

const REALM = '9130357766431234';
let sb: QboSandbox;
let qbo: NodeQuickBooks;

beforeEach(async () => {
  sb = await startQboSandbox();
  sb.loadCompany(REALM, demo);
  const res = await fetch(sb.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('sandbox-client-id:sandbox-client-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: sb.issueAuthorizationCode(REALM) }).toString(),
  });
  const { access_token } = (await res.json()) as { access_token: string };
  qbo = new QuickBooks({ token: access_token, realmId: REALM, useSandbox: true, minorversion: 75, oauthversion: '2.0' });
  qbo.endpoint = `${sb.url}/v3/company/`;
});

afterEach(async () => {
  await sb.close();
});

/** node-quickbooks' callbacks as a promise (a Fault in a 200 arrives as a plain object: wrap it). */
function call<T>(run: (cb: Callback) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((err, data) => {
      if (!err) resolve(data as T);
      else reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
    });
  });
}

/** What node-quickbooks rejects with: since 2.0.48 an AxiosError carrying Intuit's body. */
async function failure(p: Promise<unknown>): Promise<{ status?: number; code?: string; data?: unknown }> {
  const err = (await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  )) as { response?: { status: number; data: unknown }; code?: string };
  return { status: err.response?.status, code: err.code, data: err.response?.data };
}

const fixtureRequest = (): Record<string, unknown> => fixture('timeactivity-create-request.json');

describe('node-quickbooks against the sandbox', () => {
  it('createTimeActivity sends the requestid as a query parameter and gets the TimeActivity back', async () => {
    const ta = { ...fixtureRequest(), requestId: 'nq-entry-1' };
    const created = await call<RawTimeActivity>((cb) => qbo.createTimeActivity(ta, cb));
    expect(created).toMatchObject({ Id: '1', StartTime: '2021-02-02T08:00:00-08:00', BillableStatus: 'NotBillable' });
    const sent = sb.requests.find((r) => r.endpoint === 'timeactivity');
    expect(sent).toMatchObject({ method: 'POST', path: `/v3/company/${REALM}/timeactivity`, requestId: 'nq-entry-1', status: 200 });
    expect('requestId' in ta).toBe(false); // node-quickbooks deletes it from the object it was given

    const again = await call<RawTimeActivity>((cb) => qbo.createTimeActivity({ ...fixtureRequest(), requestId: 'nq-entry-1' }, cb));
    expect(again).toEqual(created);
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['nq-entry-1', 1]]));
  });

  it('a refused create rejects with the Fault in err.response.data', async () => {
    const f = await failure(call((cb) => qbo.createTimeActivity({ ...fixtureRequest(), EmployeeRef: { value: '84' } }, cb)));
    expect(f.status).toBe(400);
    expect((f.data as { Fault: unknown }).Fault).toEqual(fixture('fault-inactive-610.json').Fault);
  });

  it('batch posts BatchItemRequest and reads BatchItemResponse, but can send no requestid', async () => {
    const items = [
      { bId: '1', operation: 'create', TimeActivity: fixtureRequest() },
      { bId: '2', operation: 'create', TimeActivity: { ...fixtureRequest(), EmployeeRef: { value: '4242' } } },
    ];
    const answer = await call<{ BatchItemResponse: Array<{ bId: string; TimeActivity?: RawTimeActivity; Fault?: { Error: Array<{ code: string }> } }> }>(
      (cb) => qbo.batch(items, cb),
    );
    expect(answer.BatchItemResponse.map((i) => i.bId)).toEqual(['1', '2']);
    expect(answer.BatchItemResponse[0]?.TimeActivity?.Id).toBe('1');
    expect(answer.BatchItemResponse[1]?.Fault?.Error[0]?.code).toBe('2500');
    const sent = sb.requests.find((r) => r.endpoint === 'batch');
    expect(sent).toMatchObject({ path: `/v3/company/${REALM}/batch`, status: 200 });
    // batch() builds its URL itself: no way to pass ?requestid=, so a batch through it has no replay.
    expect(sent?.requestId).toBeUndefined();
  });

  it('getTimeActivity and findTimeActivities read what was written', async () => {
    await call((cb) => qbo.createTimeActivity(fixtureRequest(), cb));
    await call((cb) => qbo.createTimeActivity({ ...fixtureRequest(), TxnDate: '2021-03-01' }, cb));
    const one = await call<RawTimeActivity>((cb) => qbo.getTimeActivity('2', cb));
    expect(one.TxnDate).toBe('2021-03-01');
    const found = await call<{ QueryResponse: { TimeActivity?: RawTimeActivity[] } }>((cb) =>
      qbo.findTimeActivities("where TxnDate >= '2021-02-01' AND TxnDate <= '2021-02-28'", cb),
    );
    expect(found.QueryResponse.TimeActivity?.map((t) => t.Id)).toEqual(['1']);
  });

  it('commit-then-drop: the retry must carry the requestid again, because node-quickbooks deleted it', async () => {
    sb.injectFault({ kind: 'commit-then-drop', endpoint: 'timeactivity', times: 2 });
    const ta = { ...fixtureRequest(), requestId: 'nq-lost' };
    const dropped = await failure(call((cb) => qbo.createTimeActivity(ta, cb)));
    expect(dropped.status).toBeUndefined(); // no answer at all
    expect(dropped.code).toBe('ECONNRESET'); // "socket hang up": did it land? the client cannot know
    expect(sb.timeActivities(REALM)).toHaveLength(1); // yet it landed

    // Retrying with the same object sends no requestid: a second TimeActivity.
    await failure(call((cb) => qbo.createTimeActivity(ta, cb)));
    expect(sb.timeActivities(REALM)).toHaveLength(2);
    // Retrying with the requestid set again replays the first answer.
    const replayed = await call<RawTimeActivity>((cb) => qbo.createTimeActivity({ ...fixtureRequest(), requestId: 'nq-lost' }, cb));
    expect(replayed.Id).toBe('1');
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['nq-lost', 1]]));
  });
});
