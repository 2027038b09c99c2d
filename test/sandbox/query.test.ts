import { describe, expect, it } from 'vitest';
import {
  QueryParseError,
  QueryValidationError,
  compareIds,
  parseQuery,
  queriedEntity,
  runEmployeeQuery,
  runTimeActivityQuery,
} from '../../sandbox/query';
import { formatBodyTime, formatQboTime, parseQboTime } from '../../sandbox/time';
import type { RawEmployee, RawTimeActivity } from '../../sandbox/types';

function emp(id: number, over: Partial<RawEmployee> = {}): RawEmployee {
  return {
    Id: String(id),
    SyncToken: '0',
    GivenName: `Given${id}`,
    FamilyName: `Family${id}`,
    DisplayName: `Given${id} Family${id}`,
    Active: true,
    MetaData: { CreateTime: '2025-01-01T00:00:00-08:00', LastUpdatedTime: `2025-01-${String(id).padStart(2, '0')}T00:00:00-08:00` },
    ...over,
  };
}

const rows = Array.from({ length: 20 }, (_, i) => emp(i + 1, { Active: (i + 1) % 5 !== 0 }));

function ids(q: string, list: RawEmployee[] = rows): string[] {
  const r = runEmployeeQuery(parseQuery(q), list);
  if (r.kind !== 'page') throw new Error('expected a page');
  return r.rows.map((e) => e.Id);
}

describe('parseQuery', () => {
  it('reads a full query, keywords in any case', () => {
    expect(
      parseQuery("select * from Employee where Active IN (true, false) and DisplayName LIKE '%a%' orderby Id desc startposition 3 maxresults 7"),
    ).toEqual({
      count: false,
      entity: 'Employee',
      where: [
        { field: 'Active', op: 'IN', values: [{ kind: 'boolean', value: true }, { kind: 'boolean', value: false }] },
        { field: 'DisplayName', op: 'LIKE', values: [{ kind: 'string', value: '%a%' }] },
      ],
      orderBy: [{ field: 'Id', desc: true }],
      startPosition: 3,
      maxResults: 7,
    });
  });

  it('reads COUNT(*)', () => {
    expect(parseQuery('SELECT COUNT(*) FROM Employee WHERE Active = false')).toMatchObject({ count: true, where: [{ field: 'Active', op: '=' }] });
  });

  it('unescapes quoted strings', () => {
    expect(parseQuery("SELECT * FROM Employee WHERE DisplayName = 'Kevin O\\'Brien'").where[0]?.values[0]).toEqual({
      kind: 'string',
      value: "Kevin O'Brien",
    });
  });

  it.each([
    '',
    'SELECT',
    'SELECT * FROM',
    'SELECT * FROM Employee WHERE',
    "SELECT * FROM Employee WHERE DisplayName = 'open",
    "SELECT * FROM Employee WHERE DisplayName = 'a' OR GivenName = 'b'",
    'SELECT Id, DisplayName FROM Employee',
    'SELECT * FROM Employee ORDER BY Id',
    'SELECT * FROM Employee MAXRESULTS ten',
    "SELECT * FROM Employee WHERE DisplayName != 'x'",
    'SELECT * FROM Employee MAXRESULTS 5 STARTPOSITION 1',
  ])('rejects %j as a parse error', (q) => {
    expect(() => parseQuery(q)).toThrow(QueryParseError);
  });
});

