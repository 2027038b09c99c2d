import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import type { QboEmployeeDoc } from '../../src/db/models';
import { batchRequestId, entryRequestId, timeActivityBody } from '../../src/timesheets/activity';
import { gateOf } from '../../src/timesheets/gate';
import { isCalendarDate, mergeEntryPatch, sameEntry, validateEntry, validatePeriod, validateRange } from '../../src/timesheets/validate';
import { DomainError } from '../../src/errors';
import { fixtureJson } from '../helpers/qbo-fixtures';

const requestFixture = fixtureJson('timeactivity-create-request.json') as Record<string, unknown>;

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  return 'ok';
};

describe('validateEntry', () => {
  it('takes a duration or a start and end with offset', () => {
    expect(validateEntry({ date: '2026-11-02', hours: 7, minutes: 30, description: ' site work ' })).toMatchObject({ hours: 7, minutes: 30, start: null, description: 'site work' });
    expect(validateEntry({ date: '2026-11-02', start: '2026-11-02T08:00-08:00', end: '2026-11-02T17:00:00-08:00' })).toMatchObject({
      start: '2026-11-02T08:00:00-08:00',
      end: '2026-11-02T17:00:00-08:00',
      hours: null,
    });
    expect(validateEntry({ date: '2026-11-02', start: '2026-11-02T22:00:00Z', end: '2026-11-03T06:00:00Z' }).end).toBe('2026-11-03T06:00:00+00:00');
    expect(validateEntry({ date: '2026-11-02', hours: 24 })).toMatchObject({ hours: 24, minutes: 0 });
  });
  it.each([
    [{ date: '2026-11-31', hours: 1 }, 'invalid_date'],
    [{ date: '02/11/2026', hours: 1 }, 'invalid_date'],
    [{ date: '2026-11-02' }, 'invalid_duration'],
    [{ date: '2026-11-02', hours: 1.5 }, 'invalid_duration'],
    [{ date: '2026-11-02', hours: -1 }, 'invalid_duration'],
    [{ date: '2026-11-02', minutes: 60 }, 'invalid_duration'],
    [{ date: '2026-11-02', hours: 24, minutes: 1 }, 'invalid_duration'],
    [{ date: '2026-11-02', hours: 1, start: '2026-11-02T08:00:00Z', end: '2026-11-02T09:00:00Z' }, 'invalid_duration'],
    [{ date: '2026-11-02', start: '2026-11-02T09:00:00Z', end: '2026-11-02T09:00:00Z' }, 'invalid_duration'],
    [{ date: '2026-11-02', start: '2026-11-02T08:00:00Z', end: '2026-11-03T08:00:01Z' }, 'invalid_duration'],
    [{ date: '2026-11-02', start: '2026-11-03T08:00:00Z', end: '2026-11-03T09:00:00Z' }, 'invalid_date'],
    [{ date: '2026-11-02', start: '2026-11-02T25:00:00Z', end: '2026-11-02T26:00:00Z' }, 'invalid_time'],
    [{ date: '2026-11-02', hours: 1, description: 'x'.repeat(4001) }, 'invalid_description'],
    [{ date: '2026-11-02', hours: 1, billable: { customerId: 'abc', hourlyRate: 10 } }, 'invalid_billable'],
    [{ date: '2026-11-02', hours: 1, billable: { customerId: '7', hourlyRate: -1 } }, 'invalid_billable'],
  ])('%j → %s', (input, want) => expect(code(() => validateEntry(input))).toBe(want));

  it('knows real days', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(code(() => validatePeriod('2026-11-06', '2026-11-02'))).toBe('invalid_period');
    expect(code(() => validatePeriod('2024-01-01', '2026-01-01'))).toBe('invalid_period');
    expect(validatePeriod('2026-11-02', '2026-11-02')).toEqual({ from: '2026-11-02', to: '2026-11-02' });
    // Listing: no year limit, but reversed is reversed.
    expect(validateRange('2000-01-01', '2100-12-31')).toEqual({ from: '2000-01-01', to: '2100-12-31' });
    expect(code(() => validateRange('2026-11-27', '2026-11-20'))).toBe('invalid_period');
    expect(code(() => validateRange('2026-11-27', 'soon'))).toBe('invalid_date');
  });
});

