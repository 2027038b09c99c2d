/**
 * TimeActivity create as Intuit validates it, and the TimeActivities of one realm.
 *
 * `checkTimeActivity` is pure: a request body and a way to look employees up in, a draft or
 * the first Intuit error out. Checks run in the order Intuit's layers would meet them: the
 * JSON shape, then each field, then references to other objects (unknown 2500, inactive 610).
 */
import type { RawEmployee, RawTimeActivity, Ref, TimeActivityFields } from './types';
import {
  invalidDateError,
  invalidDateFormatError,
  invalidNumberFormatError,
  invalidPropertyError,
  invalidReferenceError,
  objectNotFoundError,
  requiredParamError,
  stringLengthError,
  unsupportedError,
} from './faults';
import type { FaultError } from './faults';
import { formatQboTime, parseQboTime } from './time';

export const DESCRIPTION_MAX = 4000;
const DAY_MS = 24 * 3600_000;

/** The company's default service item, as in the response fixture. */
export const DEFAULT_ITEM_REF: Ref = { name: 'Hours', value: '2' };

/** Writable TimeActivity properties; anything else in a body is refused (Intuit: "Unrecognized field"). */
const WRITABLE = new Set([
  'TxnDate',
  'NameOf',
  'EmployeeRef',
  'VendorRef',
  'CustomerRef',
  'ItemRef',
  'ClassRef',
  'DepartmentRef',
  'PayrollItemRef',
  'ProjectRef',
  'BillableStatus',
  'Taxable',
  'HourlyRate',
  'CostRate',
  'Hours',
  'Minutes',
  'BreakHours',
  'BreakMinutes',
  'StartTime',
  'EndTime',
  'Description',
  'TimeZone',
]);
/** Read-only properties a client may echo back; ignored on create. */
const READ_ONLY = new Set(['SyncToken', 'MetaData', 'domain', 'sparse']);
/** Optional references and numbers kept as sent (the sandbox has no classes, items, projects). */
const ECHOED = ['ClassRef', 'DepartmentRef', 'PayrollItemRef', 'ProjectRef', 'CostRate'] as const;

// TimeActivity business errors, codes and wording from Intuit's error catalogue.
const E = {
  nameOf: (): FaultError => ({
    Message: 'InvalidEmployeeOrVendorName',
    Detail: "The employee or vendor's name is either missing or invalid. It should be Employee or Vendor.",
    code: '6300',
    element: 'NameOf',
  }),
  employeeAndVendor: (): FaultError => ({
    Message: 'InvalidEmployeeOrVendor',
    Detail: 'You must specify either an "employee" or "vendor." You can\'t enter both.',
    code: '6290',
    element: 'VendorRef',
  }),
  missingCustomer: (): FaultError => ({
    Message: 'MissingCustomer',
    Detail: 'A customer is required if the transaction is billable.',
    code: '6310',
    element: 'CustomerRef',
  }),
  billable: (v: string): FaultError => ({ Message: 'InvalidBillable', Detail: `Invalid billable status: ${v}`, code: '6320', element: 'BillableStatus' }),
  rate: (v: string): FaultError => ({ Message: 'MissingBillingRate', Detail: `Invalid hourly rate: ${v}`, code: '6330', element: 'HourlyRate' }),
  zeroTime: (): FaultError => ({ Message: 'InvalidTime', Detail: 'You must specify a time (hours:minutes): 0:00', code: '6340', element: 'Hours' }),
  missingTime: (): FaultError => ({
    Message: 'MissingTime',
    Detail: 'Time (hours:minutes) is missing: give Hours and Minutes, or StartTime and EndTime',
    code: '6350',
    element: 'Hours',
  }),
  startOrEnd: (why: string): FaultError => ({
    Message: 'InvalidStartOrEndTime',
    Detail: `Enter a valid start and end time. Make sure break times aren't longer than the elapsed time. ${why}`,
    code: '6360',
    element: 'StartTime',
  }),
  startAfterEnd: (start: string, end: string): FaultError => ({
    Message: 'StartTimeAfterEndTime',
    Detail: `The start time is after end time: StartTime ${start}, EndTime ${end}`,
    code: '6370',
    element: 'EndTime',
  }),
  duration: (element: string, v: string): FaultError => ({
    Message: 'InvalidDuration',
    Detail: `The time duration isn't within the valid range: ${element}=${v}`,
    code: '6380',
    element,
  }),
  both: (): FaultError => ({
    Message: 'InvalidMultipleDurations',
    Detail: 'Invalid multiple time durations. Specify a total elapsed time (hours:minutes) or the start and end time.',
    code: '6390',
    element: 'Hours',
  }),
};