describe('runEmployeeQuery', () => {
  it('returns active rows only unless Active is named', () => {
    expect(ids('SELECT * FROM Employee')).toHaveLength(16);
    expect(ids('SELECT * FROM Employee WHERE Active IN (true, false)')).toHaveLength(20);
    expect(ids('SELECT * FROM Employee WHERE Active = false')).toEqual(['5', '10', '15', '20']);
    expect(ids("SELECT * FROM Employee WHERE Id = '5'")).toEqual([]);
    expect(ids("SELECT * FROM Employee WHERE Id = '5' AND Active IN (true,false)")).toEqual(['5']);
  });

  it('pages 1-based with a default of 100 and a cap of 1000', () => {
    const many = Array.from({ length: 1200 }, (_, i) => emp(i + 1));
    expect(ids('SELECT * FROM Employee', many)).toHaveLength(100);
    expect(ids('SELECT * FROM Employee MAXRESULTS 5000', many)).toHaveLength(1000);
    expect(ids('SELECT * FROM Employee STARTPOSITION 1 MAXRESULTS 2', many)).toEqual(['1', '2']);
    expect(ids('SELECT * FROM Employee STARTPOSITION 1199 MAXRESULTS 10', many)).toEqual(['1199', '1200']);
    expect(ids('SELECT * FROM Employee STARTPOSITION 1201', many)).toEqual([]);
  });

  it('filters by Id, names, LIKE and times', () => {
    expect(ids("SELECT * FROM Employee WHERE Id IN ('1', '2', '3')")).toEqual(['1', '2', '3']);
    expect(ids("SELECT * FROM Employee WHERE GivenName = 'given7'")).toEqual(['7']);
    expect(ids("SELECT * FROM Employee WHERE DisplayName LIKE '%Family1%'")).toEqual(['1', '11', '12', '13', '14', '16', '17', '18', '19']);
    expect(ids("SELECT * FROM Employee WHERE FamilyName LIKE 'Family1_'")).toEqual([]);
    expect(ids("SELECT * FROM Employee WHERE MetaData.LastUpdatedTime > '2025-01-18T00:00:00-08:00'")).toEqual(['19']);
    expect(ids("SELECT * FROM Employee WHERE MetaData.LastUpdatedTime >= '2025-01-18T08:00:00Z'")).toEqual(['18', '19']);
    expect(ids("SELECT * FROM Employee WHERE MetaData.LastUpdatedTime < '2025-01-03T00:00:00-08:00'")).toEqual(['1', '2']);
  });

  it('orders numerically by Id and by names', () => {
    expect(ids('SELECT * FROM Employee ORDERBY Id DESC MAXRESULTS 3')).toEqual(['19', '18', '17']);
    expect(ids('SELECT * FROM Employee ORDERBY DisplayName MAXRESULTS 3')).toEqual(['1', '11', '12']);
    const odd = [emp(100), emp(9), emp(10)];
    expect(ids('SELECT * FROM Employee ORDERBY Id', odd)).toEqual(['9', '10', '100']);
  });

  it('counts with the same filters', () => {
    expect(runEmployeeQuery(parseQuery('SELECT COUNT(*) FROM Employee'), rows)).toEqual({ kind: 'count', totalCount: 16 });
    expect(runEmployeeQuery(parseQuery('select count(*) from employee where active in (true, false) maxresults 1'), rows)).toEqual({
      kind: 'count',
      totalCount: 20,
    });
  });

  it('rejects unknown entities, properties and bad values as invalid queries', () => {
    for (const q of [
      'SELECT * FROM Customer',
      "SELECT * FROM Employee WHERE Salary = '1'",
      "SELECT * FROM Employee WHERE Active LIKE 'x'",
      "SELECT * FROM Employee WHERE MetaData.LastUpdatedTime > 'yesterday'",
      'SELECT * FROM Employee ORDERBY Shoe',
      'SELECT * FROM Employee MAXRESULTS 0',
    ]) {
      expect(() => runEmployeeQuery(parseQuery(q), rows), q).toThrow(QueryValidationError);
    }
  });
});

function activity(id: number, txnDate: string): RawTimeActivity {
  const stamp = `${txnDate}T18:00:00-08:00`;
  return {
    TxnDate: txnDate,
    NameOf: 'Employee',
    EmployeeRef: { value: '55' },
    ItemRef: { value: '2' },
    BillableStatus: 'NotBillable',
    Taxable: false,
    HourlyRate: 0,
    Hours: 1,
    Minutes: 0,
    domain: 'QBO',
    sparse: false,
    Id: String(id),
    SyncToken: '0',
    MetaData: { CreateTime: stamp, LastUpdatedTime: stamp },
  };
}

