import type { QboEmployeeDoc } from '../db/models';
import type { QboDeletedStub, QboEmployeeRecord } from '../qbo/parse';

/**
 * How one QBO row updates our copy of the employee. Pure.
 * - A deleted stub only marks the row deleted: it never erases names or e-mail.
 * - An inactive row never erases data either: only fields it carries overwrite ours.
 * - An active row is the truth: a field Intuit left out was emptied in QBO.
 * - A row older than the copy we hold (out-of-order delivery) changes nothing.
 */

export const IDENTITY_FIELDS = [
  'syncToken',
  'givenName',
  'middleName',
  'familyName',
  'displayName',
  'email',
  'employeeNumber',
] as const;

export type EmployeeData = Pick<QboEmployeeDoc, (typeof IDENTITY_FIELDS)[number] | 'active' | 'deleted' | 'qboUpdatedAt'>;

export const EMPTY_EMPLOYEE: EmployeeData = {
  syncToken: null,
  givenName: null,
  middleName: null,
  familyName: null,
  displayName: null,
  email: null,
  employeeNumber: null,
  active: true,
  deleted: false,
  qboUpdatedAt: null,
};

export function pickData(doc: EmployeeData): EmployeeData {
  return {
    syncToken: doc.syncToken,
    givenName: doc.givenName,
    middleName: doc.middleName,
    familyName: doc.familyName,
    displayName: doc.displayName,
    email: doc.email,
    employeeNumber: doc.employeeNumber,
    active: doc.active,
    deleted: doc.deleted,
    qboUpdatedAt: doc.qboUpdatedAt,
  };
}

function isOlder(incoming: Date | null, held: Date | null): boolean {
  return incoming !== null && held !== null && incoming.getTime() < held.getTime();
}

export function mergeEmployee(held: EmployeeData | null, row: QboEmployeeRecord | QboDeletedStub): EmployeeData {
  const base = held ?? EMPTY_EMPLOYEE;
  if (held && isOlder(row.qboUpdatedAt, held.qboUpdatedAt)) return base;
  if (row.deleted) {
    return { ...base, deleted: true, qboUpdatedAt: row.qboUpdatedAt ?? base.qboUpdatedAt };
  }
  const next: EmployeeData = { ...base, active: row.active, deleted: false, qboUpdatedAt: row.qboUpdatedAt ?? base.qboUpdatedAt };
  for (const field of IDENTITY_FIELDS) {
    const value = row[field];
    if (row.active || value !== null) next[field] = value;
  }
  return next;
}

/** Field-by-field comparison of the data we store (dates by time). */
export function sameData(a: EmployeeData, b: EmployeeData): boolean {
  for (const f of IDENTITY_FIELDS) if (a[f] !== b[f]) return false;
  return a.active === b.active && a.deleted === b.deleted && (a.qboUpdatedAt?.getTime() ?? null) === (b.qboUpdatedAt?.getTime() ?? null);
}