/** Carries the first error out of the small checkers below; never escapes checkTimeActivity. */
class Invalid extends Error {
  constructor(readonly fault: FaultError) {
    super(fault.Detail);
    this.name = 'Invalid';
  }
}

const fail = (fault: FaultError): never => {
  throw new Invalid(fault);
};

export interface TimeActivityContext {
  employee(id: string): RawEmployee | undefined;
  offsetMinutes: number;
}

/** What a valid body becomes before the ledger gives it an Id and MetaData. */
export type TimeActivityDraft = TimeActivityFields;

export type Checked = { ok: true; draft: TimeActivityDraft } | { ok: false; fault: FaultError };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Record<string, unknown>, k: string): boolean => o[k] !== undefined && o[k] !== null;
const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

export function checkTimeActivity(body: unknown, ctx: TimeActivityContext): Checked {
  try {
    return { ok: true, draft: draftOf(body, ctx) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, fault: err.fault };
    throw err;
  }
}

function draftOf(body: unknown, ctx: TimeActivityContext): TimeActivityDraft {
  const b = shape(body);
  checkNameOf(b);
  const employeeId = refValue(b, 'EmployeeRef', true) as string;
  if (has(b, 'VendorRef')) fail(E.employeeAndVendor());
  const txnDate = checkTxnDate(b.TxnDate);
  const time = checkTime(b, txnDate, ctx.offsetMinutes);
  const description = checkDescription(b.Description);
  const billing = checkBilling(b);
  const employee = checkEmployee(employeeId, ctx);

  const draft: TimeActivityDraft = {
    TxnDate: txnDate,
    NameOf: 'Employee',
    EmployeeRef: employee.DisplayName !== undefined ? { name: employee.DisplayName, value: employeeId } : { value: employeeId },
    ...(billing.customer ? { CustomerRef: billing.customer } : {}),
    ItemRef: refOrNull(b, 'ItemRef') ?? { ...DEFAULT_ITEM_REF },
    BillableStatus: billing.status,
    Taxable: billing.taxable,
    HourlyRate: billing.rate,
    ...time,
    ...(description !== undefined ? { Description: description } : {}),
  };
  for (const k of ECHOED) if (has(b, k)) draft[k] = structuredClone(b[k]);
  return draft;
}

/** A JSON object of TimeActivity properties only; an Id means an update, which is not served. */
function shape(body: unknown): Record<string, unknown> {
  if (!isObject(body)) return fail(invalidPropertyError('TimeActivity', 'the body must be one JSON TimeActivity object'));
  if (has(body, 'Id')) {
    fail(unsupportedError('Operation update (a TimeActivity with an Id) is not supported by the QBO sandbox: create only'));
  }
  for (const k of Object.keys(body)) {
    if (k !== 'Id' && !WRITABLE.has(k) && !READ_ONLY.has(k)) fail(invalidPropertyError(k, 'not a TimeActivity property'));
  }
  return body;
}

function checkNameOf(b: Record<string, unknown>): void {
  if (b.NameOf === 'Vendor') fail(unsupportedError('TimeActivity with NameOf Vendor is not supported by the QBO sandbox: Employee only'));
  if (b.NameOf !== 'Employee') fail(E.nameOf());
}

