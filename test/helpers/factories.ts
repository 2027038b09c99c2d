/** Small factories for QBO rows as Intuit sends them; every field can be overridden. */
import type { RawEmployee } from '../../sandbox/server';

/** An Employee row: e-mail only when given (Intuit leaves empty attributes out). */
export function employee(Id: string, GivenName: string, FamilyName: string, email?: string, Active = true, over: Partial<RawEmployee> = {}): RawEmployee {
  return {
    Id,
    SyncToken: '0',
    GivenName,
    FamilyName,
    DisplayName: `${GivenName} ${FamilyName}`,
    Active,
    ...(email ? { PrimaryEmailAddr: { Address: email } } : {}),
    ...over,
  } as RawEmployee;
}