describe('runTimeActivityQuery', () => {
  const days = ['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02', '2026-03-02', '2026-03-03'];
  const acts = days.map((d, i) => activity(i + 1, d));
  const taIds = (q: string): string[] => {
    const r = runTimeActivityQuery(parseQuery(q), acts);
    if (r.kind !== 'page') throw new Error('expected a page');
    return r.rows.map((t) => t.Id);
  };

  it('names the entity a query reads, in canonical case', () => {
    expect(queriedEntity(parseQuery('select * from timeActivity'))).toBe('TimeActivity');
    expect(queriedEntity(parseQuery('SELECT COUNT(*) FROM employee'))).toBe('Employee');
    expect(() => queriedEntity(parseQuery('SELECT * FROM Invoice'))).toThrow(QueryValidationError);
  });

  it('has no active-only rule and filters TxnDate ranges as dates', () => {
    expect(taIds('SELECT * FROM TimeActivity')).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(taIds("SELECT * FROM TimeActivity WHERE TxnDate >= '2026-02-28' AND TxnDate <= '2026-03-02'")).toEqual(['2', '3', '4', '5']);
    expect(taIds("SELECT * FROM TimeActivity WHERE TxnDate = '2026-03-02'")).toEqual(['4', '5']);
    expect(taIds("SELECT * FROM TimeActivity WHERE TxnDate IN ('2026-02-27', '2026-03-03')")).toEqual(['1', '6']);
    expect(taIds("SELECT * FROM TimeActivity WHERE MetaData.CreateTime > '2026-03-02T00:00:00-08:00'")).toEqual(['4', '5', '6']);
  });

  it('orders, pages and counts like Employee', () => {
    expect(taIds('SELECT * FROM TimeActivity ORDERBY TxnDate DESC, Id STARTPOSITION 2 MAXRESULTS 2')).toEqual(['4', '5']);
    expect(runTimeActivityQuery(parseQuery("SELECT COUNT(*) FROM TimeActivity WHERE TxnDate < '2026-03-01'"), acts)).toEqual({
      kind: 'count',
      totalCount: 2,
    });
  });

  it('refuses Employee properties and non-dates', () => {
    for (const q of [
      "SELECT * FROM TimeActivity WHERE Active = 'true'",
      "SELECT * FROM TimeActivity WHERE TxnDate >= '2026-3-1'",
      'SELECT * FROM TimeActivity WHERE TxnDate >= 20260301',
      "SELECT * FROM TimeActivity WHERE TxnDate LIKE '2026%'",
      'SELECT * FROM Employee',
    ]) {
      expect(() => runTimeActivityQuery(parseQuery(q), acts), q).toThrow(QueryValidationError);
    }
  });
});

describe('ids and times', () => {
  it('compares numeric Ids as numbers', () => {
    expect(['10', '9', '100', '1'].sort(compareIds)).toEqual(['1', '9', '10', '100']);
  });

  it('formats and parses Intuit times', () => {
    const ms = Date.UTC(2026, 2, 2, 17, 58, 12, 345);
    expect(formatQboTime(ms)).toBe('2026-03-02T09:58:12-08:00');
    expect(formatBodyTime(ms)).toBe('2026-03-02T09:58:12.345-08:00');
    expect(parseQboTime('2026-03-02T09:58:12-08:00')).toBe(Date.UTC(2026, 2, 2, 17, 58, 12));
    expect(parseQboTime('2026-03-02T17:58:12.345Z')).toBe(ms);
    // '+' arriving unencoded in a query string reads as a space.
    expect(parseQboTime('2026-03-02T18:58:12 01:00')).toBe(Date.UTC(2026, 2, 2, 17, 58, 12));
    expect(parseQboTime('2026-03-02T18:58:12+0100')).toBe(Date.UTC(2026, 2, 2, 17, 58, 12));
    expect(parseQboTime('not a date')).toBeNaN();
    expect(parseQboTime('2026-02-31T00:00:00Z')).toBeNaN();
  });
});
