// TimeActivity create checks, the per-realm ledger, the batch envelope and the limiter: pure
// logic, many small cases. The HTTP side is in writes.test.ts.
import { describe, expect, it } from 'vitest';
import { BATCH_MAX_ITEMS, checkBatch, itemTimeActivity } from '../../sandbox/batch';
import type { BatchItem } from '../../sandbox/batch';
import { Limiter } from '../../sandbox/limits';
import { DESCRIPTION_MAX, TimeActivityLedger, checkTimeActivity } from '../../sandbox/timeactivity';
import type { TimeActivityContext } from '../../sandbox/timeactivity';
import type { RawEmployee } from '../../sandbox/types';
import { fixtureJson } from '../helpers/qbo-fixtures';

const fixture = (name: string): Record<string, unknown> => fixtureJson(name) as Record<string, unknown>;

const employees = new Map<string, RawEmployee>([
  ['55', { Id: '55', SyncToken: '0', DisplayName: 'Emily Platt', Active: true }],
  ['56', { Id: '56', SyncToken: '0', DisplayName: 'John Johnson', Active: true }],
  ['84', { Id: '84', SyncToken: '1', DisplayName: 'Victor Huang', Active: false }],
]);
const ctx: TimeActivityContext = { employee: (id) => employees.get(id), offsetMinutes: -480 };

/** A valid hours-based create; override any field, `undefined` removes it. */
function body(over: Record<string, unknown> = {}): Record<string, unknown> {
  const b: Record<string, unknown> = {
    TxnDate: '2026-03-02',
    NameOf: 'Employee',
    EmployeeRef: { value: '55' },
    Hours: 7,
    Minutes: 30,
    ...over,
  };
  for (const k of Object.keys(b)) if (b[k] === undefined) delete b[k];
  return b;
}

/** The fault code a body is refused with, or 'ok'. */
function code(b: unknown): string {
  const r = checkTimeActivity(b, ctx);
  return r.ok ? 'ok' : r.fault.code;
}