/** A reference's value as Intuit reads it (a number is taken as its digits). */
function refValue(b: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const ref = b[key];
  if (ref === undefined || ref === null) return required ? fail(requiredParamError(key)) : undefined;
  if (!isObject(ref)) return fail(invalidPropertyError(key, 'a reference must be an object { "value": "<Id>" }'));
  const v = ref.value;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.trim() === '') return fail(requiredParamError(`${key}.value`));
  return v.trim();
}

function refOrNull(b: Record<string, unknown>, key: string): Ref | null {
  const value = refValue(b, key, false);
  if (value === undefined) return null;
  const name = (b[key] as Record<string, unknown>).name;
  return typeof name === 'string' && name !== '' ? { name, value } : { value };
}

function checkTxnDate(v: unknown): string {
  if (v === undefined || v === null || v === '') return fail(requiredParamError('TxnDate'));
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return fail(invalidDateFormatError('TxnDate', shown(v)));
  if (Number.isNaN(parseQboTime(`${v}T00:00:00Z`))) fail(invalidDateError('TxnDate', v));
  return v;
}

type TimePart = Pick<RawTimeActivity, 'Hours' | 'Minutes' | 'BreakHours' | 'BreakMinutes' | 'StartTime' | 'EndTime'>;

/** Hours+Minutes or StartTime+EndTime (never both), then breaks shorter than the time worked. */
function checkTime(b: Record<string, unknown>, txnDate: string, offset: number): TimePart {
  const byHours = has(b, 'Hours') || has(b, 'Minutes');
  const bySpan = has(b, 'StartTime') || has(b, 'EndTime');
  if (byHours && bySpan) fail(E.both());
  if (!byHours && !bySpan) fail(E.missingTime());
  const part: TimePart = {};
  let workedMs: number;
  if (byHours) {
    part.Hours = wholeNumber(b, 'Hours', 24);
    part.Minutes = wholeNumber(b, 'Minutes', 59);
    workedMs = (part.Hours * 60 + part.Minutes) * 60_000;
    if (workedMs > DAY_MS) fail(E.duration('Minutes', `${part.Hours}:${String(part.Minutes).padStart(2, '0')}`));
    if (workedMs === 0) fail(E.zeroTime());
  } else {
    if (!has(b, 'StartTime') || !has(b, 'EndTime')) fail(E.startOrEnd('Both StartTime and EndTime are needed.'));
    const start = instant(b, 'StartTime', txnDate, offset);
    const end = instant(b, 'EndTime', txnDate, offset);
    if (end <= start) fail(E.startAfterEnd(shown(b.StartTime), shown(b.EndTime)));
    workedMs = end - start;
    if (workedMs > DAY_MS) fail(E.duration('EndTime', `${workedMs / 3600_000}h`));
    part.StartTime = formatQboTime(start, offset);
    part.EndTime = formatQboTime(end, offset);
  }
  checkBreak(b, part, workedMs);
  return part;
}

function checkBreak(b: Record<string, unknown>, part: TimePart, workedMs: number): void {
  if (!has(b, 'BreakHours') && !has(b, 'BreakMinutes')) return;
  part.BreakHours = wholeNumber(b, 'BreakHours', 24);
  part.BreakMinutes = wholeNumber(b, 'BreakMinutes', 59);
  if ((part.BreakHours * 60 + part.BreakMinutes) * 60_000 >= workedMs) fail(E.startOrEnd('The break is as long as the time worked.'));
}

/** An integer 0..max; absent is 0. Numeric strings are read as numbers, as Intuit's JSON reader does. */
function wholeNumber(b: Record<string, unknown>, key: string, max: number): number {
  const v = b[key];
  if (v === undefined || v === null) return 0;
  const n = amount(v);
  if (Number.isNaN(n)) return fail(invalidNumberFormatError(key, shown(v)));
  if (!Number.isInteger(n) || n < 0 || n > max) fail(E.duration(key, shown(v)));
  return n;
}

const TIME_ONLY = /^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * "08:00:00-08:00" (on TxnDate) or a full ISO date-time. A zone is required: without one the
 * instant would depend on whose clock reads it.
 */
