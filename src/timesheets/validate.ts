import type { TimeEntryDoc } from '../db/models';
import { DomainError } from '../errors';

/**
 * What a time entry may say, checked before anything is stored. Pure. Either a duration
 * (hours + minutes) or a start and an end with their offset; never negative, never over 24 h;
 * dates are real calendar dates.
 */

export interface TimeEntryInput {
  memberId?: unknown;
  date?: unknown;
  hours?: unknown;
  minutes?: unknown;
  start?: unknown;
  end?: unknown;
  description?: unknown;
  billable?: unknown;
}

/** What an entry says, as stored (src/db/models.ts TimeEntryDoc). */
export type ValidEntry = Pick<TimeEntryDoc, 'date' | 'hours' | 'minutes' | 'start' | 'end' | 'description' | 'billable'>;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?([+-]\d{2}:\d{2}|Z)$/;
const DAY_MS = 24 * 3600_000;

const bad = (code: string, message: string) => new DomainError(code, message);

/** A YYYY-MM-DD that names a real day. */
export function isCalendarDate(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = DAY.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && y >= 2000 && y <= 2100;
}

function dateTime(raw: unknown, name: string): { iso: string; ms: number } {
  if (typeof raw !== 'string') throw bad('invalid_time', `${name} must be a date and time with its offset, e.g. 2026-11-02T08:00:00-08:00`);
  const m = DATE_TIME.exec(raw.trim());
  if (!m || !isCalendarDate(m[1]) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4] ?? 0) > 59) {
    throw bad('invalid_time', `${name} must be a date and time with its offset, e.g. 2026-11-02T08:00:00-08:00`);
  }
  const iso = `${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}${m[5] === 'Z' ? '+00:00' : m[5]}`;
  return { iso, ms: Date.parse(iso) };
}

function wholeNumber(raw: unknown, name: string, max: number): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > max) throw bad('invalid_duration', `${name} must be a whole number from 0 to ${max}`);
  return raw;
}

export function validateEntry(input: TimeEntryInput): ValidEntry {
  if (!isCalendarDate(input.date)) throw bad('invalid_date', 'date must be a real day written YYYY-MM-DD');
  const date = input.date;
  let hours: number | null = null;
  let minutes: number | null = null;
  let start: string | null = null;
  let end: string | null = null;
  const hasSpan = input.start !== undefined || input.end !== undefined;
  const hasDuration = input.hours !== undefined || input.minutes !== undefined;
  if (hasSpan && hasDuration) throw bad('invalid_duration', 'Give either hours and minutes, or start and end, not both');
  if (hasSpan) {
    const s = dateTime(input.start, 'start');
    const e = dateTime(input.end, 'end');
    if (e.ms <= s.ms) throw bad('invalid_duration', 'end must be after start');
    if (e.ms - s.ms > DAY_MS) throw bad('invalid_duration', 'One entry cannot be longer than 24 hours');
    if (s.iso.slice(0, 10) !== date) throw bad('invalid_date', 'start must be on the entry date');
    start = s.iso;
    end = e.iso;
  } else {
    if (!hasDuration) throw bad('invalid_duration', 'Give hours and minutes, or start and end');
    hours = wholeNumber(input.hours ?? 0, 'hours', 24);
    minutes = wholeNumber(input.minutes ?? 0, 'minutes', 59);
    if (hours * 60 + minutes === 0) throw bad('invalid_duration', 'An entry needs some time');
    if (hours * 60 + minutes > 24 * 60) throw bad('invalid_duration', 'One entry cannot be longer than 24 hours');
  }
  const description = input.description === undefined || input.description === null ? '' : input.description;
  if (typeof description !== 'string' || description.length > 4000) throw bad('invalid_description', 'description is text of at most 4000 characters');
  let billable: ValidEntry['billable'] = { customerId: null, hourlyRate: null };
  if (input.billable !== undefined && input.billable !== null) {
    const b = input.billable as { customerId?: unknown; hourlyRate?: unknown };
    if (typeof b !== 'object' || typeof b.customerId !== 'string' || !/^\d{1,20}$/.test(b.customerId)) {
      throw bad('invalid_billable', 'billable needs the QuickBooks customerId it is billed to');
    }
    if (typeof b.hourlyRate !== 'number' || !Number.isFinite(b.hourlyRate) || b.hourlyRate < 0 || b.hourlyRate > 100_000) {
      throw bad('invalid_billable', 'billable needs an hourlyRate from 0 to 100000');
    }
    billable = { customerId: b.customerId, hourlyRate: b.hourlyRate };
  }
  return { date, hours, minutes, start, end, description: description.trim(), billable };
}

