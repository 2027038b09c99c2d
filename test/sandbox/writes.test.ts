// TimeActivity writes over real HTTP: create, requestid replay, batch, read and query, faults on
// the write endpoints (commit-then-drop above all) and Intuit's limits on every endpoint.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startQboSandbox } from '../../sandbox/server';
import type { CompanyInput, QboSandbox, RawTimeActivity, SandboxOptions } from '../../sandbox/server';
import { fixtureText } from '../helpers/qbo-fixtures';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixtureText(name)) as T;
const demo = JSON.parse(readFileSync(path.join(root, 'sandbox/companies/demo.json'), 'utf8')) as CompanyInput;

const REALM = '9130357766431234';
const OTHER = '4620816365000000';
const CLIENT = { id: 'test-client', secret: 'test-secret' };
const T0 = Date.parse('2026-03-02T18:00:00Z');

interface Fault {
  Fault: { Error: Array<{ Message: string; Detail: string; code: string; element?: string }>; type: string };
  time: string;
}
interface Created {
  TimeActivity: RawTimeActivity;
  time: string;
}
interface BatchAnswer {
  BatchItemResponse: Array<{ bId: string; TimeActivity?: RawTimeActivity; Fault?: Fault['Fault'] }>;
  time: string;
}

let clock = T0;
let sb: QboSandbox;
let token: string;

async function start(opts: SandboxOptions = {}): Promise<QboSandbox> {
  const s = await startQboSandbox({ clientId: CLIENT.id, clientSecret: CLIENT.secret, now: () => new Date(clock), ...opts });
  s.loadCompany(REALM, demo);
  s.loadCompany(OTHER, { employees: [{ Id: '1', GivenName: 'Other', FamilyName: 'Person' }] });
  return s;
}

async function accessToken(s: QboSandbox, realmId = REALM): Promise<string> {
  const res = await fetch(s.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: s.issueAuthorizationCode(realmId) }).toString(),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

beforeEach(async () => {
  clock = T0;
  sb = await start();
  token = await accessToken(sb);
});

afterEach(async () => {
  await sb.close();
});

function post(what: 'timeactivity' | 'batch', body: unknown, opts: { requestId?: string; realmId?: string; token?: string; s?: QboSandbox } = {}) {
  const s = opts.s ?? sb;
  const qs = new URLSearchParams({ minorversion: '75' });
  if (opts.requestId !== undefined) qs.set('requestid', opts.requestId);
  return fetch(`${s.url}/v3/company/${opts.realmId ?? REALM}/${what}?${qs.toString()}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token ?? token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function get(pathAndQuery: string, s = sb, t = token): Promise<Response> {
  return fetch(`${s.url}/v3/company/${REALM}${pathAndQuery}`, { headers: { authorization: `Bearer ${t}`, accept: 'application/json' } });
}

/** A valid create for employee 55 (Emily Platt); override any field. */
function entry(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { TxnDate: '2026-03-02', NameOf: 'Employee', EmployeeRef: { value: '55' }, Hours: 1, Minutes: 15, ...over };
}

async function fault(res: Response, status = 400): Promise<Fault['Fault']['Error'][number]> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Fault;
  expect(body.Fault.type).toBe('ValidationFault');
  expect(body.Fault.Error).toHaveLength(1);
  expect(body.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-08:00$/);
  return body.Fault.Error[0] as Fault['Fault']['Error'][number];
}

describe('TimeActivity create', () => {
  it('accepts the request fixture and answers in the shape of the response fixture', async () => {
    const res = await post('timeactivity', fixtureText('timeactivity-create-request.json'), { requestId: 'fixture-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    const body = (await res.json()) as Created;
    const expected = fixture<Created>('timeactivity-create-response.json');
    expect(Object.keys(body).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(body.TimeActivity).sort()).toEqual(Object.keys(expected.TimeActivity).sort());
    const { Id, MetaData, ...rest } = body.TimeActivity;
    const { Id: _id, MetaData: _meta, ...expectedRest } = expected.TimeActivity;
    expect(rest).toEqual(expectedRest);
    expect(Id).toBe('1');
    expect(MetaData).toEqual({ CreateTime: '2026-03-02T10:00:00-08:00', LastUpdatedTime: '2026-03-02T10:00:00-08:00' });
    expect(body.time).toBe('2026-03-02T10:00:00.000-08:00');
    expect(sb.timeActivities(REALM)).toEqual([body.TimeActivity]);
  });

  it('answers validation faults with status 400 and creates nothing', async () => {
    const inactive = await post('timeactivity', entry({ EmployeeRef: { value: '84' } }));
    expect(inactive.status).toBe(400);
    const body = (await inactive.json()) as Fault;
    expect(body.Fault).toEqual(fixture<Fault>('fault-inactive-610.json').Fault);

    expect(await fault(await post('timeactivity', entry({ EmployeeRef: { value: '4242' } })))).toMatchObject({
      code: '2500',
      Message: 'Invalid Reference Id',
    });
    expect((await fault(await post('timeactivity', entry({ BillableStatus: 'Billable', HourlyRate: 40 })))).code).toBe('6310');
    expect((await fault(await post('timeactivity', 'not json'))).code).toBe('2010');
    expect((await fault(await post('timeactivity', entry({ Description: 'd'.repeat(4001) })))).code).toBe('2050');
    expect(sb.timeActivities(REALM)).toEqual([]);
  });

  it('checks the token and the realm like every API endpoint', async () => {
    expect((await post('timeactivity', entry(), { token: 'nope' })).status).toBe(401);
    expect((await post('timeactivity', entry(), { realmId: OTHER })).status).toBe(403);
    expect(sb.timeActivities(REALM)).toHaveLength(0);
    expect(sb.timeActivities(OTHER)).toHaveLength(0);
  });

  it('does not serve updates or deletes on the same path', async () => {
    const res = await fetch(`${sb.url}/v3/company/${REALM}/timeactivity?operation=delete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ Id: '1', SyncToken: '0' }),
    });
    expect(res.status).toBe(404);
    expect((await fault(await post('timeactivity', entry({ Id: '1' })))).code).toBe('500');
  });
});

