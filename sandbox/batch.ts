/**
 * The batch endpoint's envelope: `{"BatchItemRequest":[{"bId","operation","TimeActivity"}, …]}`.
 * Checks that fail the whole request (size, bIds) are separate from those that fail one item
 * (what the item asks for), because Intuit answers the first with a 400 and the second inside
 * a 200, next to the items that worked.
 */
import { batchSizeError, invalidPropertyError, requiredParamError, stringLengthError, unsupportedError } from './faults';
import type { FaultError } from './faults';

export const BATCH_MAX_ITEMS = 30;
/** Intuit: with a requestid, each bId may have at most 10 characters (requestid + bId key the item). */
export const BID_MAX_WITH_REQUEST_ID = 10;

export interface BatchItem {
  bId: string;
  raw: Record<string, unknown>;
}

export type CheckedBatch = { ok: true; items: BatchItem[] } | { ok: false; fault: FaultError };

/** The only keys of a BatchItemRequest the sandbox understands. */
const ITEM_KEYS = new Set(['bId', 'operation', 'optionsData', 'TimeActivity']);
/** Keys Intuit serves in a batch item that the sandbox does not: answered per item, not refused. */
const OTHER_OPERATIONS = /^(Query|[A-Z][A-Za-z]+)$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkBatch(body: unknown, withRequestId: boolean): CheckedBatch {
  const list = isObject(body) ? body.BatchItemRequest : undefined;
  if (!Array.isArray(list) || list.length === 0) return { ok: false, fault: requiredParamError('BatchItemRequest') };
  if (list.length > BATCH_MAX_ITEMS) return { ok: false, fault: batchSizeError(BATCH_MAX_ITEMS, list.length) };
  const items: BatchItem[] = [];
  const seen = new Set<string>();
  for (const raw of list) {
    const bId = isObject(raw) ? raw.bId : undefined;
    if (!isObject(raw) || typeof bId !== 'string' || bId === '') return { ok: false, fault: requiredParamError('bId') };
    // Responses are matched to requests by bId alone: two equal ones could not be told apart.
    if (seen.has(bId)) return { ok: false, fault: invalidPropertyError('bId', `"${bId}" is used by more than one item`) };
    if (withRequestId && bId.length > BID_MAX_WITH_REQUEST_ID) {
      return { ok: false, fault: stringLengthError('bId', BID_MAX_WITH_REQUEST_ID, bId.length) };
    }
    seen.add(bId);
    items.push({ bId, raw });
  }
  return { ok: true, items };
}

/**
 * The TimeActivity an item creates, or the fault that item answers with. A per-item requestid
 * is refused on purpose: Intuit has none, and honouring one here would let a client believe in
 * an exactly-once guarantee that production does not give.
 */
export function itemTimeActivity(item: BatchItem): { ok: true; body: unknown } | { ok: false; fault: FaultError } {
  for (const k of Object.keys(item.raw)) {
    if (ITEM_KEYS.has(k)) continue;
    if (/^request_?id$/i.test(k)) {
      return { ok: false, fault: invalidPropertyError(k, 'batch items take no requestid; give the batch request one (?requestid=)') };
    }
    if (OTHER_OPERATIONS.test(k)) {
      return { ok: false, fault: unsupportedError(`Batch items with ${k} are not supported by the QBO sandbox: TimeActivity create only`) };
    }
    return { ok: false, fault: invalidPropertyError(k, 'not a BatchItemRequest property') };
  }
  if (item.raw.operation !== 'create') {
    return { ok: false, fault: unsupportedError(`Operation ${String(item.raw.operation)} is not supported by the QBO sandbox: create only`) };
  }
  if (item.raw.TimeActivity === undefined) return { ok: false, fault: requiredParamError('TimeActivity') };
  return { ok: true, body: item.raw.TimeActivity };
}