function instant(b: Record<string, unknown>, key: string, txnDate: string, offset: number): number {
  const v = b[key];
  if (typeof v !== 'string') return fail(invalidDateFormatError(key, shown(v)));
  const text = TIME_ONLY.test(v) ? `${txnDate}T${v}` : DATE_TIME.test(v) ? v : null;
  const ms = text === null ? Number.NaN : parseQboTime(text, offset);
  if (Number.isNaN(ms)) fail(invalidDateFormatError(key, v));
  return ms;
}

function checkDescription(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return fail(invalidPropertyError('Description', 'must be a string'));
  if (v.length > DESCRIPTION_MAX) fail(stringLengthError('Description', DESCRIPTION_MAX, v.length));
  return v;
}

interface Billing {
  status: RawTimeActivity['BillableStatus'];
  customer: Ref | null;
  rate: number;
  taxable: boolean;
}

/** Billable time needs a customer to bill and a rate; everything else defaults as Intuit does. */
function checkBilling(b: Record<string, unknown>): Billing {
  const status = b.BillableStatus ?? 'NotBillable';
  if (status !== 'Billable' && status !== 'NotBillable' && status !== 'HasBeenBilled') return fail(E.billable(shown(status)));
  const customer = refOrNull(b, 'CustomerRef');
  if (status === 'Billable' && !customer) fail(E.missingCustomer());
  if (status === 'Billable' && !has(b, 'HourlyRate')) fail(E.rate('missing'));
  const rate = has(b, 'HourlyRate') ? amount(b.HourlyRate) : 0;
  if (!Number.isFinite(rate) || rate < 0) fail(E.rate(shown(b.HourlyRate)));
  if (has(b, 'Taxable') && typeof b.Taxable !== 'boolean') fail(invalidPropertyError('Taxable', 'must be true or false'));
  return { status, customer, rate, taxable: b.Taxable === true };
}

/** A number, or a numeric string as Intuit's JSON reader takes it; NaN for anything else. */
function amount(v: unknown): number {
  if (typeof v === 'number') return v;
  return typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
}

/** References last, as Intuit checks them after the body: unknown is 2500, inactive is 610. */
function checkEmployee(id: string, ctx: TimeActivityContext): RawEmployee {
  const e = ctx.employee(id);
  if (!e) return fail(invalidReferenceError('EmployeeRef', id));
  if (e.Active === false) fail(objectNotFoundError());
  return e;
}

/** An answer as first sent for a requestid, replayed byte for byte on a repeat. */
export interface StoredAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/**
 * The TimeActivities of one realm in creation order, with what each requestid created and
 * answered. Rows are built once and never changed (there are no updates), so callers may
 * share them.
 */
export class TimeActivityLedger {
  private readonly rows: RawTimeActivity[] = [];
  private readonly byId = new Map<string, RawTimeActivity>();
  private readonly createdFor = new Map<string, number>();
  private readonly answers = new Map<string, StoredAnswer>();
  private lastId = 0;

  /** Gives the draft its Id, SyncToken and MetaData, in the key order of Intuit's answers. */
  add(draft: TimeActivityDraft, stamp: string, requestId: string | undefined): RawTimeActivity {
    const row: RawTimeActivity = {
      ...draft,
      domain: 'QBO',
      sparse: false,
      Id: String(++this.lastId),
      SyncToken: '0',
      MetaData: { CreateTime: stamp, LastUpdatedTime: stamp },
    };
    this.rows.push(row);
    this.byId.set(row.Id, row);
    if (requestId !== undefined) this.createdFor.set(requestId, (this.createdFor.get(requestId) ?? 0) + 1);
    return row;
  }

  get(id: string): RawTimeActivity | undefined {
    return this.byId.get(id);
  }

  all(): readonly RawTimeActivity[] {
    return this.rows;
  }

  countByRequestId(): Map<string, number> {
    return new Map(this.createdFor);
  }

  firstAnswer(requestId: string): StoredAnswer | undefined {
    return this.answers.get(requestId);
  }

  remember(requestId: string, answer: StoredAnswer): void {
    if (!this.answers.has(requestId)) this.answers.set(requestId, answer);
  }
}