describe('requestid', () => {
  it('replays the first answer byte for byte and writes once', async () => {
    const first = await post('timeactivity', entry(), { requestId: 'entry-17' });
    const firstText = await first.text();
    clock += 5000;
    const again = await post('timeactivity', entry({ Hours: 9 }), { requestId: 'entry-17' }); // the body of a repeat is not read
    expect(again.status).toBe(200);
    expect(await again.text()).toBe(firstText);
    expect(sb.timeActivities(REALM)).toHaveLength(1);
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['entry-17', 1]]));
    expect(sb.requests.filter((r) => r.endpoint === 'timeactivity').map((r) => r.requestId)).toEqual(['entry-17', 'entry-17']);
  });

  it('replays a fault too: the first answer is the answer', async () => {
    const first = await fault(await post('timeactivity', entry({ EmployeeRef: { value: '84' } }), { requestId: 'r-610' }));
    sb.updateEmployee(REALM, '84', { Active: true });
    const again = await fault(await post('timeactivity', entry({ EmployeeRef: { value: '84' } }), { requestId: 'r-610' }));
    expect(again).toEqual(first);
    expect((await post('timeactivity', entry({ EmployeeRef: { value: '84' } }), { requestId: 'r-610b' })).status).toBe(200);
  });

  it('writes every time without one, and per realm with one', async () => {
    await post('timeactivity', entry());
    await post('timeactivity', entry());
    await post('timeactivity', entry(), { requestId: '' }); // empty is none
    expect(sb.timeActivities(REALM).map((t) => t.Id)).toEqual(['1', '2', '3']);
    const otherToken = await accessToken(sb, OTHER);
    const inOther = await post('timeactivity', entry({ EmployeeRef: { value: '1' } }), { requestId: 'shared', realmId: OTHER, token: otherToken });
    const inThis = await post('timeactivity', entry(), { requestId: 'shared' });
    expect([inOther.status, inThis.status]).toEqual([200, 200]);
    expect(sb.timeActivityCountByRequestId(OTHER)).toEqual(new Map([['shared', 1]]));
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['shared', 1]]));
  });

  it('takes at most 50 characters (36 on batch)', async () => {
    expect((await post('timeactivity', entry(), { requestId: 'x'.repeat(50) })).status).toBe(200);
    const long = await fault(await post('timeactivity', entry(), { requestId: 'y'.repeat(51) }));
    expect(long).toMatchObject({ code: '2130', element: 'requestid' });
    const batch = { BatchItemRequest: [{ bId: '1', operation: 'create', TimeActivity: entry() }] };
    expect((await post('batch', batch, { requestId: 'b'.repeat(36) })).status).toBe(200);
    expect((await fault(await post('batch', batch, { requestId: 'c'.repeat(37) }))).code).toBe('2130');
    expect(sb.timeActivities(REALM)).toHaveLength(2);
  });

  it('is one namespace per realm: a batch reusing a create requestid gets the create answer', async () => {
    const created = await (await post('timeactivity', entry(), { requestId: 'same' })).text();
    const batch = await post('batch', { BatchItemRequest: [{ bId: '1', operation: 'create', TimeActivity: entry() }] }, { requestId: 'same' });
    expect(await batch.text()).toBe(created);
    expect(sb.timeActivities(REALM)).toHaveLength(1);
  });
});

