/**
 * Error bodies exactly as Intuit sends them (shared/fixtures/qbo/fault-*), and the queue of
 * faults a test injects.
 */
import { formatBodyTime } from './time';

export type FaultKind =
  | 'throttle-json'
  | 'throttle-xml'
  | 'throttle-xml-403'
  | 'unauthorized'
  | 'server-error'
  | 'slow'
  | 'silent'
  | 'malformed'
  | 'fault-200'
  // The request is carried out in full (a write lands), then the connection is dropped with no
  // answer: the client cannot tell whether its write happened, which is what it must survive.
  | 'commit-then-drop';

/**
 * 'timeactivity' is a TimeActivity create (POST), 'batch' a batch POST; reads by id of any
 * entity are 'read'. 'any' hits every API endpoint and the token endpoint.
 */
export type FaultEndpoint = 'query' | 'cdc' | 'read' | 'token' | 'timeactivity' | 'batch' | 'any';

export interface FaultSpec {
  kind: FaultKind;
  times?: number;
  endpoint?: FaultEndpoint;
  delayMs?: number;
  retryAfterSec?: number;
  /** Only requests for this company (default: every company). */
  realmId?: string;
}

export type RequestEndpoint =
  | 'query'
  | 'count'
  | 'cdc'
  | 'read'
  | 'timeactivity'
  | 'batch'
  | 'token'
  | 'revoke'
  | 'authorize'
  | 'other';

const ANY: readonly RequestEndpoint[] = ['query', 'count', 'cdc', 'read', 'timeactivity', 'batch', 'token'];

interface PendingFault {
  kind: FaultKind;
  remaining: number;
  endpoint: FaultEndpoint;
  delayMs: number;
  retryAfterSec: number | undefined;
  realmId: string | undefined;
}

/** Does a fault aimed at `target` hit a request to `endpoint`? 'query' covers COUNT queries too. */
function hits(target: FaultEndpoint, endpoint: RequestEndpoint): boolean {
  if (target === 'any') return ANY.includes(endpoint);
  if (target === 'query') return endpoint === 'query' || endpoint === 'count';
  return target === endpoint;
}

/** One fault, as it is applied to one request. */
export type InjectedFault = Omit<PendingFault, 'remaining'>;

export class FaultQueue {
  private pending: PendingFault[] = [];

  add(f: FaultSpec): void {
    this.pending.push({
      kind: f.kind,
      remaining: Math.max(1, f.times ?? 1),
      endpoint: f.endpoint ?? 'any',
      delayMs: f.delayMs ?? 1000,
      retryAfterSec: f.retryAfterSec,
      realmId: f.realmId,
    });
  }

  clear(): void {
    this.pending = [];
  }

  /** The first injected fault that matches, spending one of its `times`. */
  take(endpoint: RequestEndpoint, realmId: string | null = null): InjectedFault | null {
    const f = this.pending.find((p) => p.remaining > 0 && hits(p.endpoint, endpoint) && (p.realmId === undefined || p.realmId === realmId));
    if (!f) return null;
    f.remaining--;
    if (f.remaining === 0) this.pending = this.pending.filter((p) => p !== f);
    return { kind: f.kind, endpoint: f.endpoint, delayMs: f.delayMs, retryAfterSec: f.retryAfterSec, realmId: f.realmId };
  }
}

export interface FaultError {
  Message: string;
  Detail: string;
  code: string;
  element?: string;
}

export function faultBody(type: string, error: FaultError, nowMs: number): Record<string, unknown> {
  return { Fault: { Error: [error], type }, time: formatBodyTime(nowMs) };
}

/** The 401 body: lower-case keys, `time` in epoch milliseconds (fixtures/qbo/fault-401-expired.json). */
export function unauthorizedBody(detail: string, nowMs: number): Record<string, unknown> {
  return {
    warnings: null,
    intuitObject: null,
    fault: {
      error: [
        {
          message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401',
          detail,
          code: '3200',
          element: null,
        },
      ],
      type: 'AUTHENTICATION',
    },
    report: null,
    queryResponse: null,
    batchItemResponse: [],
    attachableResponse: [],
    syncErrorResponse: null,
    requestId: null,
    time: nowMs,
    status: null,
    cdcresponse: [],
  };
}

export function throttleJsonBody(nowMs: number): Record<string, unknown> {
  return faultBody(
    'SERVICE',
    {
      Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429',
      Detail: 'The request limit was reached.  Try again later',
      code: '3001',
    },
    nowMs,
  );
}

/** Byte for byte the shape of fixtures/qbo/fault-429-throttle.xml (its message says 403 even on a 429). */
export function throttleXmlBody(nowMs: number): string {
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    `<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="${formatBodyTime(nowMs)}">` +
    '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=403</Message>' +
    '<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>\n'
  );
}

