// Intuit's sample bodies, read as they are (never edited to fit). The team keeps them in
// ../shared/fixtures/qbo; test/fixtures/qbo is a byte-for-byte copy, so a clone that sits anywhere
// runs the tests too. QBO_FIXTURES_DIR picks another directory; otherwise ../shared wins when it
// exists, and test/unit/qbo-fixtures.test.ts fails when the copy has drifted from it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const SHARED_QBO_FIXTURES = path.resolve(projectRoot, '../shared/fixtures/qbo');
export const VENDORED_QBO_FIXTURES = path.resolve(projectRoot, 'test/fixtures/qbo');
export const QBO_FIXTURES =
  process.env.QBO_FIXTURES_DIR || (existsSync(SHARED_QBO_FIXTURES) ? SHARED_QBO_FIXTURES : VENDORED_QBO_FIXTURES);

export function fixtureText(name: string): string {
  return readFileSync(path.join(QBO_FIXTURES, name), 'utf8');
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name)) as unknown;
}