describe('batch', () => {
  it('creates each item independently and answers in request order', async () => {
    const res = await post(
      'batch',
      {
        BatchItemRequest: [
          { bId: 'a', operation: 'create', TimeActivity: fixture('timeactivity-create-request.json') },
          { bId: 'b', operation: 'create', TimeActivity: entry({ EmployeeRef: { value: '84' } }) },
          { bId: 'c', operation: 'create', TimeActivity: entry({ Description: 'second' }) },
          { bId: 'd', operation: 'delete', TimeActivity: { Id: '1', SyncToken: '0' } },
          { bId: 'e', operation: 'create', TimeActivity: entry(), requestId: 'per-item' },
        ],
      },
      { requestId: 'batch-1' },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as BatchAnswer;
    expect(body.BatchItemResponse.map((i) => i.bId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const [a, b, c, d, e] = body.BatchItemResponse;
    expect(a?.TimeActivity).toMatchObject({ Id: '1', StartTime: '2021-02-02T08:00:00-08:00', EmployeeRef: { name: 'Emily Platt', value: '55' } });
    expect(b?.Fault).toEqual(fixture<Fault>('fault-inactive-610.json').Fault);
    expect(c?.TimeActivity).toMatchObject({ Id: '2', Description: 'second' });
    expect(d?.Fault?.Error[0]?.code).toBe('500');
    expect(e?.Fault?.Error[0]).toMatchObject({ code: '2010', element: 'requestId' });
    expect(Object.keys(a ?? {})).toEqual(['bId', 'TimeActivity']);
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['batch-1', 2]]));

    const replay = await post('batch', { BatchItemRequest: [{ bId: 'z', operation: 'create', TimeActivity: entry() }] }, { requestId: 'batch-1' });
    expect(((await replay.json()) as BatchAnswer).BatchItemResponse.map((i) => i.bId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(sb.timeActivities(REALM)).toHaveLength(2);
  });

  it('refuses more than 30 items, duplicate bIds and long bIds with a requestid, creating nothing', async () => {
    const items = (n: number, bId = (i: number) => String(i)) =>
      Array.from({ length: n }, (_, i) => ({ bId: bId(i), operation: 'create', TimeActivity: entry() }));
    expect(await fault(await post('batch', { BatchItemRequest: items(31) }))).toMatchObject({
      code: '1040',
      Message: 'Batch size exceeds allowed limit',
    });
    expect((await fault(await post('batch', { BatchItemRequest: items(2, () => 'same') }))).code).toBe('2010');
    expect((await fault(await post('batch', { BatchItemRequest: items(1, () => 'elevenchars') }, { requestId: 'r' }))).code).toBe('2050');
    expect((await fault(await post('batch', { BatchItemRequest: [] }))).code).toBe('2020');
    expect(sb.timeActivities(REALM)).toHaveLength(0);
    expect((await post('batch', { BatchItemRequest: items(30) })).status).toBe(200);
    expect(sb.timeActivities(REALM)).toHaveLength(30);
  });
});

describe('read and query', () => {
  beforeEach(async () => {
    for (const [i, day] of ['2026-02-27', '2026-03-01', '2026-03-02'].entries()) {
      clock = T0 + i * 1000;
      expect((await post('timeactivity', entry({ TxnDate: day }))).status).toBe(200);
    }
  });

  it('reads by id, 610 for an unknown one', async () => {
    const res = await get('/timeactivity/2?minorversion=75');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Created;
    expect(body.TimeActivity).toEqual(sb.timeActivities(REALM)[1]);
    expect((await fault(await get('/timeactivity/99'))).code).toBe('610');
    expect(sb.count('read', REALM)).toBe(2);
  });

  it('queries TimeActivity with TxnDate ranges and paging', async () => {
    const q = async (text: string): Promise<{ QueryResponse: Record<string, unknown> }> => {
      const res = await get(`/query?query=${encodeURIComponent(text)}&minorversion=75`);
      expect(res.status).toBe(200);
      return (await res.json()) as { QueryResponse: Record<string, unknown> };
    };
    const range = await q("SELECT * FROM TimeActivity WHERE TxnDate >= '2026-03-01' AND TxnDate <= '2026-03-31'");
    expect((range.QueryResponse.TimeActivity as RawTimeActivity[]).map((t) => t.Id)).toEqual(['2', '3']);
    expect(range.QueryResponse).toMatchObject({ startPosition: 1, maxResults: 2 });
    const paged = await q('SELECT * FROM TimeActivity STARTPOSITION 3 MAXRESULTS 5');
    expect((paged.QueryResponse.TimeActivity as RawTimeActivity[]).map((t) => t.Id)).toEqual(['3']);
    expect((await q("SELECT * FROM TimeActivity WHERE TxnDate > '2026-03-02'")).QueryResponse).toEqual({});
    expect((await q('SELECT COUNT(*) FROM TimeActivity')).QueryResponse).toEqual({ totalCount: 3 });
  });
});

describe('faults on the write endpoints', () => {
  it('throttle, server-error and silent write nothing; a retry with the same requestid writes once', async () => {
    sb.injectFault({ kind: 'throttle-json', endpoint: 'timeactivity' });
    sb.injectFault({ kind: 'server-error', endpoint: 'timeactivity' });
    sb.injectFault({ kind: 'silent', endpoint: 'timeactivity' });
    expect((await post('timeactivity', entry(), { requestId: 'r1' })).status).toBe(429);
    expect((await post('timeactivity', entry(), { requestId: 'r1' })).status).toBe(500);
    const silent = fetch(`${sb.url}/v3/company/${REALM}/timeactivity?requestid=r1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(entry()),
      signal: AbortSignal.timeout(150),
    });
    await expect(silent).rejects.toThrow();
    expect(sb.timeActivities(REALM)).toHaveLength(0);
    expect((await post('timeactivity', entry(), { requestId: 'r1' })).status).toBe(200);
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['r1', 1]]));
  });

  it('commit-then-drop: the write lands, the answer never comes, the retry gets the first answer', async () => {
    sb.injectFault({ kind: 'commit-then-drop', endpoint: 'timeactivity' });
    await expect(post('timeactivity', entry(), { requestId: 'lost-answer' })).rejects.toThrow();
    expect(sb.timeActivities(REALM)).toHaveLength(1);
    expect(sb.requests.at(-1)?.status).toBe(0);
    const retry = await post('timeactivity', entry(), { requestId: 'lost-answer' });
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as Created).TimeActivity.Id).toBe('1');
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['lost-answer', 1]]));

    // Without a requestid the same accident is a duplicate: what the client must avoid.
    sb.injectFault({ kind: 'commit-then-drop', endpoint: 'timeactivity' });
    await expect(post('timeactivity', entry())).rejects.toThrow();
    await post('timeactivity', entry());
    expect(sb.timeActivities(REALM)).toHaveLength(3);
  });

  it('hits batch on its own endpoint and through any; slow answers late but in full', async () => {
    const batch = { BatchItemRequest: [{ bId: '1', operation: 'create', TimeActivity: entry() }] };
    sb.injectFault({ kind: 'commit-then-drop', endpoint: 'batch' });
    await expect(post('batch', batch, { requestId: 'b1' })).rejects.toThrow();
    expect(((await (await post('batch', batch, { requestId: 'b1' })).json()) as BatchAnswer).BatchItemResponse[0]?.TimeActivity?.Id).toBe('1');

    sb.injectFault({ kind: 'throttle-xml' }); // endpoint 'any'
    expect((await post('batch', batch, { requestId: 'b2' })).status).toBe(429);
    sb.injectFault({ kind: 'server-error', endpoint: 'timeactivity' });
    expect((await post('batch', batch, { requestId: 'b2' })).status).toBe(200); // aimed elsewhere

    sb.injectFault({ kind: 'slow', endpoint: 'timeactivity', delayMs: 150 });
    const started = Date.now();
    expect((await post('timeactivity', entry())).status).toBe(500); // the server-error is still queued
    expect((await post('timeactivity', entry())).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(sb.timeActivityCountByRequestId(REALM)).toEqual(new Map([['b1', 1], ['b2', 1]]));
  });
});

describe('limits', () => {
  let limited: QboSandbox;
  let t: string;
  const open = async (limits: SandboxOptions['limits']): Promise<void> => {
    limited = await start({ limits });
    t = await accessToken(limited);
  };
  afterEach(async () => {
    await limited.close();
  });

  it('count writes, reads and queries against one per-window budget and count the 429s', async () => {
    await open({ perMinute: 4 });
    const statuses = [
      (await post('timeactivity', entry(), { s: limited, token: t })).status,
      (await get('/employee/55', limited, t)).status,
      (await get(`/query?query=${encodeURIComponent('SELECT * FROM TimeActivity')}`, limited, t)).status,
      (await post('batch', { BatchItemRequest: [{ bId: '1', operation: 'create', TimeActivity: entry() }] }, { s: limited, token: t })).status,
      (await post('timeactivity', entry(), { s: limited, token: t })).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect(limited.throttled(REALM)).toBe(1);
    expect(limited.timeActivities(REALM)).toHaveLength(2);
  });

  it('answer Intuit throttle JSON past the batch budget while single requests go on', async () => {
    await open({ batchPerMinute: 2 });
    const batch = { BatchItemRequest: [{ bId: '1', operation: 'create', TimeActivity: entry() }] };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post('batch', batch, { s: limited, token: t })).status);
    const refused = await post('batch', batch, { s: limited, token: t });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Fault).Fault).toEqual(fixture<Fault>('fault-429-throttle.json').Fault);
    expect((await post('timeactivity', entry(), { s: limited, token: t })).status).toBe(200);
    expect(statuses).toEqual([200, 200, 429]);
    expect(limited.throttled(REALM)).toBe(2);
  });

  it('refuse the request past 10 in flight, and record the peak so a benchmark can prove it stayed under', async () => {
    await open({ concurrent: 10 });
    limited.injectFault({ kind: 'slow', endpoint: 'read', delayMs: 300, times: 11 });
    const statuses = await Promise.all(Array.from({ length: 11 }, () => get('/employee/55', limited, t).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(limited.peakConcurrency(REALM)).toBe(11);
    expect(limited.throttled(REALM)).toBe(1);
    limited.resetRequests();
    expect([limited.peakConcurrency(REALM), limited.throttled(REALM)]).toEqual([0, 0]);
    expect((await get('/employee/55', limited, t)).status).toBe(200);
    expect(limited.peakConcurrency(REALM)).toBe(1);
  });

  it('scale with windowMs: the budget comes back after the shorter window', async () => {
    await open({ perMinute: 2, windowMs: 300 });
    const read = async (): Promise<number> => (await get('/employee/55', limited, t)).status;
    expect([await read(), await read(), await read()]).toEqual([200, 200, 429]);
    await new Promise((r) => setTimeout(r, 320));
    expect(await read()).toBe(200);
  });

  it('answer a realm id that is not valid percent-encoding instead of crashing', async () => {
    await open({ perMinute: 10 });
    const res = await fetch(`${limited.url}/v3/company/%E0%A4%A/timeactivity`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
      body: JSON.stringify(entry()),
    });
    expect(res.status).toBe(403);
    expect((await get('/employee/55', limited, t)).status).toBe(200);
  });

  it('stay off unless given, but peaks are recorded anyway', async () => {
    await open(undefined);
    limited.injectFault({ kind: 'slow', endpoint: 'any', delayMs: 200, times: 15 });
    const statuses = await Promise.all(Array.from({ length: 15 }, () => get('/employee/55', limited, t).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(limited.throttled(REALM)).toBe(0);
    expect(limited.peakConcurrency(REALM)).toBe(15);
    expect(limited.peakConcurrency(OTHER)).toBe(0);
  });
});
