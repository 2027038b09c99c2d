import { describe, expect, it } from 'vitest';
import {
  parseCdc, parseCount, parseEmployee, parseQboTime, parseQueryPage, parseRead, QboBodyError,
} from '../../src/qbo/parse';
import type { ParsedEmployee, QboEmployeeRecord } from '../../src/qbo/parse';
import { fixtureJson, fixtureText } from '../helpers/qbo-fixtures';

function record(parsed: ParsedEmployee): QboEmployeeRecord {
  if (!parsed.ok) throw new Error(`expected a parsed employee, got problem: ${parsed.problem}`);
  if (parsed.value.deleted) throw new Error('expected a full employee, got a deleted stub');
  return parsed.value;
}

function employee(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { Id: '7', SyncToken: '0', GivenName: 'Emily', FamilyName: 'Platt', DisplayName: 'Emily Platt', Active: true, ...overrides };
}

function bodyError(fn: () => unknown): QboBodyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(QboBodyError);
    return err as QboBodyError;
  }
  throw new Error('expected a QboBodyError');
}

describe('parseEmployee', () => {
  it('reads the employee of employee-read.json', () => {
    const raw = parseRead(fixtureJson('employee-read.json'));
    expect(record(parseEmployee(raw))).toEqual({
      qboId: '71', syncToken: '0', givenName: 'Bill', middleName: null, familyName: 'Miller', displayName: 'Bill Miller',
      email: null, employeeNumber: null, active: true, deleted: false, qboUpdatedAt: new Date('2015-07-24T16:34:35Z'),
    });
  });

  it('an employee without PrimaryEmailAddr has email null', () => {
    const { rows } = parseQueryPage(fixtureJson('employee-query-sandbox-company.json'));
    for (const row of rows) expect(record(parseEmployee(row)).email).toBeNull();
  });

  it('reads the email from PrimaryEmailAddr.Address, trimmed', () => {
    expect(record(parseEmployee(employee({ PrimaryEmailAddr: { Address: ' emily@example.com ' } }))).email).toBe('emily@example.com');
  });

  it('a blank or whitespace email is null', () => {
    expect(record(parseEmployee(employee({ PrimaryEmailAddr: { Address: '  ' } }))).email).toBeNull();
    expect(record(parseEmployee(employee({ PrimaryEmailAddr: {} }))).email).toBeNull();
    expect(record(parseEmployee(employee({ PrimaryEmailAddr: null }))).email).toBeNull();
  });

  it('blank and whitespace-only names become null', () => {
    const e = record(parseEmployee(employee({ GivenName: '', MiddleName: ' \t', FamilyName: '   ', DisplayName: '\u00A0' })));
    expect(e).toMatchObject({ givenName: null, middleName: null, familyName: null, displayName: null });
  });

  it('names of the wrong type are treated as missing', () => {
    const e = record(parseEmployee(employee({ GivenName: { value: 'x' }, FamilyName: ['Platt'] })));
    expect(e).toMatchObject({ givenName: null, familyName: null, displayName: 'Emily Platt' });
  });

  it('missing Active means active', () => {
    const { Active: _unused, ...noActive } = employee();
    expect(record(parseEmployee(noActive)).active).toBe(true);
  });

  it('reads an inactive employee from the CDC sample', () => {
    const rows = parseCdc(fixtureJson('cdc-employee.json'));
    const miguel = record(parseEmployee(rows[1]));
    expect(miguel).toMatchObject({ qboId: '63', active: false, givenName: 'Miguel', familyName: 'Estevez', email: null });
    expect(miguel.qboUpdatedAt).toEqual(new Date('2026-03-02T17:59:40Z'));
  });

  it('turns a Deleted CDC row into a stub without names or email', () => {
    const rows = parseCdc(fixtureJson('cdc-employee.json'));
    expect(parseEmployee(rows[2])).toEqual({
      ok: true, value: { qboId: '979', deleted: true, qboUpdatedAt: new Date('2026-03-02T17:59:50Z') },
    });
  });

  it('a numeric Id becomes a string', () => {
    expect(record(parseEmployee(employee({ Id: 55 }))).qboId).toBe('55');
  });

  it('numeric SyncToken and EmployeeNumber become strings', () => {
    expect(record(parseEmployee(employee({ SyncToken: 3, EmployeeNumber: 1042 })))).toMatchObject({ syncToken: '3', employeeNumber: '1042' });
  });

  it('a missing Id is a problem, not a row', () => {
    const { Id: _unused, ...noId } = employee();
    expect(parseEmployee(noId)).toEqual({ ok: false, qboId: null, problem: expect.any(String) as unknown });
  });

  it('a blank, fractional or object Id is a problem', () => {
    for (const Id of ['  ', 1.5, { value: '7' }, null, true]) {
      expect(parseEmployee(employee({ Id })).ok).toBe(false);
    }
  });

  it('a row that is not an object is a problem', () => {
    for (const raw of [null, 'Emily', 7, [employee()]]) {
      expect(parseEmployee(raw)).toMatchObject({ ok: false, qboId: null });
    }
  });

  it('reads MiddleName and EmployeeNumber', () => {
    expect(record(parseEmployee(employee({ MiddleName: 'Jane', EmployeeNumber: 'E-7' })))).toMatchObject({ middleName: 'Jane', employeeNumber: 'E-7' });
  });

  it('an unreadable LastUpdatedTime is null, not an error', () => {
    expect(record(parseEmployee(employee({ MetaData: { LastUpdatedTime: 'yesterday' } }))).qboUpdatedAt).toBeNull();
  });
});

