/**
 * The subset of Intuit's query language that our code sends, for Employee and TimeActivity:
 *
 *   SELECT * FROM Employee [WHERE cond [AND cond …]] [ORDERBY field [ASC|DESC][, …]]
 *     [STARTPOSITION n] [MAXRESULTS n]
 *   SELECT COUNT(*) FROM Employee [WHERE …]
 *   (the same FROM TimeActivity, on Id, TxnDate and MetaData times)
 *
 * cond: field (= | < | > | <= | >= | LIKE) value, or field IN (value, …). Keywords and property
 * names are case-insensitive; strings are single-quoted with `\'` escapes. No OR, no projections.
 * Parse failures become Intuit's 4000 "Error parsing query"; well-formed queries on things the
 * sandbox does not know become 4001 "Invalid query".
 */
import type { RawEmployee, RawTimeActivity } from './types';
import { parseQboTime } from './time';

export type QueryValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; raw: string }
  | { kind: 'boolean'; value: boolean };

export type Operator = '=' | '<' | '>' | '<=' | '>=' | 'IN' | 'LIKE';

export interface Condition {
  field: string;
  op: Operator;
  values: QueryValue[];
}

export interface OrderTerm {
  field: string;
  desc: boolean;
}

export interface ParsedQuery {
  count: boolean;
  entity: string;
  where: Condition[];
  orderBy: OrderTerm[];
  startPosition?: number;
  maxResults?: number;
}

/** Answered as HTTP 400, Fault code 4000 "Error parsing query". */
export class QueryParseError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'QueryParseError';
  }
}

/** Answered as HTTP 400, Fault code 4001 "Invalid query". */
export class QueryValidationError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'QueryValidationError';
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

type TokenKind = 'word' | 'string' | 'number' | 'punct' | 'end';

interface Token {
  kind: TokenKind;
  text: string; // for strings: the unescaped value
  column: number; // 1-based
}

