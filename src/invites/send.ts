import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { insertNew } from '../db/bulk';
import { Invitation, Member, Organization, type InvitationDoc, type MemberDoc } from '../db/models';
import { scrub, type Logger } from '../logger';
import { classifySmtpError } from '../mail/classify';
import type { Mailer } from '../mail/mailer';
import { acceptLink, invitationMessageId, invitationText } from './message';

/**
 * Sends members' invitations, each at most once whatever retries, crashes or repeated imports
 * happen. A claim in Redis (SET NX, never expiring: about 150 bytes per invited member) is
 * taken before the SMTP conversation starts and turned into the outcome right after it; the
 * outcome is then inserted into the insert-only `invitations` ledger (`_id` = the member),
 * which is what the directory shows. An attempt that finds:
 *   - a claim that says sent/failed: copies it to the ledger (the crash came after SMTP);
 *   - a claim still "sending" from a dead attempt: cannot know whether the server took the
 *     message, so records `failed` / `delivery_unknown` instead of risking a second e-mail.
 * Only failures that certainly happened before the server took the message are retried.
 *
 * An import sends its invitations in batches (one read of the members, one insert of the
 * outcomes); a member whose send must be retried gets a job of its own with backoff.
 */

export interface InviteDeps {
  redis: Redis;
  keyPrefix: string;
  mailer: Mailer;
  logger: Logger;
  from: string;
  acceptUrl: string;
  /** After this long, a "sending" claim is taken to belong to a dead attempt. */
  staleClaimMs: number;
}

export type InviteOutcome =
  | { outcome: 'sent'; messageId: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'skipped'; reason: string }
  /** Certainly not delivered, and worth another attempt (SMTP down, a 4xx answer, a busy claim). */
  | { outcome: 'retry'; reason: string };

/** Thrown by the single-member path for a failure that is safe to retry. */
export class InviteRetryError extends Error {
  override name = 'InviteRetryError';
  readonly retryQuietly = true;
}

const claimKey = (deps: InviteDeps, memberId: string) => `${deps.keyPrefix}:invite-claim:${memberId}`;
const DEL_IF = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

interface Claim {
  state: 'sending' | 'sent' | 'failed';
  at: number;
  tokenHash: string | null;
  messageId?: string;
  reason?: string;
}

type InvitedMember = Pick<MemberDoc, '_id' | 'orgId' | 'fullName' | 'email' | 'invitation'>;
const MEMBER_FIELDS = { orgId: 1, fullName: 1, email: 1, invitation: 1 } as const;

// Organisation names for the subject line, kept a minute: an import invites many at once.
const orgNames = new Map<string, { name: string; at: number }>();
async function orgName(orgId: MemberDoc['orgId']): Promise<string> {
  const hit = orgNames.get(String(orgId));
  if (hit && Date.now() - hit.at < 60_000) return hit.name;
  const org = await Organization.findById(orgId, { name: 1 }).lean<{ name: string }>();
  const name = org?.name ?? 'Your organisation';
  if (orgNames.size > 1000) orgNames.clear();
  orgNames.set(String(orgId), { name, at: Date.now() });
  return name;
}

interface LedgerEntry {
  member: InvitedMember;
  claim: Claim;
}

/** Inserts outcomes; one already there (an earlier attempt's) keeps its first word. */
async function record(entries: LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const docs = entries.map(({ member, claim }) => ({
    _id: member._id,
    orgId: member.orgId,
    outcome: claim.state === 'sent' ? 'sent' : 'failed',
    reason: claim.reason ?? null,
    messageId: claim.messageId ?? null,
    tokenHash: claim.tokenHash,
    at: new Date(claim.at),
  }));
  await insertNew(Invitation, docs);
}

function fromClaim(c: Claim): InviteOutcome {
  return c.state === 'sent' ? { outcome: 'sent', messageId: c.messageId ?? '' } : { outcome: 'failed', reason: c.reason ?? 'failed' };
}

/**
 * One member: claim, send, settle the claim. Returns the outcome and, when final, the ledger
 * entry to insert (the caller inserts, alone or in bulk).
 */