describe('parseQueryPage', () => {
  it('reads the sample company page', () => {
    const page = parseQueryPage(fixtureJson('employee-query-sandbox-company.json'));
    expect(page.rows).toHaveLength(3);
    expect(page.startPosition).toBe(1);
    expect(page.maxResults).toBe(3);
    expect(page.rows.map((r) => record(parseEmployee(r)).qboId)).toEqual(['55', '54', '63']);
  });

  it('an empty page has no Employee key: rows []', () => {
    expect(parseQueryPage(fixtureJson('employee-query-empty.json'))).toEqual({ rows: [], startPosition: null, maxResults: null });
  });

  it('accepts the body as a JSON string', () => {
    expect(parseQueryPage(fixtureText('employee-query-sandbox-company.json')).rows).toHaveLength(3);
  });

  it('accepts the body as bytes', () => {
    expect(parseQueryPage(Buffer.from(fixtureText('employee-query-empty.json'))).rows).toEqual([]);
  });

  it('a truncated JSON string is a QboBodyError', () => {
    const text = fixtureText('employee-query-sandbox-company.json');
    const err = bodyError(() => parseQueryPage(text.slice(0, Math.floor(text.length / 2))));
    expect(err.code).toBe('qbo_malformed_body');
    expect(err.message).toMatch(/not valid JSON/);
  });

  it('a text body that is not JSON is a QboBodyError', () => {
    expect(bodyError(() => parseQueryPage('Service Unavailable')).code).toBe('qbo_malformed_body');
  });

  it('an XML body is a QboBodyError that keeps the Fault for the classifier', () => {
    const xml = fixtureText('fault-429-throttle.xml');
    const err = bodyError(() => parseQueryPage(xml));
    expect(err.message).toMatch(/XML Fault/);
    expect(err.fault).toBe(xml.trim());
  });

  it('an HTML body is a QboBodyError without fault', () => {
    expect(bodyError(() => parseQueryPage('<html><body>Bad gateway</body></html>')).fault).toBeUndefined();
  });

  it('a JSON Fault on a 200 is a QboBodyError that keeps the Fault', () => {
    const fault = fixtureJson('fault-429-throttle.json');
    expect(bodyError(() => parseQueryPage(fault)).fault).toBe(fault);
  });

  it('the lower-case 401 Fault body is recognised as a Fault', () => {
    expect(bodyError(() => parseQueryPage(fixtureJson('fault-401-expired.json'))).fault).toBeDefined();
  });

  it('a body without QueryResponse is a QboBodyError', () => {
    bodyError(() => parseQueryPage({ time: 'x' }));
    bodyError(() => parseQueryPage({ QueryResponse: [] }));
  });

  it('empty, null and non-object bodies are QboBodyErrors', () => {
    for (const body of ['', '   ', null, undefined, 42, [], '[]']) bodyError(() => parseQueryPage(body));
  });

  it('an Employee list that is not an array or object is a QboBodyError', () => {
    bodyError(() => parseQueryPage({ QueryResponse: { Employee: 'x' } }));
  });

  it('reads another entity when asked', () => {
    expect(parseQueryPage({ QueryResponse: { TimeActivity: [{ Id: '1' }] } }, 'TimeActivity').rows).toEqual([{ Id: '1' }]);
  });
});

describe('parseCount', () => {
  it('reads totalCount', () => {
    expect(parseCount(fixtureJson('employee-count.json'))).toBe(412);
  });

  it('reads totalCount from a JSON string', () => {
    expect(parseCount(fixtureText('employee-count.json'))).toBe(412);
  });

  it('a QueryResponse without totalCount counts 0', () => {
    expect(parseCount(fixtureJson('employee-query-empty.json'))).toBe(0);
  });

  it('a totalCount that is not a whole number is a QboBodyError', () => {
    bodyError(() => parseCount({ QueryResponse: { totalCount: 'many' } }));
    bodyError(() => parseCount({ QueryResponse: { totalCount: -1 } }));
  });
});