const PUNCT = ['<=', '>=', '!=', '<>', '(', ')', ',', '*', '=', '<', '>'];

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (c === "'") {
      let value = '';
      i++;
      let closed = false;
      while (i < q.length) {
        const ch = q[i] as string;
        if (ch === '\\' && i + 1 < q.length) {
          value += q[i + 1];
          i += 2;
          continue;
        }
        if (ch === "'") {
          closed = true;
          i++;
          break;
        }
        value += ch;
        i++;
      }
      if (!closed) throw new QueryParseError(`Lexical error at line 1, column ${column}. Unterminated string literal.`);
      tokens.push({ kind: 'string', text: value, column });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(q[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < q.length && /[0-9.]/.test(q[j] as string)) j++;
      tokens.push({ kind: 'number', text: q.slice(i, j), column });
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < q.length && /[A-Za-z0-9_.]/.test(q[j] as string)) j++;
      tokens.push({ kind: 'word', text: q.slice(i, j), column });
      i = j;
      continue;
    }
    const punct = PUNCT.find((p) => q.startsWith(p, i));
    if (!punct) throw new QueryParseError(`Lexical error at line 1, column ${column}. Encountered: "${c}"`);
    tokens.push({ kind: 'punct', text: punct, column });
    i += punct.length;
  }
  tokens.push({ kind: 'end', text: '<EOF>', column: q.length + 1 });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  private fail(t: Token, expecting: string): never {
    const shown = t.kind === 'end' ? '<EOF>' : t.kind === 'string' ? `'${t.text}'` : t.text;
    throw new QueryParseError(
      `Encountered " ${shown} " at line 1, column ${t.column}.\nWas expecting: ${expecting}`,
    );
  }

  private isKeyword(t: Token, kw: string): boolean {
    return t.kind === 'word' && t.text.toUpperCase() === kw;
  }

  private keyword(kw: string): void {
    const t = this.next();
    if (!this.isKeyword(t, kw)) this.fail(t, `"${kw}"`);
  }

  private punct(p: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== p) this.fail(t, `"${p}"`);
  }

  parse(): ParsedQuery {
    this.keyword('SELECT');
    let count = false;
    const t = this.next();
    if (this.isKeyword(t, 'COUNT')) {
      this.punct('(');
      this.punct('*');
      this.punct(')');
      count = true;
    } else if (!(t.kind === 'punct' && t.text === '*')) {
      this.fail(t, '"*" or "COUNT"');
    }
    this.keyword('FROM');
    const entity = this.next();
    if (entity.kind !== 'word') this.fail(entity, '<ENTITY>');
    const query: ParsedQuery = { count, entity: entity.text, where: [], orderBy: [] };

    if (this.isKeyword(this.peek(), 'WHERE')) {
      this.next();
      query.where.push(this.condition());
      while (this.isKeyword(this.peek(), 'AND')) {
        this.next();
        query.where.push(this.condition());
      }
    }
    if (this.isKeyword(this.peek(), 'ORDERBY')) {
      this.next();
      query.orderBy.push(this.orderTerm());
      while (this.peek().kind === 'punct' && this.peek().text === ',') {
        this.next();
        query.orderBy.push(this.orderTerm());
      }
    }
    if (this.isKeyword(this.peek(), 'STARTPOSITION')) {
      this.next();
      query.startPosition = this.integer();
    }
    if (this.isKeyword(this.peek(), 'MAXRESULTS')) {
      this.next();
      query.maxResults = this.integer();
    }
    const end = this.next();
    if (end.kind !== 'end') this.fail(end, '"WHERE", "ORDERBY", "STARTPOSITION", "MAXRESULTS" or <EOF>');
    return query;
  }

  private integer(): number {
    const t = this.next();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) this.fail(t, '<INTEGER>');
    return Number(t.text);
  }

  private orderTerm(): OrderTerm {
    const f = this.next();
    if (f.kind !== 'word') this.fail(f, '<PROPERTY>');
    let desc = false;
    if (this.isKeyword(this.peek(), 'DESC')) {
      this.next();
      desc = true;
    } else if (this.isKeyword(this.peek(), 'ASC')) {
      this.next();
    }
    return { field: f.text, desc };
  }

  private condition(): Condition {
    const f = this.next();
    if (f.kind !== 'word') this.fail(f, '<PROPERTY>');
    const opTok = this.next();
    let op: Operator;
    if (opTok.kind === 'punct' && ['=', '<', '>', '<=', '>='].includes(opTok.text)) op = opTok.text as Operator;
    else if (this.isKeyword(opTok, 'IN')) op = 'IN';
    else if (this.isKeyword(opTok, 'LIKE')) op = 'LIKE';
    else this.fail(opTok, '"=", "<", ">", "<=", ">=", "IN" or "LIKE"');

    const values: QueryValue[] = [];
    if (op === 'IN') {
      this.punct('(');
      values.push(this.value());
      while (this.peek().kind === 'punct' && this.peek().text === ',') {
        this.next();
        values.push(this.value());
      }
      this.punct(')');
    } else {
      values.push(this.value());
    }
    return { field: f.text, op, values };
  }

  private value(): QueryValue {
    const t = this.next();
    if (t.kind === 'string') return { kind: 'string', value: t.text };
    if (t.kind === 'number') {
      const n = Number(t.text);
      if (Number.isNaN(n)) this.fail(t, '<NUMBER>');
      return { kind: 'number', value: n, raw: t.text };
    }
    if (this.isKeyword(t, 'TRUE')) return { kind: 'boolean', value: true };
    if (this.isKeyword(t, 'FALSE')) return { kind: 'boolean', value: false };
    return this.fail(t, '<STRING>, <NUMBER>, "true" or "false"');
  }
}

export function parseQuery(q: string): ParsedQuery {
  return new Parser(tokenize(q)).parse();
}

/** Cheap check used to record a request as a count before (or without) a full parse. */
export function looksLikeCount(q: string): boolean {
  return /^\s*select\s+count\s*\(/i.test(q);
}

// ---------------------------------------------------------------------------------------------
// Evaluation against employees and TimeActivities

type FieldType = 'id' | 'string' | 'boolean' | 'datetime' | 'date';

/** What the evaluator needs of a row: an Id, maybe MetaData, other fields looked up by name. */
interface QueryRow {
  Id: string;
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
  [key: string]: unknown;
}

interface EntitySpec {
  name: string;
  fields: Record<string, FieldType>;
  byLower: Map<string, string>;
  /** Employee (a name list) answers active rows only unless a condition names Active. */
  activeOnly: boolean;
}

function entitySpec(name: string, fields: Record<string, FieldType>, activeOnly: boolean): EntitySpec {
  return { name, fields, byLower: new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k])), activeOnly };
}

const EMPLOYEE_FIELDS: Record<string, FieldType> = {
  Id: 'id',
  DisplayName: 'string',
  GivenName: 'string',
  MiddleName: 'string',
  FamilyName: 'string',
  PrintOnCheckName: 'string',
  EmployeeNumber: 'string',
  Active: 'boolean',
  'MetaData.CreateTime': 'datetime',
  'MetaData.LastUpdatedTime': 'datetime',
};

const EMPLOYEE = entitySpec('Employee', EMPLOYEE_FIELDS, true);

const TIME_ACTIVITY = entitySpec(
  'TimeActivity',
  { Id: 'id', TxnDate: 'date', 'MetaData.CreateTime': 'datetime', 'MetaData.LastUpdatedTime': 'datetime' },
  false,
);

