// The demo company shows every matching rule it claims to (checked with the real matcher), and
// generateCompany makes large, deterministic, realistic companies.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Directory } from '../../src/matching/match';
import type { MatchOutcome } from '../../src/matching/match';
import { generateCompany, startQboSandbox } from '../../sandbox/server';
import type { RawEmployee } from '../../sandbox/server';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface DemoFile {
  realmId: string;
  employees: RawEmployee[];
  members: Array<{ fullName: string; email: string | null }>;
  _notes: { expected: Record<string, string>; byRule: Record<string, string[]> };
}

const demo = JSON.parse(readFileSync(path.join(root, 'sandbox/companies/demo.json'), 'utf8')) as DemoFile;

/** Matches in Id order, each member linked at most once (the demo is built so order is moot). */
function matchDemo(): Map<string, MatchOutcome> {
  const dir = new Directory(demo.members.map((m, i) => ({ id: `m${i + 1}`, fullName: m.fullName, email: m.email })));
  const linkedTo = new Map<string, string>(); // member → employee
  const outcomes = new Map<string, MatchOutcome>();
  for (const e of demo.employees) {
    const outcome = dir.match(
      {
        givenName: e.GivenName,
        middleName: e.MiddleName,
        familyName: e.FamilyName,
        displayName: e.DisplayName,
        email: e.PrimaryEmailAddr?.Address,
      },
      (memberId) => linkedTo.has(memberId) && linkedTo.get(memberId) !== e.Id,
    );
    if (outcome.status === 'connected') linkedTo.set(outcome.memberId, e.Id);
    outcomes.set(e.Id, outcome);
  }
  return outcomes;
}

describe('demo company', () => {
  const rule = (name: string): string[] => {
    const ids = demo._notes.byRule[name];
    if (!ids) throw new Error(`_notes.byRule.${name} missing`);
    return ids;
  };

  it('has the realm, ~36 employees, the members, and a note for every employee', () => {
    expect(demo.realmId).toBe('9130357766431234');
    expect(demo.employees.length).toBeGreaterThanOrEqual(34);
    expect(demo.employees.length).toBeLessThanOrEqual(40);
    expect(Object.keys(demo._notes.expected).sort()).toEqual(demo.employees.map((e) => e.Id).sort());
    const ids = new Set(demo.employees.map((e) => e.Id));
    for (const [name, list] of Object.entries(demo._notes.byRule)) {
      if (name === 'members_not_in_qbo') continue;
      for (const id of list) expect(ids.has(id), `${name} → ${id}`).toBe(true);
    }
  });

  it('gives every employee the outcome its note claims', () => {
    const outcomes = matchDemo();
    const of = (id: string): MatchOutcome => outcomes.get(id) as MatchOutcome;
    for (const id of rule('connected_by_email')) expect(of(id), id).toMatchObject({ status: 'connected', matchedBy: 'email' });
    for (const id of rule('connected_by_name')) expect(of(id), id).toMatchObject({ status: 'connected', matchedBy: 'name' });
    for (const reason of ['no_match', 'ambiguous_name', 'member_taken', 'no_identity']) {
      for (const id of rule(reason)) expect(of(id), id).toMatchObject({ status: 'cannot_connect', reason });
    }
    const listed = ['connected_by_email', 'connected_by_name', 'no_match', 'ambiguous_name', 'member_taken', 'no_identity'].flatMap(rule);
    expect(listed.sort()).toEqual(demo.employees.map((e) => e.Id).sort());

    for (const [name, kind] of [
      ['near_miss_accents', 'accents'],
      ['near_miss_middle_name', 'middle_name'],
      ['near_miss_name_order', 'name_order'],
    ] as const) {
      for (const id of rule(name)) expect(of(id), id).toMatchObject({ status: 'cannot_connect', reason: 'no_match', hint: { kind } });
    }
  });

  it('carries the data each rule needs', () => {
    const byId = new Map(demo.employees.map((e) => [e.Id, e]));
    const inactive = demo.employees.filter((e) => e.Active === false).map((e) => e.Id);
    expect(inactive).toEqual(rule('inactive'));
    expect(inactive.length).toBeGreaterThanOrEqual(3);
    expect(rule('inactive').some((id) => rule('connected_by_email').includes(id) || rule('connected_by_name').includes(id))).toBe(true);
    expect(demo.employees.filter((e) => !('PrimaryEmailAddr' in e)).map((e) => e.Id)).toEqual(rule('without_PrimaryEmailAddr'));
    for (const id of rule('import_candidates_with_email')) expect(byId.get(id)?.PrimaryEmailAddr?.Address).toMatch(/@/);
    for (const id of rule('import_candidates_without_email')) expect(byId.get(id)?.PrimaryEmailAddr).toBeUndefined();
    for (const id of [...rule('import_candidates_with_email'), ...rule('import_candidates_without_email')]) {
      expect(byId.get(id)?.Active, id).toBe(true);
    }
    // Decomposed (NFD) names on both sides.
    const isNfd = (s: string | undefined): boolean => s !== undefined && s !== s.normalize('NFC');
    expect(demo.members.some((m) => isNfd(m.fullName))).toBe(true);
    expect(demo.employees.some((e) => isNfd(e.GivenName))).toBe(true);
    // no_identity: names present but whitespace only.
    for (const id of rule('no_identity')) {
      const e = byId.get(id);
      expect(e?.DisplayName?.trim(), id).toBe('');
    }
  });

  it('loads into the sandbox as it is', async () => {
    const sb = await startQboSandbox();
    try {
      sb.loadCompany(demo.realmId, demo);
      expect(sb.employees(demo.realmId)).toHaveLength(demo.employees.length);
    } finally {
      await sb.close();
    }
  });
});

