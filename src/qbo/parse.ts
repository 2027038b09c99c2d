// Reads Intuit answers defensively (QBO.md): empty attributes are left out, a 200 may carry a
// Fault, throttling may come as XML, and a body may arrive as an unparsed or truncated string.
// Only shapes are checked here; what a failure means is decided in ./classify.
import { z } from 'zod';

export interface QboEmployeeRecord {
  qboId: string;
  syncToken: string | null;
  givenName: string | null;
  middleName: string | null;
  familyName: string | null;
  displayName: string | null;
  email: string | null;
  employeeNumber: string | null;
  active: boolean;
  deleted: false;
  qboUpdatedAt: Date | null;
}

/** A CDC row for a deleted/merged employee: only the id and a time, never names or emails. */
export interface QboDeletedStub {
  qboId: string;
  deleted: true;
  qboUpdatedAt: Date | null;
}

export type ParsedEmployee =
  | { ok: true; value: QboEmployeeRecord | QboDeletedStub }
  | { ok: false; qboId: string | null; problem: string };

/**
 * The body is not the data we asked for. `fault` holds the body when it is an Intuit Fault
 * (JSON object or XML text) so classifyQboError can read its code; otherwise it is undefined.
 * Messages never quote the body: it may hold names, emails or tokens.
 */
export class QboBodyError extends Error {
  override name = 'QboBodyError';
  readonly code = 'qbo_malformed_body';
  readonly fault: unknown;

  constructor(message: string, fault?: unknown) {
    super(message);
    this.fault = fault;
  }
}

type JsonObject = Record<string, unknown>;

function isRecord(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Trimmed text; blank, whitespace-only and non-text values are missing. Numbers become text. */
function text(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

const qboIdSchema = z.union([
  z.string().trim().min(1),
  z.number().int().nonnegative().transform(String),
]);

// Every field is optional in practice (Intuit leaves empty attributes out), so each one is read
// leniently: a wrong type for a name is treated as missing rather than failing the whole row.
const employeeSchema = z.object({
  Id: qboIdSchema,
  SyncToken: z.unknown().transform(text),
  GivenName: z.unknown().transform(text),
  MiddleName: z.unknown().transform(text),
  FamilyName: z.unknown().transform(text),
  DisplayName: z.unknown().transform(text),
  EmployeeNumber: z.unknown().transform(text),
  PrimaryEmailAddr: z.unknown().transform((v) => (isRecord(v) ? text(v.Address) : null)),
  // Missing means active: Intuit omits attributes, and inactive rows always say Active:false.
  Active: z.unknown().transform((v) => !(v === false || (typeof v === 'string' && v.trim().toLowerCase() === 'false'))),
  MetaData: z.unknown().transform((v) => (isRecord(v) ? parseQboTime(v.LastUpdatedTime) : null)),
});

export function parseEmployee(raw: unknown): ParsedEmployee {
  if (!isRecord(raw)) return { ok: false, qboId: null, problem: 'employee row is not an object' };
  const id = qboIdSchema.safeParse(raw.Id);
  if (!id.success) return { ok: false, qboId: null, problem: 'employee row has no usable Id' };
  const qboId = id.data;

  if (typeof raw.status === 'string' && raw.status.trim().toLowerCase() === 'deleted') {
    const meta = raw.MetaData;
    return { ok: true, value: { qboId, deleted: true, qboUpdatedAt: isRecord(meta) ? parseQboTime(meta.LastUpdatedTime) : null } };
  }

  const row = employeeSchema.safeParse(raw);
  if (!row.success) return { ok: false, qboId, problem: 'employee row has an unexpected shape' };
  const e = row.data;
  return {
    ok: true,
    value: {
      qboId,
      syncToken: e.SyncToken,
      givenName: e.GivenName,
      middleName: e.MiddleName,
      familyName: e.FamilyName,
      displayName: e.DisplayName,
      email: e.PrimaryEmailAddr,
      employeeNumber: e.EmployeeNumber,
      active: e.Active,
      deleted: false,
      qboUpdatedAt: e.MetaData,
    },
  };
}

/** A body as the libraries hand it over: an object, a JSON string, or bytes. */
function readBody(body: unknown, what: string): JsonObject {
  let value = body;
  if (value instanceof Uint8Array) value = new TextDecoder().decode(value);
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') throw new QboBodyError(`QBO ${what} answer is empty`);
    if (trimmed.startsWith('<')) {
      if (/<Fault[\s>]/.test(trimmed)) throw new QboBodyError(`QBO ${what} answer is an XML Fault`, trimmed);
      throw new QboBodyError(`QBO ${what} answer is XML or HTML, expected JSON`);
    }
    try {
      value = JSON.parse(trimmed) as unknown;
    } catch {
      throw new QboBodyError(`QBO ${what} answer is not valid JSON (${trimmed.length} characters, possibly truncated)`);
    }
  }
  if (value === null || value === undefined) throw new QboBodyError(`QBO ${what} answer is empty`);
  if (!isRecord(value)) throw new QboBodyError(`QBO ${what} answer is not a JSON object`);
  // A 200 can carry a Fault; the 401 flavour uses lower-case keys.
  if (isRecord(value.Fault) || isRecord(value.fault)) {
    throw new QboBodyError(`QBO ${what} answer is a Fault, not data`, value);
  }
  return value;
}

/** An entity list: Intuit sends arrays, a lone object is taken as one row, absence as none. */
function rowsOf(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (isRecord(v)) return [v];
  throw new QboBodyError(`QBO ${what} answer has a row list that is not an array`);
}

function optionalCount(v: unknown): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
}