describe('checkTimeActivity', () => {
  it('accepts the public request fixture and answers with every field of the response fixture', () => {
    const r = checkTimeActivity(fixture('timeactivity-create-request.json'), ctx);
    if (!r.ok) throw new Error(r.fault.Detail);
    const row = new TimeActivityLedger().add(r.draft, '2021-02-02T10:12:02-08:00', undefined);
    const expected = fixture('timeactivity-create-response.json').TimeActivity as Record<string, unknown>;
    expect(Object.keys(row).sort()).toEqual(Object.keys(expected).sort());
    expect({ ...row, Id: expected.Id }).toEqual(expected);
  });

  it('takes Hours and Minutes, defaults what Intuit defaults', () => {
    const r = checkTimeActivity(body({ Description: 'Fixing the dock' }), ctx);
    expect(r.ok && r.draft).toEqual({
      TxnDate: '2026-03-02',
      NameOf: 'Employee',
      EmployeeRef: { name: 'Emily Platt', value: '55' },
      ItemRef: { name: 'Hours', value: '2' },
      BillableStatus: 'NotBillable',
      Taxable: false,
      HourlyRate: 0,
      Hours: 7,
      Minutes: 30,
      Description: 'Fixing the dock',
    });
    expect(code(body({ Minutes: undefined }))).toBe('ok'); // Minutes absent is 0
    expect(code(body({ Hours: '8', Minutes: '0' }))).toBe('ok'); // numeric strings read as numbers
    expect(code(body({ Hours: 24, Minutes: 0 }))).toBe('ok');
  });

  it('expands StartTime/EndTime to full date-times in the company offset', () => {
    const span = (start: string, end: string) => {
      const r = checkTimeActivity(body({ Hours: undefined, Minutes: undefined, StartTime: start, EndTime: end }), ctx);
      return r.ok ? [r.draft.StartTime, r.draft.EndTime] : r.fault.code;
    };
    expect(span('08:00:00-08:00', '17:00:00-08:00')).toEqual(['2026-03-02T08:00:00-08:00', '2026-03-02T17:00:00-08:00']);
    expect(span('11:00:00-05:00', '20:00:00-05:00')).toEqual(['2026-03-02T08:00:00-08:00', '2026-03-02T17:00:00-08:00']);
    expect(span('2026-03-02T22:00:00-08:00', '2026-03-03T06:00:00-08:00')).toEqual(['2026-03-02T22:00:00-08:00', '2026-03-03T06:00:00-08:00']);
    expect(span('2026-03-02T16:00:00Z', '2026-03-02T16:30:00.000Z')).toEqual(['2026-03-02T08:00:00-08:00', '2026-03-02T08:30:00-08:00']);
    expect(span('17:00:00-08:00', '08:00:00-08:00')).toBe('6370'); // overnight needs full date-times
    expect(span('08:00:00-08:00', '08:00:00-08:00')).toBe('6370');
    expect(span('2026-03-02T08:00:00-08:00', '2026-03-03T08:00:01-08:00')).toBe('6380'); // over 24 h
    expect(span('08:00:00', '17:00:00')).toBe('2060'); // no zone: whose 8 o'clock?
    expect(span('8am', '5pm')).toBe('2060');
    expect(span('25:00:00-08:00', '26:00:00-08:00')).toBe('2060');
  });

  it.each([
    ['a non-object body', [1, 2], '2010'],
    ['an unknown property', body({ Houres: 3 }), '2010'],
    ['a per-entity requestId', body({ requestId: 'abc' }), '2010'],
    ['an Id (an update)', body({ Id: '6' }), '500'],
    ['NameOf missing', body({ NameOf: undefined }), '6300'],
    ['NameOf Customer', body({ NameOf: 'Customer' }), '6300'],
    ['NameOf Vendor', body({ NameOf: 'Vendor', EmployeeRef: undefined, VendorRef: { value: '9' } }), '500'],
    ['EmployeeRef missing', body({ EmployeeRef: undefined }), '2020'],
    ['EmployeeRef without value', body({ EmployeeRef: { name: 'Emily Platt' } }), '2020'],
    ['EmployeeRef as a bare id', body({ EmployeeRef: '55' }), '2010'],
    ['EmployeeRef and VendorRef', body({ VendorRef: { value: '9' } }), '6290'],
    ['TxnDate missing', body({ TxnDate: undefined }), '2020'],
    ['TxnDate not YYYY-MM-DD', body({ TxnDate: '03/02/2026' }), '2060'],
    ['TxnDate with a time', body({ TxnDate: '2026-03-02T00:00:00Z' }), '2060'],
    ['TxnDate not a real date', body({ TxnDate: '2026-02-30' }), '2070'],
    ['no time at all', body({ Hours: undefined, Minutes: undefined }), '6350'],
    ['Hours and StartTime', body({ StartTime: '08:00:00-08:00', EndTime: '09:00:00-08:00' }), '6390'],
    ['StartTime alone', body({ Hours: undefined, Minutes: undefined, StartTime: '08:00:00-08:00' }), '6360'],
    ['zero time', body({ Hours: 0, Minutes: 0 }), '6340'],
    ['Hours 25', body({ Hours: 25, Minutes: 0 }), '6380'],
    ['Hours 24, Minutes 30', body({ Hours: 24, Minutes: 30 }), '6380'],
    ['Hours 7.5', body({ Hours: 7.5, Minutes: 0 }), '6380'],
    ['Hours -1', body({ Hours: -1 }), '6380'],
    ['Minutes 60', body({ Minutes: 60 }), '6380'],
    ['Hours "eight"', body({ Hours: 'eight' }), '2080'],
    ['a break as long as the work', body({ Hours: 1, Minutes: 0, BreakHours: 1, BreakMinutes: 0 }), '6360'],
    ['Description of 4001 characters', body({ Description: 'x'.repeat(DESCRIPTION_MAX + 1) }), '2050'],
    ['BillableStatus unknown', body({ BillableStatus: 'Maybe' }), '6320'],
    ['Billable without CustomerRef', body({ BillableStatus: 'Billable', HourlyRate: 50 }), '6310'],
    ['Billable without HourlyRate', body({ BillableStatus: 'Billable', CustomerRef: { value: '3' } }), '6330'],
    ['a negative HourlyRate', body({ HourlyRate: -5 }), '6330'],
    ['an empty HourlyRate', body({ BillableStatus: 'Billable', CustomerRef: { value: '3' }, HourlyRate: '' }), '6330'],
    ['HourlyRate true', body({ HourlyRate: true }), '6330'],
    ['Taxable "yes"', body({ Taxable: 'yes' }), '2010'],
    ['an unknown employee', body({ EmployeeRef: { value: '4242' } }), '2500'],
    ['an inactive employee', body({ EmployeeRef: { value: '84' } }), '610'],
  ])('refuses %s', (_what, b, expected) => {
    expect(code(b)).toBe(expected);
  });

  it('accepts the edges', () => {
    expect(code(body({ Description: 'x'.repeat(DESCRIPTION_MAX) }))).toBe('ok');
    expect(code(body({ BillableStatus: 'Billable', CustomerRef: { value: '3', name: 'Acme' }, HourlyRate: 85.5 }))).toBe('ok');
    expect(code(body({ BillableStatus: 'Billable', CustomerRef: { value: '3' }, HourlyRate: '40.00' }))).toBe('ok');
    expect(code(body({ EmployeeRef: { value: 56 } }))).toBe('ok'); // a numeric id reads as its digits
    expect(code(body({ SyncToken: '0', domain: 'QBO', sparse: false }))).toBe('ok'); // read-only echoes are ignored
    expect(code(body({ Hours: 2, Minutes: 0, BreakHours: 0, BreakMinutes: 30 }))).toBe('ok');
  });

  it('names the unknown employee and matches the 610 fixture exactly for an inactive one', () => {
    const unknown = checkTimeActivity(body({ EmployeeRef: { value: '4242' } }), ctx);
    expect(!unknown.ok && unknown.fault).toEqual({
      Message: 'Invalid Reference Id',
      Detail: 'Invalid Reference Id : Names element id 4242 not found',
      code: '2500',
      element: 'EmployeeRef',
    });
    const inactive = checkTimeActivity(body({ EmployeeRef: { value: '84' } }), ctx);
    const fault610 = fixture('fault-inactive-610.json').Fault as { Error: unknown[] };
    expect(!inactive.ok && inactive.fault).toEqual(fault610.Error[0]);
  });

  it('reports the first problem only, body before references', () => {
    const r = checkTimeActivity(body({ EmployeeRef: { value: '84' }, TxnDate: 'soon' }), ctx);
    expect(!r.ok && r.fault.code).toBe('2060');
  });

  it('does not change the body it is given', () => {
    const b = body({ ClassRef: { value: '7' } });
    const before = structuredClone(b);
    const r = checkTimeActivity(b, ctx);
    if (r.ok) (r.draft.ClassRef as { value: string }).value = 'changed';
    expect(b).toEqual(before);
  });
});

