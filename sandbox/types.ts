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

/** A reference to another object, as Intuit writes it: `{ "value": "55", "name": "Emily Platt" }`. */
export interface Ref {
  value: string;
  name?: string;
}

/** A TimeActivity's own fields: what a valid create becomes before it gets an Id. */
export interface TimeActivityFields {
  TxnDate: string;
  NameOf: 'Employee';
  EmployeeRef: Ref;
  CustomerRef?: Ref;
  ItemRef: Ref;
  BillableStatus: 'Billable' | 'NotBillable' | 'HasBeenBilled';
  Taxable: boolean;
  HourlyRate: number;
  Hours?: number;
  Minutes?: number;
  BreakHours?: number;
  BreakMinutes?: number;
  StartTime?: string;
  EndTime?: string;
  Description?: string;
  // Optional references (ClassRef, DepartmentRef, …) and CostRate are echoed as sent.
  [key: string]: unknown;
}

/** A TimeActivity as the sandbox serves it (shared/fixtures/qbo/timeactivity-create-response.json). */
export interface RawTimeActivity extends TimeActivityFields {
  domain: 'QBO';
  sparse: false;
  Id: string;
  SyncToken: string;
  MetaData: { CreateTime: string; LastUpdatedTime: string };
}