describe('generateCompany', () => {
  it('is deterministic and realistic', () => {
    const a = generateCompany(500, { seed: 3, inactiveEvery: 4, noEmailEvery: 5 });
    const b = generateCompany(500, { seed: 3, inactiveEvery: 4, noEmailEvery: 5 });
    expect(a).toEqual(b);
    expect(generateCompany(500, { seed: 4 }).employees[0]).not.toEqual(a.employees[0]);
    const { employees } = a;
    expect(employees.map((e) => e.Id)).toEqual(Array.from({ length: 500 }, (_, i) => String(i + 1)));
    expect(new Set(employees.map((e) => e.DisplayName)).size).toBe(500);
    expect(employees.filter((e) => e.Active === false).map((e) => e.Id)).toEqual(
      Array.from({ length: 125 }, (_, i) => String((i + 1) * 4)),
    );
    const withoutEmail = employees.filter((e) => !('PrimaryEmailAddr' in e)).map((e) => e.Id);
    expect(withoutEmail).toEqual(Array.from({ length: 100 }, (_, i) => String((i + 1) * 5)));
    for (const e of employees) {
      if (e.PrimaryEmailAddr) {
        expect(e.PrimaryEmailAddr.Address).toBe(`${e.GivenName?.toLowerCase()}.${e.FamilyName?.toLowerCase()}.${e.Id}@example.com`);
      }
      expect(e.MetaData?.LastUpdatedTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-08:00$/);
      expect(Date.parse(e.MetaData?.LastUpdatedTime ?? '')).toBeGreaterThanOrEqual(Date.parse(e.MetaData?.CreateTime ?? ''));
    }
  });

  it('keeps DisplayNames unique past the name pool and serves 100,000 employees', async () => {
    const { employees } = generateCompany(100_000);
    expect(new Set(employees.map((e) => e.DisplayName)).size).toBe(100_000);
    const sb = await startQboSandbox();
    try {
      sb.loadCompany('1', { employees });
      const code = sb.issueAuthorizationCode('1');
      const basic = `Basic ${Buffer.from('sandbox-client-id:sandbox-client-secret').toString('base64')}`;
      const tok = (await (
        await fetch(sb.tokenUrl, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: `grant_type=authorization_code&code=${code}`,
        })
      ).json()) as { access_token: string };
      const q = async (text: string): Promise<{ QueryResponse: { totalCount?: number; Employee?: RawEmployee[] } }> =>
        (await (
          await fetch(`${sb.url}/v3/company/1/query?query=${encodeURIComponent(text)}`, {
            headers: { authorization: `Bearer ${tok.access_token}` },
          })
        ).json()) as { QueryResponse: { totalCount?: number; Employee?: RawEmployee[] } };
      expect((await q('SELECT COUNT(*) FROM Employee WHERE Active IN (true, false)')).QueryResponse.totalCount).toBe(100_000);
      const last = await q('SELECT * FROM Employee WHERE Active IN (true, false) ORDERBY Id STARTPOSITION 99001 MAXRESULTS 1000');
      expect(last.QueryResponse.Employee).toHaveLength(1000);
      expect(last.QueryResponse.Employee?.at(-1)?.Id).toBe('100000');
    } finally {
      await sb.close();
    }
  });
});