export function serverErrorBody(nowMs: number): Record<string, unknown> {
  return faultBody(
    'SystemFault',
    {
      Message: 'An application error has occurred while processing your request',
      Detail:
        'System Failure Error: An unexpected error occurred while accessing or saving your data. Please wait a few minutes and try again. If the problem persists, contact customer support.',
      code: '10000',
    },
    nowMs,
  );
}

/** A ValidationFault carried by an HTTP 200, as Intuit sometimes answers. */
export function fault200Body(nowMs: number): Record<string, unknown> {
  return faultBody(
    'ValidationFault',
    {
      Message: 'A business validation error has occurred while processing your request',
      Detail: 'Business Validation Error: Unexpected Internal Error. (-30035)',
      code: '6000',
      element: '',
    },
    nowMs,
  );
}

export function forbiddenBody(nowMs: number): Record<string, unknown> {
  return faultBody(
    'SERVICE',
    {
      Message: 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403',
      Detail: '',
      code: '3100',
    },
    nowMs,
  );
}

/** fixtures/qbo/fault-inactive-610.json: an unknown id on read, an inactive reference on write. */
export function objectNotFoundError(): FaultError {
  return {
    Message: 'Object Not Found',
    Detail:
      "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
    code: '610',
    element: '',
  };
}

export function notFoundBody(nowMs: number): Record<string, unknown> {
  return faultBody('ValidationFault', objectNotFoundError(), nowMs);
}

export function validationFaultBody(error: FaultError, nowMs: number): Record<string, unknown> {
  return faultBody('ValidationFault', error, nowMs);
}

// Validation errors of Intuit's catalogue (developer.intuit.com error codes); Message is the
// catalogue's title, Detail its explanation with the offending value.

export function requiredParamError(name: string): FaultError {
  return {
    Message: 'Required param missing, need to supply the required value for the API',
    Detail: `Required parameter ${name} is missing in the request`,
    code: '2020',
    element: name,
  };
}

export function invalidPropertyError(property: string, why: string): FaultError {
  return {
    Message: 'Request has invalid or unsupported property',
    Detail: `Property Name:${property} specified is unsupported or invalid: ${why}`,
    code: '2010',
    element: property,
  };
}

export function stringLengthError(element: string, max: number, supplied: number): FaultError {
  return {
    Message: 'String length is either shorter or longer than supported by specification',
    Detail: `String length specified does not match the supported length. Min:0 Max:${max} supported. Supplied length:${supplied}`,
    code: '2050',
    element,
  };
}

export function invalidDateFormatError(element: string, supplied: string): FaultError {
  return { Message: 'Invalid Date Format', Detail: `The date format isn't valid. Supplied value: ${supplied}`, code: '2060', element };
}

export function invalidDateError(element: string, supplied: string): FaultError {
  return { Message: 'Invalid Date', Detail: `The date value must be a valid value. Supplied value: ${supplied}`, code: '2070', element };
}

export function invalidNumberFormatError(element: string, supplied: string): FaultError {
  return { Message: 'Invalid Number Format', Detail: `The number format supplied isn't valid. Supplied value: ${supplied}`, code: '2080', element };
}

export function invalidRequestIdError(requestId: string, max: number): FaultError {
  return {
    Message: 'Invalid Request Id Format',
    Detail: `The requestid may have at most ${max} characters; supplied length: ${requestId.length}`,
    code: '2130',
    element: 'requestid',
  };
}

/** Names (employees, vendors, customers) are "Names element" ids in Intuit's wording. */
export function invalidReferenceError(element: string, id: string): FaultError {
  return { Message: 'Invalid Reference Id', Detail: `Invalid Reference Id : Names element id ${id} not found`, code: '2500', element };
}

export function batchSizeError(max: number, supplied: number): FaultError {
  return {
    Message: 'Batch size exceeds allowed limit',
    Detail: `The batch size for the batch request or BatchItemRequest is too big. The batch limit size is ${max}. Supplied: ${supplied}`,
    code: '1040',
    element: 'BatchItemRequest',
  };
}

/** Something Intuit serves but the sandbox does not (code 500, as Intuit's "Unsupported Operation"). */
export function unsupportedError(detail: string): FaultError {
  return { Message: 'Unsupported Operation', Detail: detail, code: '500', element: '' };
}

export function queryParseFaultBody(detail: string, nowMs: number): Record<string, unknown> {
  return faultBody('ValidationFault', { Message: 'Error parsing query', Detail: `QueryParserError: ${detail}`, code: '4000' }, nowMs);
}

export function queryInvalidFaultBody(detail: string, nowMs: number): Record<string, unknown> {
  return faultBody('ValidationFault', { Message: 'Invalid query', Detail: detail, code: '4001' }, nowMs);
}

export function invalidPropertyFaultBody(property: string, why: string, nowMs: number): Record<string, unknown> {
  return faultBody(
    'ValidationFault',
    {
      Message: 'Request has invalid or unsupported property',
      Detail: `Property Name:${property} specified is unsupported or invalid: ${why}`,
      code: '2010',
    },
    nowMs,
  );
}
