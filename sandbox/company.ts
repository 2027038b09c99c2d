/**
 * One QBO company (realm) as the sandbox holds it: employees in Id order, plus stubs of deleted
 * ones for CDC, and the TimeActivities written to it. Rows are replaced on every change (never mutated in place), so a page already
 * being serialized never sees a half-applied change and per-row caches stay valid.
 */
import type { CompanyInput, DeletedStub, RawEmployee } from './types';
import { compareIds, lastUpdatedMs } from './query';
import { TimeActivityLedger } from './timeactivity';
import { DEFAULT_OFFSET_MINUTES, formatQboTime } from './time';

/** Attributes whose empty value Intuit leaves out of the JSON altogether. */
function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (typeof v === 'object' && !Array.isArray(v)) {
    return Object.values(v as Record<string, unknown>).every(isEmptyValue);
  }
  return false;
}

/** Drops empty attributes (top level and one level down: `PrimaryEmailAddr: { Address: '' }`). */
function stripEmpty(e: Record<string, unknown>): void {
  for (const k in e) {
    const v = e[k];
    if (isEmptyValue(v)) {
      delete e[k];
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const inner = v as Record<string, unknown>;
      let copy: Record<string, unknown> | null = null;
      for (const ik in inner) {
        if (!isEmptyValue(inner[ik])) continue;
        copy ??= { ...inner };
        delete copy[ik];
      }
      // Copy only when something goes: a caller's nested object is never mutated.
      if (copy) e[k] = copy;
    }
  }
}

export function companyEmployees(input: CompanyInput): readonly Partial<RawEmployee>[] {
  const loose = input as { employees?: unknown; QueryResponse?: { Employee?: unknown } };
  if (Array.isArray(loose.employees)) return loose.employees as Partial<RawEmployee>[];
  if (loose.QueryResponse && typeof loose.QueryResponse === 'object') {
    const list = loose.QueryResponse.Employee ?? [];
    if (Array.isArray(list)) return list as Partial<RawEmployee>[];
  }
  throw new Error('company must be { employees: [...] } or an Intuit query body { QueryResponse: { Employee: [...] } }');
}

function inIdOrder<V>(rows: Map<string, V>): Map<string, V> {
  let prev: string | null = null;
  let sorted = true;
  for (const id of rows.keys()) {
    if (prev !== null && compareIds(prev, id) > 0) {
      sorted = false;
      break;
    }
    prev = id;
  }
  return sorted ? rows : new Map([...rows.entries()].sort((a, b) => compareIds(a[0], b[0])));
}

export class Realm {
  /** Id → current row. Kept in Id order (numeric) so unsorted queries can stream. */
  private rows = new Map<string, RawEmployee>();
  private ordered: RawEmployee[] | null = [];
  private deleted = new Map<string, DeletedStub>();
  private displayNames = new Map<string, string>(); // DisplayName → Id
  private maxId: string | null = null;
  /** Loading a company replaces the Realm, so its TimeActivities and requestids go with it. */
  readonly timeActivities = new TimeActivityLedger();

  constructor(
    readonly realmId: string,
    private readonly now: () => Date,
    private readonly offsetMinutes = DEFAULT_OFFSET_MINUTES,
  ) {}

  private stamp(): string {
    return formatQboTime(this.now().getTime(), this.offsetMinutes);
  }

  /** Replaces every employee (and forgets deletions). Throws on duplicate Ids or DisplayNames. */
  load(input: CompanyInput): void {
    const list = companyEmployees(input);
    const rows = new Map<string, RawEmployee>();
    const names = new Map<string, string>();
    const fallback = this.stamp();
    for (const raw of list) {
      const e = this.normalize(raw, fallback);
      if (rows.has(e.Id)) throw new Error(`duplicate employee Id ${e.Id} in realm ${this.realmId}`);
      this.claimName(names, e);
      rows.set(e.Id, e);
    }
    this.rows = inIdOrder(rows);
    this.maxId = [...this.rows.keys()].at(-1) ?? null;
    this.displayNames = names;
    this.deleted.clear();
    this.ordered = null;
  }

  private claimName(names: Map<string, string>, e: RawEmployee): void {
    if (e.DisplayName === undefined) return;
    const holder = names.get(e.DisplayName);
    if (holder !== undefined && holder !== e.Id) {
      // Intuit's 6240 "Duplicate Name Exists Error": DisplayName is unique within a company.
      throw new Error(`Duplicate Name Exists Error: DisplayName "${e.DisplayName}" is used by employee ${holder}`);
    }
    names.set(e.DisplayName, e.Id);
  }

