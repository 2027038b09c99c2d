/**
 * Deterministic synthetic companies for tests and benches (up to 100,000+ employees).
 * Rows are plain objects; timestamps come from a small pool of shared strings so a large
 * company costs little more than its names and emails.
 */
import type { RawEmployee } from './types';
import { formatQboTime } from './time';

const GIVEN = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Carlos', 'Karen',
  'Daniel', 'Lisa', 'Matthew', 'Nancy', 'Anthony', 'Betty', 'Mark', 'Sandra', 'Donald', 'Ashley',
  'Steven', 'Kimberly', 'Andrew', 'Emily', 'Paul', 'Donna', 'Joshua', 'Michelle', 'Kenneth', 'Carol',
  'Kevin', 'Amanda', 'Brian', 'Melissa', 'Wei', 'Deborah', 'Timothy', 'Stephanie', 'Ronald', 'Priya',
  'Jason', 'Rebecca', 'Ahmed', 'Sharon', 'Ryan', 'Laura', 'Jacob', 'Cynthia', 'Gary', 'Aisha',
  'Nicholas', 'Amy', 'Eric', 'Angela', 'Jonathan', 'Yuki', 'Stephen', 'Anna', 'Larry', 'Fatima',
];

const FAMILY = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
  'Chen', 'Patel', 'Kim', 'Okafor', 'Schmidt', 'Rossi', 'Tanaka', 'Kowalski', 'Novak', 'Haddad',
  'Murphy', 'Cook', 'Rogers', 'Morgan', 'Peterson', 'Cooper', 'Reed', 'Bailey', 'Bell', 'Gomez',
  'Kelly', 'Howard', 'Ward', 'Cox', 'Diaz', 'Richardson', 'Wood', 'Watson', 'Brooks', 'Bennett',
];

/** mulberry32: tiny, fast, good enough to shuffle name lists reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(list: readonly T[], next: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export interface GenerateOptions {
  /** Every k-th employee (by Id) is inactive; 0 for none. Default 10. */
  inactiveEvery?: number;
  /** PRNG seed; the same seed always gives the same company. Default 1. */
  seed?: number;
  /** Every k-th employee has no PrimaryEmailAddr; 0 for none. Default 7. */
  noEmailEvery?: number;
}

/**
 * Ids '1'..'n'. Each (given, family) pair is used once per round of GIVEN×FAMILY names, walked
 * with a stride coprime to that product so neighbours differ; later rounds add a number to the
 * DisplayName to keep it unique, as people do in QBO.
 */
export function generateCompany(n: number, opts: GenerateOptions = {}): { employees: RawEmployee[] } {
  const inactiveEvery = opts.inactiveEvery ?? 10;
  const noEmailEvery = opts.noEmailEvery ?? 7;
  const next = rng(opts.seed ?? 1);
  const given = shuffled(GIVEN, next);
  const family = shuffled(FAMILY, next);
  const pairs = given.length * family.length;
  let stride = 2221;
  while (gcd(stride, pairs) !== 1) stride++;
  const offset = Math.floor(next() * pairs);

  // 512 shared timestamps between 2023-01-01 and 2025-06-01 (UTC), in company time.
  const base = Date.UTC(2023, 0, 1);
  const span = Date.UTC(2025, 5, 1) - base;
  const created: string[] = [];
  const updated: string[] = [];
  for (let i = 0; i < 512; i++) {
    const c = base + Math.floor(next() * span * 0.6);
    created.push(formatQboTime(c));
    updated.push(formatQboTime(c + Math.floor(next() * span * 0.4)));
  }

  const employees: RawEmployee[] = new Array<RawEmployee>(n);
  for (let i = 1; i <= n; i++) {
    const p = ((i - 1) * stride + offset) % pairs;
    const g = given[p % given.length] as string;
    const f = family[Math.floor(p / given.length)] as string;
    const round = Math.floor((i - 1) / pairs);
    const display = round === 0 ? `${g} ${f}` : `${g} ${f} ${round + 1}`;
    const t = (i * 7919) % 512;
    const e: RawEmployee = {
      BillableTime: false,
      domain: 'QBO',
      sparse: false,
      Id: String(i),
      SyncToken: '0',
      MetaData: { CreateTime: created[t], LastUpdatedTime: updated[t] },
      GivenName: g,
      FamilyName: f,
      DisplayName: display,
      PrintOnCheckName: display,
      Active: !(inactiveEvery > 0 && i % inactiveEvery === 0),
    };
    if (!(noEmailEvery > 0 && i % noEmailEvery === 0)) {
      e.PrimaryEmailAddr = { Address: `${g.toLowerCase()}.${f.toLowerCase()}.${i}@example.com` };
    }
    employees[i - 1] = e;
  }
  return { employees };
}