describe('parseCdc', () => {
  it('reads all Employee rows of the sample', () => {
    const rows = parseCdc(fixtureJson('cdc-employee.json'));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => (r as { Id: string }).Id)).toEqual(['55', '63', '979']);
  });

  it('the updated employee keeps its email', () => {
    expect(record(parseEmployee(parseCdc(fixtureJson('cdc-employee.json'))[0])).email).toBe('emily.platt@example.com');
  });

  it('accepts the body as a JSON string', () => {
    expect(parseCdc(fixtureText('cdc-employee.json'))).toHaveLength(3);
  });

  it('empty shapes give []', () => {
    expect(parseCdc({ CDCResponse: [] })).toEqual([]);
    expect(parseCdc({ CDCResponse: [{}] })).toEqual([]);
    expect(parseCdc({ CDCResponse: [{ QueryResponse: [] }] })).toEqual([]);
    expect(parseCdc({ CDCResponse: [{ QueryResponse: [{}] }] })).toEqual([]);
    expect(parseCdc({ CDCResponse: [{ QueryResponse: [{ Employee: [] }] }] })).toEqual([]);
  });

  it('collects rows from several QueryResponse entries', () => {
    const body = { CDCResponse: [{ QueryResponse: [{ Employee: [{ Id: '1' }] }, { Employee: [{ Id: '2' }] }] }] };
    expect(parseCdc(body)).toEqual([{ Id: '1' }, { Id: '2' }]);
  });

  it('a body without CDCResponse is a QboBodyError', () => {
    bodyError(() => parseCdc(fixtureJson('employee-query-empty.json')));
  });

  it('a truncated CDC string is a QboBodyError', () => {
    bodyError(() => parseCdc(fixtureText('cdc-employee.json').slice(0, 120)));
  });
});

describe('parseRead', () => {
  it('returns body.Employee', () => {
    expect(parseRead(fixtureJson('employee-read.json'))).toMatchObject({ Id: '71', DisplayName: 'Bill Miller' });
  });

  it('a body without Employee is a QboBodyError', () => {
    bodyError(() => parseRead(fixtureJson('employee-count.json')));
  });

  it('a 610 Fault body is a QboBodyError carrying the Fault', () => {
    expect(bodyError(() => parseRead(fixtureJson('fault-inactive-610.json'))).fault).toBeDefined();
  });
});

describe('parseQboTime', () => {
  it('reads an offset with a colon', () => {
    expect(parseQboTime('2026-03-02T09:58:12-08:00')).toEqual(new Date('2026-03-02T17:58:12Z'));
  });

  it('reads a webhook offset without a colon', () => {
    expect(parseQboTime('2015-10-05T14:42:19-0700')).toEqual(new Date('2015-10-05T21:42:19Z'));
  });

  it('reads milliseconds and a positive offset', () => {
    expect(parseQboTime('2020-03-22T15:40:02.123+05:30')).toEqual(new Date('2020-03-22T10:10:02.123Z'));
  });

  it('reads CloudEvents nanoseconds in UTC', () => {
    expect(parseQboTime('2025-09-10T21:31:25.179851517Z')).toEqual(new Date('2025-09-10T21:31:25.179Z'));
  });

  it('reads every time in the webhook and CDC samples', () => {
    const legacy = fixtureText('webhook-legacy.json').match(/\d{4}-\d{2}-\d{2}T[^"]+/g) ?? [];
    const cdc = fixtureText('cdc-employee.json').match(/\d{4}-\d{2}-\d{2}T[^"]+/g) ?? [];
    expect(legacy.length + cdc.length).toBeGreaterThan(5);
    for (const t of [...legacy, ...cdc]) expect(parseQboTime(t)).toBeInstanceOf(Date);
  });

  it('passes epoch milliseconds through (401 Fault time)', () => {
    expect(parseQboTime(1730024394085)).toEqual(new Date(1730024394085));
  });

  it('gives null for a time without offset, a date only, or nonsense', () => {
    for (const s of ['2026-03-02T09:58:12', '2020-01-04', 'soon', '', null, undefined, {}, Number.NaN]) {
      expect(parseQboTime(s)).toBeNull();
    }
  });

  it('gives null for impossible dates and times', () => {
    for (const s of ['2021-02-29T00:00:00Z', '2021-13-01T00:00:00Z', '2021-01-01T24:00:00Z', '2021-01-01T10:60:00Z', '2021-01-01T10:00:00+25:00']) {
      expect(parseQboTime(s)).toBeNull();
    }
  });

  it('accepts a leap day', () => {
    expect(parseQboTime('2024-02-29T12:00:00Z')).toEqual(new Date('2024-02-29T12:00:00Z'));
  });
});