describe('timeActivityBody', () => {
  it('says what the public request fixture says, for the same entry', () => {
    const body = timeActivityBody(
      { date: '2021-02-02', hours: null, minutes: null, start: '08:00:00-08:00', end: '17:00:00-08:00', description: '', billable: { customerId: null, hourlyRate: null } },
      { qboId: '55', name: 'Emily Platt' },
    );
    expect(body).toMatchObject(requestFixture);
    expect(body.BillableStatus).toBe('NotBillable');
  });
  it('bills with a customer and a rate, and sends a duration as Hours and Minutes', () => {
    expect(timeActivityBody({ date: '2026-11-02', hours: 7, minutes: 30, start: null, end: null, description: 'x', billable: { customerId: '7', hourlyRate: 55 } }, { qboId: '1', name: null })).toEqual({
      NameOf: 'Employee',
      EmployeeRef: { value: '1' },
      TxnDate: '2026-11-02',
      Hours: 7,
      Minutes: 30,
      Description: 'x',
      BillableStatus: 'Billable',
      CustomerRef: { value: '7' },
      HourlyRate: 55,
    });
  });
});

describe('requestids', () => {
  it('fit Intuit’s limits and change only with the revision or after a refusal', () => {
    const id = new Types.ObjectId().toHexString();
    expect(entryRequestId(id, 1, 0)).toBe(`te-${id}-1-0`);
    expect(entryRequestId(id, 999_999, 9999).length).toBeLessThanOrEqual(50);
    expect(entryRequestId(id, 2, 0)).not.toBe(entryRequestId(id, 1, 0));
    expect(batchRequestId(`${id}:0`)).toHaveLength(35);
    expect(batchRequestId(`${id}:0`)).toBe(batchRequestId(`${id}:0`));
    expect(batchRequestId(`${id}:1`)).not.toBe(batchRequestId(`${id}:0`));
  });
});

describe('gateOf', () => {
  const e = (status: QboEmployeeDoc['link']['status'], over: Partial<QboEmployeeDoc> = {}) =>
    ({ qboId: '9', givenName: 'Ana', familyName: 'Silva', displayName: null, active: true, deleted: false, link: { status, memberId: new Types.ObjectId() }, ...over }) as unknown as QboEmployeeDoc;
  it('opens only for a connected, active, not deleted employee', () => {
    expect(gateOf([e('connected')])).toEqual({ ok: true, employee: { qboId: '9', name: 'Ana Silva', active: true, deleted: false } });
    expect(gateOf([e('connected', { active: false })])).toEqual({ ok: false, reason: 'qbo_employee_inactive' });
    expect(gateOf([e('connected', { deleted: true })])).toEqual({ ok: false, reason: 'qbo_employee_deleted' });
    expect(gateOf([e('disconnected')])).toEqual({ ok: false, reason: 'member_disconnected' });
    expect(gateOf([])).toEqual({ ok: false, reason: 'member_not_linked' });
    expect(gateOf([e('disconnected'), e('connected')]).ok).toBe(true);
  });
});

describe('editing an entry (mergeEntryPatch)', () => {
  const duration = validateEntry({ date: '2026-11-24', hours: 7, minutes: 30, description: 'Site work', billable: { customerId: '58', hourlyRate: 80 } });
  const span = validateEntry({ date: '2026-11-24', start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T12:00:00-08:00' });
  const edit = (stored: typeof duration, patch: Parameters<typeof mergeEntryPatch>[1]) => validateEntry(mergeEntryPatch(stored, patch));

  it('keeps every field the edit does not give', () => {
    expect(edit(duration, { hours: 8 })).toEqual({ ...duration, hours: 8 });
    expect(edit(duration, { description: 'Other' })).toEqual({ ...duration, description: 'Other' });
    expect(edit(span, { end: '2026-11-24T13:00:00-08:00' })).toEqual({ ...span, end: '2026-11-24T13:00:00-08:00' });
    expect(sameEntry(duration, edit(duration, {}))).toBe(true);
    expect(sameEntry(duration, edit(duration, { hours: 8 }))).toBe(false);
  });

  it('a duration replaces a stored span and the other way round; both at once is refused', () => {
    expect(edit(span, { hours: 2 })).toMatchObject({ hours: 2, minutes: 0, start: null, end: null });
    expect(edit(duration, { start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T09:00:00-08:00' })).toMatchObject({ hours: null, minutes: null, start: '2026-11-24T08:00:00-08:00' });
    expect(code(() => edit(duration, { start: '2026-11-24T08:00:00-08:00' }))).toBe('invalid_time');
    // Said in terms of what the edit gave, not of the end it did not mention.
    expect(() => edit(duration, { start: '2026-11-24T08:00:00-08:00' })).toThrow(/give start and end together/);
    expect(code(() => edit(span, { hours: 1, end: '2026-11-24T13:00:00-08:00' }))).toBe('invalid_duration');
  });

  it('checks the merged entry like a new one; billable null removes billing', () => {
    expect(code(() => edit(span, { date: '2026-11-25' }))).toBe('invalid_date');
    expect(code(() => edit(duration, { hours: 24 }))).toBe('invalid_duration');
    expect(edit(duration, { billable: null }).billable).toEqual({ customerId: null, hourlyRate: null });
  });
});