/** What an edit may say: any of an entry's fields except whose it is. */
export type TimeEntryPatch = Omit<TimeEntryInput, 'memberId'>;

/**
 * An edit applied to a stored entry, as input for validateEntry: fields the patch does not
 * give keep their stored values. Giving hours or minutes replaces a stored start/end, giving
 * start or end replaces stored hours/minutes (the other of the pair is kept when it is of the
 * same kind); giving both kinds is refused by validateEntry. `billable: null` removes billing.
 */
export function mergeEntryPatch(stored: ValidEntry, patch: TimeEntryPatch): TimeEntryInput {
  const given = (k: keyof TimeEntryPatch) => patch[k] !== undefined;
  const pick = (k: keyof TimeEntryPatch, keep: unknown) => (given(k) ? patch[k] : (keep ?? undefined));
  const duration = given('hours') || given('minutes');
  const span = given('start') || given('end');
  const storedSpan = (stored.start ?? null) !== null || (stored.end ?? null) !== null;
  const merged: TimeEntryInput = {
    date: pick('date', stored.date),
    description: pick('description', stored.description),
    billable: pick('billable', (stored.billable?.customerId ?? null) === null ? null : stored.billable),
  };
  if (duration || (!span && !storedSpan)) {
    merged.hours = pick('hours', storedSpan ? null : stored.hours);
    merged.minutes = pick('minutes', storedSpan ? null : stored.minutes);
  }
  // Turning a duration into a span needs both ends: the stored entry has neither to keep.
  if (span && !storedSpan && (!given('start') || !given('end'))) {
    throw bad('invalid_time', 'This entry has a duration: give start and end together to record it as a span instead');
  }
  if (span || (!duration && storedSpan)) {
    merged.start = pick('start', stored.start);
    merged.end = pick('end', stored.end);
  }
  return merged;
}

/** Does `next` say exactly what `stored` says? (Then an edit changes nothing, not even the revision.) */
export function sameEntry(stored: ValidEntry, next: ValidEntry): boolean {
  const keys = ['date', 'hours', 'minutes', 'start', 'end', 'description'] as const;
  return (
    keys.every((k) => (stored[k] ?? null) === next[k]) &&
    (stored.billable?.customerId ?? null) === next.billable.customerId &&
    (stored.billable?.hourlyRate ?? null) === next.billable.hourlyRate
  );
}

/** A range of days (listing, export): real days, not reversed. */
export function validateRange(from: unknown, to: unknown): { from: string; to: string } {
  if (!isCalendarDate(from) || !isCalendarDate(to)) throw bad('invalid_date', 'from and to must be real days written YYYY-MM-DD');
  if (from > to) throw bad('invalid_period', `The period is reversed: from ${from} is after to ${to}`);
  return { from, to };
}

/** A period to export: real days, not reversed, at most a year. */
export function validatePeriod(from: unknown, to: unknown): { from: string; to: string } {
  const range = validateRange(from, to);
  if (Date.parse(range.to) - Date.parse(range.from) > 366 * DAY_MS) throw bad('invalid_period', 'A period is at most a year');
  return range;
}
