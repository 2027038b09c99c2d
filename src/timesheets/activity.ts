import { createHash } from 'node:crypto';
import type { ValidEntry } from './validate';

/**
 * Pure pieces of the export: the TimeActivity Intuit is sent for one entry, and the requestids
 * that make every create idempotent (QBO.md "Writes take ?requestid=").
 */

export interface EmployeeRef {
  qboId: string;
  name: string | null;
}

/** The TimeActivity create body for one entry (QBO.md "TimeActivity"). */
export function timeActivityBody(entry: ValidEntry, employee: EmployeeRef): Record<string, unknown> {
  const body: Record<string, unknown> = {
    NameOf: 'Employee',
    EmployeeRef: employee.name ? { value: employee.qboId, name: employee.name } : { value: employee.qboId },
    TxnDate: entry.date,
  };
  if (entry.start && entry.end) {
    body.StartTime = entry.start;
    body.EndTime = entry.end;
  } else {
    body.Hours = entry.hours ?? 0;
    body.Minutes = entry.minutes ?? 0;
  }
  if (entry.description) body.Description = entry.description.slice(0, 4000);
  if (entry.billable?.customerId && entry.billable.hourlyRate !== null && entry.billable.hourlyRate !== undefined) {
    body.BillableStatus = 'Billable';
    body.CustomerRef = { value: entry.billable.customerId };
    body.HourlyRate = entry.billable.hourlyRate;
  } else {
    body.BillableStatus = 'NotBillable';
  }
  return body;
}

/**
 * The requestid of a single create: the entry, its revision and how many times QBO refused it
 * for good before. A crash or a retry sends the same id again, so Intuit answers with the
 * first result instead of creating a second TimeActivity; only after a definite refusal (which
 * created nothing) does the next attempt get a new id. At most 3+24+1+6+1+4 = 39 characters.
 */
export function entryRequestId(entryId: string, revision: number, attempt: number): string {
  return `te-${entryId}-${revision}-${attempt}`;
}

/** The requestid of one stored batch (Intuit allows 36 characters on batch). */
export function batchRequestId(batchKey: string): string {
  return `tb-${createHash('sha256').update(batchKey).digest('hex').slice(0, 32)}`;
}