const ENTITIES = new Map([EMPLOYEE, TIME_ACTIVITY].map((e) => [e.name.toLowerCase(), e]));

/** The entity a query reads, by its canonical name; 4001 for anything the sandbox does not hold. */
export function queriedEntity(parsed: ParsedQuery): 'Employee' | 'TimeActivity' {
  const spec = ENTITIES.get(parsed.entity.toLowerCase());
  if (!spec) throw new QueryValidationError(`QueryValidationError: entity '${parsed.entity}' is not supported by the sandbox`);
  return spec.name as 'Employee' | 'TimeActivity';
}

function canonicalField(spec: EntitySpec, name: string): string {
  const f = spec.byLower.get(name.toLowerCase());
  if (!f) throw new QueryValidationError(`QueryValidationError: property '${name}' is not queryable`);
  return f;
}

/** Numeric Ids sort as numbers ('9' < '10'); anything else falls back to text order. */
export function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) {
    const sa = a.replace(/^0+(?=\d)/, '');
    const sb = b.replace(/^0+(?=\d)/, '');
    if (sa.length !== sb.length) return sa.length - sb.length;
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// Parsed MetaData times, keyed by the MetaData object: rows are replaced, never mutated, on change.
const createCache = new WeakMap<object, number>();
const updateCache = new WeakMap<object, number>();
// Many rows share a timestamp (imports, generated companies): parse each text once.
const parsedTimes = new Map<string, number>();

interface HasMeta {
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
}

function metaTime(e: HasMeta, field: 'CreateTime' | 'LastUpdatedTime'): number {
  const meta = e.MetaData;
  if (!meta) return Number.NaN;
  const cache = field === 'CreateTime' ? createCache : updateCache;
  let v = cache.get(meta);
  if (v === undefined) {
    const text = meta[field] ?? '';
    v = parsedTimes.get(text);
    if (v === undefined) {
      v = parseQboTime(text);
      if (parsedTimes.size >= 50_000) parsedTimes.clear();
      parsedTimes.set(text, v);
    }
    cache.set(meta, v);
  }
  return v;
}

export function lastUpdatedMs(e: HasMeta): number {
  return metaTime(e, 'LastUpdatedTime');
}

function rawField(e: QueryRow, field: string): unknown {
  switch (field) {
    case 'MetaData.CreateTime':
      return metaTime(e, 'CreateTime');
    case 'MetaData.LastUpdatedTime':
      return metaTime(e, 'LastUpdatedTime');
    case 'Active':
      return e.Active !== false;
    default:
      return e[field];
  }
}

type Predicate = (e: QueryRow) => boolean;

function likeRegex(pattern: string): RegExp {
  const body = pattern
    .split('%')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

function compileCondition(spec: EntitySpec, c: Condition): Predicate {
  const field = canonicalField(spec, c.field);
  const type = spec.fields[field] as FieldType;
  const bad = (why: string): never => {
    throw new QueryValidationError(`QueryValidationError: ${why} for property '${field}'`);
  };
  if (c.op === 'LIKE' && type !== 'string') bad('LIKE is not supported');
  if (type === 'boolean' && c.op !== '=' && c.op !== 'IN') bad(`operator ${c.op} is not supported`);

  const operands = c.values.map((v): string | number | boolean => {
    switch (type) {
      case 'boolean':
        if (v.kind === 'boolean') return v.value;
        if (v.kind === 'string' && /^(true|false)$/i.test(v.value)) return v.value.toLowerCase() === 'true';
        return bad('a boolean value is expected');
      case 'datetime': {
        if (v.kind !== 'string') return bad('a quoted date-time is expected');
        const ms = parseQboTime(v.value);
        if (Number.isNaN(ms)) bad(`'${v.value}' is not a valid date-time`);
        return ms;
      }
      case 'id':
        if (v.kind === 'boolean') return bad('an Id is expected');
        return v.kind === 'number' ? v.raw : v.value;
      case 'date':
        // Dates compare as text: YYYY-MM-DD sorts in date order.
        if (v.kind !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v.value)) return bad('a quoted date YYYY-MM-DD is expected');
        return v.value;
      default:
        if (v.kind !== 'string') return bad('a quoted string is expected');
        return v.value.toLowerCase();
    }
  });

  const cmp = (actual: unknown, expected: string | number | boolean): number | null => {
    if (type === 'id') return typeof actual === 'string' ? compareIds(actual, expected as string) : null;
    if (type === 'datetime') return typeof actual === 'number' && !Number.isNaN(actual) ? actual - (expected as number) : null;
    if (type === 'boolean') return actual === expected ? 0 : 1;
    if (typeof actual !== 'string') return null;
    const a = type === 'date' ? actual : actual.toLowerCase();
    const b = expected as string;
    return a < b ? -1 : a > b ? 1 : 0;
  };

  if (c.op === 'LIKE') {
    const re = likeRegex(String(operands[0]));
    return (e) => {
      const v = rawField(e, field);
      return typeof v === 'string' && re.test(v);
    };
  }
  const test = (r: number | null): boolean => {
    if (r === null) return false;
    switch (c.op) {
      case '<':
        return r < 0;
      case '>':
        return r > 0;
      case '<=':
        return r <= 0;
      case '>=':
        return r >= 0;
      default:
        return r === 0;
    }
  };
  return (e) => {
    const v = rawField(e, field);
    return operands.some((o) => test(cmp(v, o)));
  };
}

function compileOrder(spec: EntitySpec, terms: OrderTerm[]): (a: QueryRow, b: QueryRow) => number {
  const compiled = terms.map((t) => ({ field: canonicalField(spec, t.field), sign: t.desc ? -1 : 1 }));
  return (a, b) => {
    for (const { field, sign } of compiled) {
      const type = spec.fields[field];
      const va = rawField(a, field);
      const vb = rawField(b, field);
      let r: number;
      if (type === 'id') r = compareIds(String(va), String(vb));
      else if (type === 'datetime') r = (va as number) - (vb as number) || 0;
      else if (type === 'boolean') r = Number(va) - Number(vb);
      else {
        // Names sort ignoring case; dates are digits, unaffected.
        const sa = typeof va === 'string' ? va.toLowerCase() : '';
        const sb = typeof vb === 'string' ? vb.toLowerCase() : '';
        r = sa < sb ? -1 : sa > sb ? 1 : 0;
      }
      if (r !== 0) return r * sign;
    }
    return compareIds(a.Id, b.Id);
  };
}

export const DEFAULT_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 1000;

export type QueryResult<T = RawEmployee> = { kind: 'count'; totalCount: number } | { kind: 'page'; rows: T[]; startPosition: number };

/**
 * Runs a parsed query over `rows` (assumed in Id order). Without any condition on Active, only
 * active rows match: that is Intuit's rule, and the reason clients must ask for
 * `Active IN (true, false)` to see everyone.
 */
export function runEmployeeQuery(parsed: ParsedQuery, rows: Iterable<RawEmployee>): QueryResult<RawEmployee> {
  return runQuery(EMPLOYEE, parsed, rows);
}

/** The same over TimeActivities (in creation order, which is Id order). */
export function runTimeActivityQuery(parsed: ParsedQuery, rows: Iterable<RawTimeActivity>): QueryResult<RawTimeActivity> {
  return runQuery(TIME_ACTIVITY, parsed, rows);
}

function runQuery<T extends QueryRow>(spec: EntitySpec, parsed: ParsedQuery, rows: Iterable<T>): QueryResult<T> {
  if (parsed.entity.toLowerCase() !== spec.name.toLowerCase()) {
    throw new QueryValidationError(`QueryValidationError: entity '${parsed.entity}' is not supported by the sandbox`);
  }
  const predicates = parsed.where.map((c) => compileCondition(spec, c));
  if (spec.activeOnly && !parsed.where.some((c) => c.field.toLowerCase() === 'active')) predicates.push((e) => e.Active !== false);
  const order = parsed.orderBy.length > 0 ? compileOrder(spec, parsed.orderBy) : null;
  if (parsed.maxResults !== undefined && parsed.maxResults < 1) {
    throw new QueryValidationError('QueryValidationError: MAXRESULTS must be at least 1');
  }

  if (parsed.count) {
    let n = 0;
    for (const e of rows) if (predicates.every((p) => p(e))) n++;
    return { kind: 'count', totalCount: n };
  }

  const start = Math.max(1, parsed.startPosition ?? 1);
  const max = Math.min(MAX_MAX_RESULTS, parsed.maxResults ?? DEFAULT_MAX_RESULTS);
  const out: T[] = [];
  if (order) {
    const matched: T[] = [];
    for (const e of rows) if (predicates.every((p) => p(e))) matched.push(e);
    matched.sort(order);
    return { kind: 'page', rows: matched.slice(start - 1, start - 1 + max), startPosition: start };
  }
  // Default order is Id order: stream, skipping without collecting.
  let seen = 0;
  for (const e of rows) {
    if (!predicates.every((p) => p(e))) continue;
    seen++;
    if (seen < start) continue;
    out.push(e);
    if (out.length >= max) break;
  }
  return { kind: 'page', rows: out, startPosition: start };
}
