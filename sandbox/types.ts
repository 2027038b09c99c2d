/**
 * Shapes the QBO sandbox stores and serves. They mirror Intuit's Employee JSON
 * (see shared/fixtures/qbo/): optional attributes are absent, never empty strings.
 */

export interface RawEmployee {
  Id: string;
  SyncToken: string;
  domain?: string;
  sparse?: boolean;
  GivenName?: string;
  MiddleName?: string;
  FamilyName?: string;
  DisplayName?: string;
  PrintOnCheckName?: string;
  PrimaryEmailAddr?: { Address?: string };
  PrimaryPhone?: { FreeFormNumber?: string };
  Active?: boolean;
  BillableTime?: boolean;
  EmployeeNumber?: string;
  HiredDate?: string;
  ReleasedDate?: string;
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
  // Intuit sends more attributes (PrimaryAddr, SSN, …); the sandbox keeps whatever it is given.
  [key: string]: unknown;
}

/** What CDC answers for an object removed from the company. */
export interface DeletedStub {
  domain: 'QBO';
  status: 'Deleted';
  Id: string;
  MetaData: { LastUpdatedTime: string };
}

/**
 * A company to load: our own file format (`{ employees }`, other keys such as `members` or
 * `realmId` are ignored) or an Intuit query body as it comes off the wire.
 */
export type CompanyInput =
  | { employees: readonly Partial<RawEmployee>[] }
  | { QueryResponse: { Employee?: readonly Partial<RawEmployee>[] } };
