/**
 * Intuit writes times in the company's local offset (`2026-03-02T09:58:12-08:00`), body `time`
 * fields with milliseconds, and accepts ISO times with `Z` or an offset.
 */

/** Pacific time, as in Intuit's samples. The sandbox uses a fixed offset (no DST). */
export const DEFAULT_OFFSET_MINUTES = -480;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function offsetSuffix(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `2026-03-02T09:58:12-08:00` (seconds precision, like MetaData times). */
export function formatQboTime(ms: number, offsetMinutes = DEFAULT_OFFSET_MINUTES, withMillis = false): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000);
  let s =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (withMillis) s += `.${pad(((ms % 1000) + 1000) % 1000, 3)}`;
  return s + offsetSuffix(offsetMinutes);
}

/** Body `time` field: `2026-03-02T10:00:00.000-08:00`. */
export function formatBodyTime(ms: number, offsetMinutes = DEFAULT_OFFSET_MINUTES): string {
  return formatQboTime(ms, offsetMinutes, true);
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO date-time as Intuit accepts it; NaN when it is not one. A time without a zone is
 * read in the company's offset. A leading space in the zone stands for a `+` that arrived
 * unencoded in a query string (node-quickbooks does not encode `changedSince`).
 */
export function parseQboTime(input: string, offsetMinutes = DEFAULT_OFFSET_MINUTES): number {
  const m = ISO_RE.exec(input.trim().replace(/(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$/i, '$1+$2'));
  if (!m) return Number.NaN;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const fields = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = fields;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const millis = Number(`0.${frac}`) * 1000;
  let offset = offsetMinutes;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2)) : 0;
    offset = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm);
  } else if (zone) {
    offset = 0;
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) + Math.floor(millis);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day) return Number.NaN; // 2026-02-31
  return utc - offset * 60_000;
}
