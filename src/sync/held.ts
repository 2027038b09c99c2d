import { LINK_REASONS, LINK_STATUSES, MATCHED_BY, type QboEmployeeDoc } from '../db/models';
import type { MatchHint } from '../matching/match';
import { linkStateOf, type LinkState } from './link';
import { pickData, type EmployeeData } from './merge';

/** What a sync holds of one stored employee: its data, its link and whether it was reported new. */
export interface Held {
  data: EmployeeData;
  link: LinkState;
  version: number;
  newDetected: boolean;
  changedAt: Date | null;
}

/** The fields of a stored employee that toHeld reads. */
export const HELD_PROJECTION = {
  qboId: 1,
  syncToken: 1,
  givenName: 1,
  middleName: 1,
  familyName: 1,
  displayName: 1,
  email: 1,
  employeeNumber: 1,
  active: 1,
  deleted: 1,
  qboUpdatedAt: 1,
  newDetectedAt: 1,
  link: 1,
} as const;

export function toHeld(d: QboEmployeeDoc): Held {
  return {
    data: pickData(d),
    link: linkStateOf(d.link),
    version: d.link?.version ?? 0,
    newDetected: d.newDetectedAt != null,
    changedAt: d.link?.changedAt ?? null,
  };
}

/**
 * One employee as a JSON array: values only, in this order, enums as their index in the
 * models' lists and dates as epoch milliseconds. Field names repeated 100,000 times were most
 * of the text.
 */
type Packed = [
  syncToken: string | null,
  givenName: string | null,
  middleName: string | null,
  familyName: string | null,
  displayName: string | null,
  email: string | null,
  employeeNumber: string | null,
  active: 0 | 1,
  deleted: 0 | 1,
  qboUpdatedAt: number | null,
  status: number,
  reason: number,
  memberId: string | null,
  matchedBy: number,
  hint: [memberId: string, fullName: string, kind: MatchHint['kind']] | 0,
  version: number,
  newDetected: 0 | 1,
  changedAt: number | null,
];

const time = (d: Date | null) => (d ? d.getTime() : null);
const date = (ms: number | null) => (ms === null ? null : new Date(ms));
const indexOf = <T>(list: readonly T[], v: T | null) => (v === null ? -1 : list.indexOf(v));
const at = <T>(list: readonly T[], i: number): T | null => (i < 0 ? null : (list[i] ?? null));

export function pack(h: Held): string {
  const { data: d, link: l } = h;
  const packed: Packed = [
    d.syncToken,
    d.givenName,
    d.middleName,
    d.familyName,
    d.displayName,
    d.email,
    d.employeeNumber,
    d.active ? 1 : 0,
    d.deleted ? 1 : 0,
    time(d.qboUpdatedAt),
    LINK_STATUSES.indexOf(l.status),
    indexOf(LINK_REASONS, l.reason),
    l.memberId,
    indexOf(MATCHED_BY, l.matchedBy),
    l.hint ? [l.hint.memberId, l.hint.fullName, l.hint.kind] : 0,
    h.version,
    h.newDetected ? 1 : 0,
    time(h.changedAt),
  ];
  return JSON.stringify(packed);
}

export function unpack(text: string): Held {
  const p = JSON.parse(text) as Packed;
  const hint = p[14];
  return {
    data: {
      syncToken: p[0],
      givenName: p[1],
      middleName: p[2],
      familyName: p[3],
      displayName: p[4],
      email: p[5],
      employeeNumber: p[6],
      active: p[7] === 1,
      deleted: p[8] === 1,
      qboUpdatedAt: date(p[9]),
    },
    link: {
      status: at(LINK_STATUSES, p[10]) ?? 'cannot_connect',
      reason: at(LINK_REASONS, p[11]),
      memberId: p[12],
      matchedBy: at(MATCHED_BY, p[13]),
      hint: hint === 0 ? null : { memberId: hint[0], fullName: hint[1], kind: hint[2] },
    },
    version: p[15],
    newDetected: p[16] === 1,
    changedAt: date(p[17]),
  };
}

/**
 * What a sync holds of the org's employees, by QBO id: every one of them during a full sync
 * (read once, because FerretDB scans the collection for anything but a lookup by _id). Each is
 * kept packed (about 200 bytes of text instead of about 750 bytes of live objects) and unpacked
 * when a row of theirs arrives.
 */
export class HeldMap {
  private readonly rows = new Map<string, string>();
  get size(): number {
    return this.rows.size;
  }
  get(qboId: string): Held | undefined {
    const text = this.rows.get(qboId);
    return text === undefined ? undefined : unpack(text);
  }
  set(qboId: string, h: Held): void {
    this.rows.set(qboId, pack(h));
  }
  /** Unpacks one entry at a time: walking the map never holds more than one as objects. */
  *entries(): IterableIterator<[string, Held]> {
    for (const [qboId, text] of this.rows) yield [qboId, unpack(text)];
  }
}