async function sendOne(deps: InviteDeps, member: InvitedMember, lastAttempt: boolean): Promise<{ outcome: InviteOutcome; entry: LedgerEntry | null }> {
  if (member.invitation?.state !== 'queued' || !member.email) return { outcome: { outcome: 'skipped', reason: 'no_invitation_requested' }, entry: null };
  const memberId = String(member._id);
  const key = claimKey(deps, memberId);
  const token = randomBytes(24).toString('base64url');
  const tokenHash = createHash('sha256').update(token).digest('hex');
  const mineText = JSON.stringify({ state: 'sending', at: Date.now(), tokenHash } satisfies Claim);
  if ((await deps.redis.set(key, mineText, 'NX')) !== 'OK') {
    const existing = JSON.parse((await deps.redis.get(key)) ?? 'null') as Claim | null;
    if (!existing) return { outcome: { outcome: 'retry', reason: 'the invitation claim vanished' }, entry: null };
    if (existing.state !== 'sending') return { outcome: fromClaim(existing), entry: { member, claim: existing } };
    if (Date.now() - existing.at < deps.staleClaimMs) return { outcome: { outcome: 'retry', reason: 'another attempt is sending this invitation' }, entry: null };
    const unknown: Claim = { ...existing, state: 'failed', at: Date.now(), reason: 'delivery_unknown: an earlier attempt stopped while talking to the SMTP server' };
    await deps.redis.set(key, JSON.stringify(unknown));
    return { outcome: fromClaim(unknown), entry: { member, claim: unknown } };
  }

  const { subject, text } = invitationText(member.fullName, await orgName(member.orgId), acceptLink(deps.acceptUrl, token));
  let final: Claim;
  try {
    const messageId = invitationMessageId(memberId, deps.from);
    await deps.mailer.send({ to: member.email, subject, text, messageId });
    final = { state: 'sent', at: Date.now(), tokenHash, messageId };
  } catch (err) {
    const c = classifySmtpError(err);
    if (c.kind === 'retry' && !lastAttempt) {
      // Certainly not delivered: free the claim for the next attempt.
      await deps.redis.eval(DEL_IF, 1, key, mineText);
      return { outcome: { outcome: 'retry', reason: c.reason }, entry: null };
    }
    final = { state: 'failed', at: Date.now(), tokenHash: null, reason: c.reason };
    deps.logger.warn({ memberId, kind: c.kind, reason: scrub(c.reason) }, 'Invitation not delivered');
  }
  await deps.redis.set(key, JSON.stringify(final));
  return { outcome: fromClaim(final), entry: { member, claim: final } };
}

/** The single-member job (retries): throws InviteRetryError when another attempt should follow. */
/**
 * What the ledger already says for these members. Asked before any claim: the claims live in
 * Redis, and a Redis that lost its data must not let a recorded invitation go out again.
 */
async function recordedOutcomes(memberIds: readonly string[]): Promise<Map<string, InviteOutcome>> {
  const done = await Invitation.find({ _id: { $in: memberIds } }).lean<InvitationDoc[]>();
  return new Map(
    done.map((d) => [String(d._id), d.outcome === 'sent' ? { outcome: 'sent', messageId: d.messageId ?? '' } : { outcome: 'failed', reason: d.reason ?? 'failed' }]),
  );
}

export async function deliverInvitation(deps: InviteDeps, memberId: string, opts: { lastAttempt: boolean }): Promise<InviteOutcome> {
  const recorded = (await recordedOutcomes([memberId])).get(memberId);
  if (recorded) return recorded;
  const member = await Member.findById(memberId, MEMBER_FIELDS).lean<InvitedMember>();
  if (!member) return { outcome: 'skipped', reason: 'member_not_found' };
  const { outcome, entry } = await sendOne(deps, member, opts.lastAttempt);
  if (outcome.outcome === 'retry') throw new InviteRetryError(outcome.reason);
  if (entry) await record([entry]);
  return outcome;
}

export interface BatchResult {
  sent: number;
  failed: number;
  skipped: number;
  /** Members whose send must be tried again, each in a job of its own. */
  retry: string[];
}

/** A batch of an import's invitations: one read, `concurrency` sends in flight, one insert. */
export async function deliverBatch(deps: InviteDeps, memberIds: readonly string[], concurrency: number): Promise<BatchResult> {
  const recorded = await recordedOutcomes(memberIds);
  const found = await Member.find({ _id: { $in: memberIds } }, MEMBER_FIELDS).lean<InvitedMember[]>();
  const result: BatchResult = { sent: 0, failed: 0, skipped: memberIds.length - found.length, retry: [] };
  for (const o of recorded.values()) if (o.outcome === 'sent' || o.outcome === 'failed') result[o.outcome]++;
  const members = found.filter((m) => !recorded.has(String(m._id)));
  const entries: LedgerEntry[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < members.length; i = next++) {
      const member = members[i] as InvitedMember;
      const { outcome, entry } = await sendOne(deps, member, false);
      if (entry) entries.push(entry);
      if (outcome.outcome === 'retry') result.retry.push(String(member._id));
      else result[outcome.outcome]++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, members.length)) }, lane));
  await record(entries);
  return result;
}
