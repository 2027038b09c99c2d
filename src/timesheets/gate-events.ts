import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import type { LinkChanged } from '../../queues/member-events';
import { EntryExport, EntryHold, QboConnection, QboEmployee, type BlockReason, type EntryHoldDoc, type QboConnectionDoc, type QboEmployeeDoc } from '../db/models';
import { connectionGate, gateKey, loadGates } from './gate';
import { requestRelease } from './request';

/**
 * The export gate follows the links (consumer of `member.link_changed` and
 * `qbo.employee_removed`). Each event updates the member's mirror in Redis at once, newest
 * link version first, so an export that is sending notices a cut; when a link opens and an
 * export had held entries back for that member, the gate is decided again from the stored
 * links and the held entries are exported, once per link change.
 */
export interface GateEventDeps {
  queues: Queues;
  redis: Redis;
  keyPrefix: string;
}

// Writes the mirror unless it already holds a newer version of the same employee's link.
const MIRROR = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local c = cjson.decode(cur)
  if c.qboId == ARGV[1] and tonumber(c.v) >= tonumber(ARGV[2]) then return 0 end
end
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], cjson.encode({qboId = ARGV[1], v = tonumber(ARGV[2]), reason = ARGV[3]})) end
return 1
`;

async function mirror(deps: GateEventDeps, orgId: string, memberId: string, qboId: string, version: number, reason: BlockReason | null): Promise<void> {
  await deps.redis.eval(MIRROR, 1, gateKey(deps.keyPrefix, orgId, memberId), qboId, version, reason ?? '');
}

const reasonOf = (status: LinkChanged['to']['status']): BlockReason | null =>
  status === 'connected' ? null : status === 'disconnected' ? 'member_disconnected' : 'member_not_linked';

/**
 * Exports what exports held back for these members (every member of the org when null) whose
 * gate is open now (stored state): one read each of the holds, the connection, the gates and
 * the ledger, then one release per member (keyed by the member and `changeKey`).
 */
async function release(deps: GateEventDeps, orgId: string, memberIds: readonly string[] | null, changeKey: string): Promise<string[]> {
  const org = new Types.ObjectId(orgId);
  const filter = memberIds ? { orgId: org, memberId: { $in: memberIds.map((m) => new Types.ObjectId(m)) } } : { orgId: org };
  const held = await EntryHold.find(filter, { _id: 1, memberId: 1 }).lean<Pick<EntryHoldDoc, '_id' | 'memberId'>[]>();
  if (held.length === 0) return [];
  const conn = await QboConnection.findOne({ orgId: org }, { status: 1 }).lean<Pick<QboConnectionDoc, 'status'>>();
  if (connectionGate(conn)) return [];
  const byMember = new Map<string, Types.ObjectId[]>();
  for (const h of held) {
    const ids = byMember.get(String(h.memberId)) ?? [];
    ids.push(h._id);
    byMember.set(String(h.memberId), ids);
  }
  const gates = await loadGates(org, [...byMember.keys()]);
  const sent = new Set((await EntryExport.find({ _id: { $in: held.map((h) => h._id) } }, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>()).map((d) => String(d._id)));
  const released: string[] = [];
  for (const [memberId, ids] of byMember) {
    const waiting = ids.filter((id) => !sent.has(String(id)));
    if (gates.get(memberId)?.ok && waiting.length > 0) released.push(await requestRelease(deps.queues, org, waiting, `${orgId}:${memberId}:${changeKey}`));
  }
  return released;
}

/** Thrown while the link an event announces is not stored yet: the event is retried shortly. */
export class LinkNotStoredYetError extends Error {
  override name = 'LinkNotStoredYetError';
  readonly retryQuietly = true;
}

export async function followLink(deps: GateEventDeps, e: LinkChanged): Promise<{ released: string | null }> {
  // A member the link moved away from is no longer linked through this employee.
  if (e.from.memberId && e.from.memberId !== e.to.memberId) await mirror(deps, e.orgId, e.from.memberId, e.qboId, e.version, 'member_not_linked');
  if (!e.to.memberId) return { released: null };
  const reason = reasonOf(e.to.status);
  await mirror(deps, e.orgId, e.to.memberId, e.qboId, e.version, reason);
  if (reason !== null) return { released: null };
  // Most links open with nothing held back: one cheap look before anything else.
  if (!(await EntryHold.exists({ orgId: new Types.ObjectId(e.orgId), memberId: new Types.ObjectId(e.to.memberId) }))) return { released: null };
  // Events go out before the write they announce (src/sync/events.ts): decide on stored state
  // only once it has caught up with this event.
  const stored = await QboEmployee.findById(e.employeeId, { 'link.version': 1 }).lean<Pick<QboEmployeeDoc, 'link'>>();
  if (!stored) return { released: null };
  if (stored.link.version < e.version) throw new LinkNotStoredYetError(`Link version ${e.version} of employee ${e.qboId} is not stored yet`);
  return { released: (await release(deps, e.orgId, [e.to.memberId], `${e.qboId}:${e.version}`))[0] ?? null };
}

/**
 * After a sync that changed employees: members whose held entries may go out now without any
 * link event, above all those held because their QBO employee was inactive and is active
 * again. Each member's gate is decided again from stored state (release), once per sync run.
 */
export function releaseAfterSync(deps: GateEventDeps, orgId: string, syncRunId: string): Promise<string[]> {
  return release(deps, orgId, null, `sync:${syncRunId}`);
}

export async function followRemoval(deps: GateEventDeps, e: { orgId: string; qboId: string; memberId: string | null }): Promise<void> {
  // Newer than any link version: a deleted employee never opens the gate again.
  if (e.memberId) await mirror(deps, e.orgId, e.memberId, e.qboId, Number.MAX_SAFE_INTEGER, 'qbo_employee_deleted');
}