describe('TimeActivityLedger', () => {
  it('numbers rows in creation order and counts what each requestid created', () => {
    const ledger = new TimeActivityLedger();
    const r = checkTimeActivity(body(), ctx);
    if (!r.ok) throw new Error(r.fault.Detail);
    const a = ledger.add(r.draft, '2026-03-02T10:00:00-08:00', 'req-1');
    const b = ledger.add(r.draft, '2026-03-02T10:00:01-08:00', 'req-1');
    ledger.add(r.draft, '2026-03-02T10:00:02-08:00', undefined);
    expect([a.Id, b.Id]).toEqual(['1', '2']);
    expect(ledger.all().map((t) => t.Id)).toEqual(['1', '2', '3']);
    expect(ledger.get('2')?.MetaData).toEqual({ CreateTime: '2026-03-02T10:00:01-08:00', LastUpdatedTime: '2026-03-02T10:00:01-08:00' });
    expect(ledger.countByRequestId()).toEqual(new Map([['req-1', 2]]));
  });

  it('keeps the first answer of a requestid', () => {
    const ledger = new TimeActivityLedger();
    ledger.remember('r', { status: 200, body: 'first' });
    ledger.remember('r', { status: 400, body: 'second' });
    expect(ledger.firstAnswer('r')).toEqual({ status: 200, body: 'first' });
    expect(ledger.firstAnswer('other')).toBeUndefined();
  });
});

