// Canonical forms used to compare QBO employees with directory members. Pure functions only:
// the matcher and its indexes must agree on exactly one definition of "the same name".

export interface EmployeeIdentity {
  givenName?: string | null;
  middleName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  email?: string | null;
}

// JavaScript's \s already covers tabs, NBSP, the Unicode space separators, line/paragraph
// separators and the BOM.
const SPACES = /\s+/g;
// Zero-width space and word joiner ride along invisibly in copy-pasted names; they are dropped.
// ZWJ/ZWNJ are kept: some scripts (e.g. Persian) need them to spell a name.
const INVISIBLE = /[\u200B\u2060]/g;
// Printable ASCII needs no Unicode normalisation and has no diacritics: the common case, kept fast.
const PLAIN_ASCII = /^[\x20-\x7E]*$/;
const COMBINING_MARKS = /\p{M}+/gu;

// Letters that carry a "diacritic" but have no Unicode decomposition, so NFD alone keeps them.
// Used only for near-miss hints, never to link.
const LOOSE_LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss', ø: 'o', ł: 'l', đ: 'd', ð: 'd', ħ: 'h', ı: 'i', æ: 'ae', œ: 'oe', þ: 'th', ŀ: 'l',
};
const LOOSE_LETTER_RE = new RegExp(`[${Object.keys(LOOSE_LETTERS).join('')}]`, 'gu');

function nonBlank(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const trimmed = raw.replace(INVISIBLE, '').replace(SPACES, ' ').trim();
  return trimmed === '' ? null : trimmed;
}

/** Trimmed, lower-cased address; null when blank or not an address at all (no '@'). */
export function normalizeEmail(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const email = raw.trim().toLowerCase();
  if (email === '' || !email.includes('@')) return null;
  return email;
}

/**
 * NFC, lower case, every run of white space (tabs, NBSP, …) collapsed to one space, trimmed.
 * 'ß' is deliberately not folded to 'ss' here: "Strauß" and "Strauss" are reported as a
 * near miss (see looseName) instead of being linked silently.
 */
export function normalizeName(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  let name: string;
  if (PLAIN_ASCII.test(raw)) {
    name = raw.toLowerCase();
  } else {
    // Lower-casing can produce sequences that are no longer NFC (e.g. 'İ'), so normalise twice.
    name = raw.normalize('NFC').toLowerCase().normalize('NFC');
  }
  name = name.replace(INVISIBLE, '').replace(SPACES, ' ').trim();
  return name === '' ? null : name;
}

/** "GivenName FamilyName" when either is present, else DisplayName. MiddleName never counts. */
export function employeeFullName(e: EmployeeIdentity): string | null {
  const parts = [nonBlank(e.givenName), nonBlank(e.familyName)].filter((p): p is string => p !== null);
  if (parts.length > 0) return parts.join(' ');
  return nonBlank(e.displayName);
}

/**
 * A normalised name with diacritics stripped (NFD minus combining marks, plus the few letters
 * NFD cannot split). Two names equal here but not under normalizeName differ only by accents.
 */
export function looseName(normalized: string): string {
  if (PLAIN_ASCII.test(normalized)) return normalized;
  return normalized
    .normalize('NFD')
    .replace(COMBINING_MARKS, '')
    .replace(LOOSE_LETTER_RE, (ch) => LOOSE_LETTERS[ch] ?? ch)
    .normalize('NFC');
}

/** Words of a loose name; a comma separates words too ("Platt, Emily"). */
export function nameTokens(loose: string): string[] {
  return loose.split(/[\s,]+/u).filter((t) => t !== '');
}