  /** Fills what Intuit always sends (Id, SyncToken, domain, Active, MetaData) and drops empties. */
  private normalize(raw: Partial<RawEmployee>, stamp: string): RawEmployee {
    if (raw.Id === undefined || raw.Id === null || String(raw.Id).trim() === '') {
      throw new Error(`employee without Id in realm ${this.realmId}`);
    }
    const e: RawEmployee = {
      domain: 'QBO',
      sparse: false,
      ...raw,
      Id: String(raw.Id),
      SyncToken: raw.SyncToken !== undefined ? String(raw.SyncToken) : '0',
      Active: raw.Active !== false,
    };
    e.MetaData = {
      CreateTime: raw.MetaData?.CreateTime ?? raw.MetaData?.LastUpdatedTime ?? stamp,
      LastUpdatedTime: raw.MetaData?.LastUpdatedTime ?? raw.MetaData?.CreateTime ?? stamp,
    };
    if (e.DisplayName === undefined) {
      // Intuit derives a DisplayName when none is given.
      const derived = [e.GivenName, e.MiddleName, e.FamilyName].filter((s) => s && s.trim()).join(' ');
      if (derived) e.DisplayName = derived;
    }
    stripEmpty(e);
    return e;
  }

  private list(): RawEmployee[] {
    if (!this.ordered) this.ordered = [...this.rows.values()];
    return this.ordered;
  }

  private put(e: RawEmployee): void {
    const isNew = !this.rows.has(e.Id);
    this.rows.set(e.Id, e);
    if (isNew) {
      // Appending keeps Id order when the new Id is the highest (the usual case); else re-sort.
      if (this.maxId !== null && compareIds(this.maxId, e.Id) > 0) {
        this.rows = inIdOrder(this.rows);
      } else {
        this.maxId = e.Id;
      }
    }
    this.ordered = null;
  }

  all(): readonly RawEmployee[] {
    return this.list();
  }

  get(id: string): RawEmployee | undefined {
    return this.rows.get(id);
  }

  nextId(): string {
    let max = 0n;
    for (const id of this.rows.keys()) if (/^\d+$/.test(id) && BigInt(id) > max) max = BigInt(id);
    for (const id of this.deleted.keys()) if (/^\d+$/.test(id) && BigInt(id) > max) max = BigInt(id);
    return String(max + 1n);
  }

  add(input: Partial<RawEmployee>): RawEmployee {
    const id = input.Id !== undefined && String(input.Id).trim() !== '' ? String(input.Id) : this.nextId();
    if (this.rows.has(id) || this.deleted.has(id)) throw new Error(`employee ${id} already exists in realm ${this.realmId}`);
    const stamp = this.stamp();
    const e = this.normalize({ ...input, Id: id, SyncToken: '0', MetaData: { CreateTime: stamp, LastUpdatedTime: stamp } }, stamp);
    this.claimName(this.displayNames, e);
    this.put(e);
    return e;
  }

  update(id: string, patch: Partial<RawEmployee> & { unset?: string[] }): RawEmployee {
    const current = this.rows.get(id);
    if (!current) throw new Error(`no employee ${id} in realm ${this.realmId}`);
    const { unset, ...fields } = patch;
    const next: RawEmployee = { ...current, ...fields, Id: current.Id };
    for (const k of unset ?? []) {
      if (k !== 'Id') delete next[k];
    }
    if (typeof next.Active !== 'boolean') next.Active = true;
    next.SyncToken = String((Number.parseInt(current.SyncToken, 10) || 0) + 1);
    next.MetaData = { CreateTime: current.MetaData?.CreateTime, LastUpdatedTime: this.stamp() };
    stripEmpty(next);
    if (next.DisplayName !== current.DisplayName) {
      this.claimName(this.displayNames, next);
      if (current.DisplayName !== undefined) this.displayNames.delete(current.DisplayName);
    }
    this.put(next);
    return next;
  }

  /** Removes the row; CDC reports it as a Deleted stub from now on. */
  delete(id: string): void {
    const current = this.rows.get(id);
    if (!current) throw new Error(`no employee ${id} in realm ${this.realmId}`);
    this.rows.delete(id);
    if (current.DisplayName !== undefined) this.displayNames.delete(current.DisplayName);
    this.ordered = null;
    this.deleted.set(id, { domain: 'QBO', status: 'Deleted', Id: id, MetaData: { LastUpdatedTime: this.stamp() } });
  }

  /**
   * Everything (active or not, deleted as stubs) whose LastUpdatedTime is strictly after
   * `sinceMs`, oldest change first, at most `cap` objects.
   */
  changedSince(sinceMs: number, cap: number): Array<RawEmployee | DeletedStub> {
    const changed: Array<{ at: number; obj: RawEmployee | DeletedStub }> = [];
    for (const e of this.rows.values()) {
      const at = lastUpdatedMs(e);
      if (at > sinceMs) changed.push({ at, obj: e });
    }
    for (const stub of this.deleted.values()) {
      const at = lastUpdatedMs(stub);
      if (at > sinceMs) changed.push({ at, obj: stub });
    }
    changed.sort((a, b) => a.at - b.at || compareIds(a.obj.Id, b.obj.Id));
    return changed.slice(0, cap).map((c) => c.obj);
  }
}
