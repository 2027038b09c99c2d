// Intuit's sample bodies, read as they are from ../shared/fixtures/qbo (never edited to fit).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const QBO_FIXTURES = path.resolve(projectRoot, '../shared/fixtures/qbo');

export function fixtureText(name: string): string {
  return readFileSync(path.join(QBO_FIXTURES, name), 'utf8');
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name)) as unknown;
}