describe('checkBatch', () => {
  const item = (bId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    bId,
    operation: 'create',
    TimeActivity: body(),
    ...extra,
  });
  const batchCode = (b: unknown, withRequestId = false): string => {
    const r = checkBatch(b, withRequestId);
    return r.ok ? 'ok' : r.fault.code;
  };

  it('takes 1 to 30 items with distinct bIds', () => {
    const thirty = Array.from({ length: BATCH_MAX_ITEMS }, (_, i) => item(String(i + 1)));
    const r = checkBatch({ BatchItemRequest: thirty }, true);
    expect(r.ok && r.items.map((i) => i.bId)).toEqual(thirty.map((i) => i.bId));
    expect(batchCode({ BatchItemRequest: [...thirty, item('31')] })).toBe('1040');
    expect(batchCode({ BatchItemRequest: [] })).toBe('2020');
    expect(batchCode({ Items: [item('1')] })).toBe('2020');
    expect(batchCode([item('1')])).toBe('2020');
    expect(batchCode({ BatchItemRequest: [{ operation: 'create', TimeActivity: body() }] })).toBe('2020');
    expect(batchCode({ BatchItemRequest: [item('1'), item('1')] })).toBe('2010');
  });

  it('allows bIds of at most 10 characters when the batch has a requestid', () => {
    const long = { BatchItemRequest: [item('entry-000123')] };
    expect(batchCode(long, false)).toBe('ok');
    expect(batchCode(long, true)).toBe('2050');
  });

  it('answers per item what the sandbox does not serve, and refuses per-item requestids', () => {
    const one = (raw: Record<string, unknown>): string => {
      const r = itemTimeActivity({ bId: String(raw.bId), raw } satisfies BatchItem);
      return r.ok ? 'ok' : r.fault.code;
    };
    expect(one(item('1'))).toBe('ok');
    expect(one(item('1', { requestId: 'x' }))).toBe('2010');
    expect(one(item('1', { operation: 'update' }))).toBe('500');
    expect(one({ bId: '1', operation: 'create', Customer: { DisplayName: 'A' } })).toBe('500');
    expect(one({ bId: '1', Query: 'select * from TimeActivity' })).toBe('500');
    expect(one({ bId: '1', operation: 'create' })).toBe('2020');
    expect(one(item('1', { color: 'blue' }))).toBe('2010');
  });
});

describe('Limiter', () => {
  it('admits everything with limits off, but still records the peak in flight', () => {
    const l = new Limiter(undefined);
    const held = Array.from({ length: 25 }, () => l.admit('r', false));
    expect(held.every((a) => a.ok)).toBe(true);
    for (const a of held) if (a.ok) a.release();
    expect(l.admit('r', false).ok).toBe(true);
    expect(l.peakConcurrency('r')).toBe(25);
    expect(l.throttled('r')).toBe(0);
    expect(l.peakConcurrency('unknown')).toBe(0);
  });

  it('refuses past the window, per realm, and frees the window as it slides', () => {
    const l = new Limiter({ perMinute: 3, windowMs: 1000 });
    const at = (t: number, realm = 'a') => l.admit(realm, false, t).ok;
    expect([at(0), at(10), at(20), at(30)]).toEqual([true, true, true, false]);
    expect(at(30, 'b')).toBe(true);
    expect(at(999)).toBe(false);
    expect(at(1000)).toBe(true); // the first one left the window
    expect(l.throttled('a')).toBe(2);
    expect(l.throttled('b')).toBe(0);
  });

  it('limits batch requests on their own window, and counts them as requests too', () => {
    const l = new Limiter({ perMinute: 5, batchPerMinute: 2 });
    const got = [true, true, true, false, false].map((isBatch, i) => l.admit('r', isBatch, i).ok);
    expect(got).toEqual([true, true, false, true, true]);
    expect(l.admit('r', false, 10).ok).toBe(false); // 5 requests in the window: the refused batch counted
    expect(l.throttled('r')).toBe(2);
  });

  it('refuses the request past `concurrent` and lets the next in after a release', () => {
    const l = new Limiter({ concurrent: 2 });
    const a = l.admit('r', false);
    const b = l.admit('r', false);
    expect(l.admit('r', false).ok).toBe(false);
    expect(l.peakConcurrency('r')).toBe(3); // the refused one was in flight too, as the client sees it
    if (a.ok) {
      a.release();
      a.release(); // twice is once
    }
    expect(l.admit('r', false).ok).toBe(true);
    expect(l.admit('r', false).ok).toBe(false);
    expect(b.ok).toBe(true);
    l.resetStats();
    expect(l.throttled('r')).toBe(0);
    expect(l.peakConcurrency('r')).toBe(2); // what is still in flight
  });

  it('refuses a window that is not positive', () => {
    expect(() => new Limiter({ windowMs: 0 })).toThrow(/windowMs/);
  });
});