const queryResponseSchema = z.object({ QueryResponse: z.record(z.unknown()) });

function queryResponse(body: unknown, what: string): JsonObject {
  const parsed = queryResponseSchema.safeParse(readBody(body, what));
  if (!parsed.success) throw new QboBodyError(`QBO ${what} answer has no QueryResponse object`);
  return parsed.data.QueryResponse;
}

/**
 * One query page. `maxResults` is what Intuit echoed (rows in this page, not a total; it has been
 * seen off by one): page on the number of rows, not on it.
 */
export function parseQueryPage(
  body: unknown,
  entity = 'Employee',
): { rows: unknown[]; startPosition: number | null; maxResults: number | null } {
  const qr = queryResponse(body, 'query');
  return {
    rows: rowsOf(qr[entity], 'query'),
    startPosition: optionalCount(qr.startPosition),
    maxResults: optionalCount(qr.maxResults),
  };
}

/** `SELECT COUNT(*)`. A QueryResponse without totalCount counts as 0: Intuit leaves empty values out. */
export function parseCount(body: unknown): number {
  const qr = queryResponse(body, 'count');
  if (qr.totalCount === undefined) return 0;
  const n = optionalCount(qr.totalCount);
  if (n === null) throw new QboBodyError('QBO count answer has a totalCount that is not a whole number');
  return n;
}

/** Rows of `entity` from every CDCResponse[*].QueryResponse[*]; empty shapes give []. */
export function parseCdc(body: unknown, entity = 'Employee'): unknown[] {
  const root = readBody(body, 'CDC');
  if (!('CDCResponse' in root)) throw new QboBodyError('QBO CDC answer has no CDCResponse');
  const rows: unknown[] = [];
  for (const part of rowsOf(root.CDCResponse, 'CDC')) {
    if (!isRecord(part)) throw new QboBodyError('QBO CDC answer has a CDCResponse entry that is not an object');
    for (const qr of rowsOf(part.QueryResponse, 'CDC')) {
      if (!isRecord(qr)) throw new QboBodyError('QBO CDC answer has a QueryResponse entry that is not an object');
      rows.push(...rowsOf(qr[entity], 'CDC'));
    }
  }
  return rows;
}

/** GET {entity}/{id}: the entity object itself, still unparsed (give it to parseEmployee). */
export function parseRead(body: unknown, entity = 'Employee'): unknown {
  const root = readBody(body, 'read');
  const value = root[entity];
  if (!isRecord(value)) throw new QboBodyError(`QBO read answer has no ${entity} object`);
  return value;
}

const QBO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Intuit times: `2026-03-02T09:58:12-08:00`, webhooks' `2015-10-05T14:42:19-0700`, CloudEvents'
 * nanosecond `…25.179851517Z`; epoch milliseconds (401 Fault `time`) and Dates pass through.
 * A time without an offset is ambiguous (whose local time?) and gives null, as does anything
 * invalid such as 31 February.
 */
export function parseQboTime(s: unknown): Date | null {
  if (s instanceof Date) return Number.isNaN(s.getTime()) ? null : new Date(s.getTime());
  if (typeof s === 'number') return Number.isFinite(s) ? new Date(s) : null;
  if (typeof s !== 'string') return null;
  const m = QBO_TIME.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec ?? '0');
  const millis = Number((frac ?? '').slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;

  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  return Number.isFinite(ms) ? new Date(ms) : null;
}
