import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Invitation, Member, Organization, type InvitationDoc, type MemberDoc } from '../db/models';
import { scrub, type Logger } from '../logger';
import { classifySmtpError } from '../mail/classify';
import type { Mailer } from '../mail/mailer';
import { acceptLink, invitationMessageId, invitationText } from './message';

/**
 * Sends one member's invitation, at most once whatever retries, crashes or repeated imports
 * happen. A claim in Redis (SET NX) is taken before the SMTP conversation starts and turned
 * into the outcome right after it; the final outcome is then inserted into the insert-only
 * `invitations` ledger, whose `_id` is the member. A retry that finds:
 *   - a ledger entry: does nothing;
 *   - a claim that says sent/failed: copies it to the ledger (the crash came after SMTP);
 *   - a claim still "sending" from a dead attempt: cannot know whether the server took the
 *     message, so records `failed` / `delivery_unknown` instead of risking a second e-mail.
 * Only failures that certainly happened before the server took the message are retried.
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
  | { outcome: 'skipped'; reason: string };

/** Thrown for a failure that is safe to retry: the message was certainly not delivered. */
export class InviteRetryError extends Error {
  override name = 'InviteRetryError';
}

const CLAIM_TTL_S = 180 * 24 * 3600;
const claimKey = (deps: InviteDeps, memberId: string) => `${deps.keyPrefix}:invite-claim:${memberId}`;
const DEL_IF = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

interface Claim {
  state: 'sending' | 'sent' | 'failed';
  at: number;
  tokenHash: string | null;
  messageId?: string;
  reason?: string;
}

async function record(memberId: MemberDoc['_id'], orgId: MemberDoc['orgId'], c: Claim): Promise<void> {
  try {
    await Invitation.create({
      _id: memberId,
      orgId,
      outcome: c.state === 'sent' ? 'sent' : 'failed',
      reason: c.reason ?? null,
      messageId: c.messageId ?? null,
      tokenHash: c.tokenHash,
      at: new Date(c.at),
    });
  } catch (err) {
    // Already recorded by an earlier attempt: the ledger keeps its first word.
    if ((err as { code?: number }).code !== 11000) throw err;
  }
}

function fromClaim(c: Claim): InviteOutcome {
  return c.state === 'sent' ? { outcome: 'sent', messageId: c.messageId ?? '' } : { outcome: 'failed', reason: c.reason ?? 'failed' };
}

export async function deliverInvitation(deps: InviteDeps, memberId: string, opts: { lastAttempt: boolean }): Promise<InviteOutcome> {
  const done = await Invitation.findById(memberId).lean<InvitationDoc>();
  if (done) return done.outcome === 'sent' ? { outcome: 'sent', messageId: done.messageId ?? '' } : { outcome: 'failed', reason: done.reason ?? 'failed' };
  const member = await Member.findById(memberId, { orgId: 1, fullName: 1, email: 1, invitation: 1 }).lean<MemberDoc>();
  if (!member) return { outcome: 'skipped', reason: 'member_not_found' };
  if (member.invitation?.state !== 'queued' || !member.email) return { outcome: 'skipped', reason: 'no_invitation_requested' };

  const key = claimKey(deps, memberId);
  const token = randomBytes(24).toString('base64url');
  const tokenHash = createHash('sha256').update(token).digest('hex');
  const mine: Claim = { state: 'sending', at: Date.now(), tokenHash };
  const mineText = JSON.stringify(mine);
  if ((await deps.redis.set(key, mineText, 'EX', CLAIM_TTL_S, 'NX')) !== 'OK') {
    const existing = JSON.parse((await deps.redis.get(key)) ?? 'null') as Claim | null;
    if (!existing) throw new InviteRetryError('The invitation claim vanished; trying again');
    if (existing.state !== 'sending') {
      await record(member._id, member.orgId, existing);
      return fromClaim(existing);
    }
    if (Date.now() - existing.at < deps.staleClaimMs) throw new InviteRetryError('Another attempt is sending this invitation');
    const unknown: Claim = { ...existing, state: 'failed', at: Date.now(), reason: 'delivery_unknown: an earlier attempt stopped while talking to the SMTP server' };
    await deps.redis.set(key, JSON.stringify(unknown), 'EX', CLAIM_TTL_S);
    await record(member._id, member.orgId, unknown);
    return fromClaim(unknown);
  }

  const org = await Organization.findById(member.orgId, { name: 1 }).lean<{ name: string }>();
  const { subject, text } = invitationText(member.fullName, org?.name ?? 'Your organisation', acceptLink(deps.acceptUrl, token));
  const messageId = invitationMessageId(memberId, deps.from);
  let final: Claim;
  try {
    await deps.mailer.send({ to: member.email, subject, text, messageId });
    final = { state: 'sent', at: Date.now(), tokenHash, messageId };
  } catch (err) {
    const c = classifySmtpError(err);
    if (c.kind === 'retry' && !opts.lastAttempt) {
      // Certainly not delivered: free the claim for the next attempt.
      await deps.redis.eval(DEL_IF, 1, key, mineText);
      throw new InviteRetryError(c.reason);
    }
    final = { state: 'failed', at: Date.now(), tokenHash: null, reason: c.reason };
    deps.logger.warn({ memberId, kind: c.kind, reason: scrub(c.reason) }, 'Invitation not delivered');
  }
  await deps.redis.set(key, JSON.stringify(final), 'EX', CLAIM_TTL_S);
  await record(member._id, member.orgId, final);
  return fromClaim(final);
}

