import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_QBO_FIXTURES, VENDORED_QBO_FIXTURES } from '../helpers/qbo-fixtures';

describe('the vendored copy of the QBO fixtures', () => {
  it('holds the request and response bodies the tests read', () => {
    const names = readdirSync(VENDORED_QBO_FIXTURES);
    expect(names).toEqual(expect.arrayContaining(['employee-query-sandbox-company.json', 'fault-401-expired.json', 'timeactivity-create-request.json']));
  });

  it.runIf(existsSync(SHARED_QBO_FIXTURES))('is byte for byte the team copy in ../shared/fixtures/qbo', () => {
    const shared = readdirSync(SHARED_QBO_FIXTURES).sort();
    expect(readdirSync(VENDORED_QBO_FIXTURES).sort()).toEqual(shared);
    for (const name of shared) {
      const a = readFileSync(path.join(SHARED_QBO_FIXTURES, name));
      const b = readFileSync(path.join(VENDORED_QBO_FIXTURES, name));
      expect(b.equals(a), `${name} differs: copy ../shared/fixtures/qbo/${name} over test/fixtures/qbo/${name}`).toBe(true);
    }
  });
});
